"""KTS against ruptures' exact kernel change-point DP, on known boundaries, and bounded vs unbounded."""

from __future__ import annotations

import numpy as np
import pytest
import ruptures

from semsum.errors import SemsumError
from semsum.summary.kts import kts


def _piecewise(rng, lengths, dim=32, noise=0.3):
    """Non-negative features (like pool5): one random centre per segment plus noise."""
    labels = np.repeat(np.arange(len(lengths)), lengths)
    centres = np.abs(rng.normal(size=(len(lengths), dim)))
    x = centres[labels] + noise * np.abs(rng.normal(size=(len(labels), dim)))
    return x, np.cumsum(lengths)[:-1]


def _cpd_auto_by_ruptures(x: np.ndarray, vmax: float = 1.0) -> np.ndarray:
    """cpd_auto's model selection over ruptures' optimal segmentations for every number of change points."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    n = len(x)
    algo = ruptures.KernelCPD(kernel="linear", min_size=1, jump=1).fit(x)
    best, best_cost = None, np.inf
    for m in range(n):
        bkps = algo.predict(n_bkps=m) if m else [n]
        penalty = vmax * m / (2 * n) * (np.log(n / m) + 1) if m else 0.0
        cost = algo.cost.sum_of_costs(bkps) / n + penalty
        if cost < best_cost:
            best, best_cost = np.asarray(bkps[:-1], dtype=np.int64), cost
    return best


@pytest.mark.parametrize("seed", range(4))
def test_matches_ruptures_exact_dp_with_cpd_auto_selection(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 15, size=rng.integers(2, 7))
    x, _ = _piecewise(rng, lengths, noise=rng.uniform(0.3, 1.5))
    expected = _cpd_auto_by_ruptures(x)
    assert np.array_equal(kts(x, max_segment=None), expected)
    assert np.array_equal(kts(x), expected)  # the default bound is longer than the sequence


def test_finds_known_boundaries_of_piecewise_constant_sequences():
    rng = np.random.default_rng(7)
    lengths = rng.integers(5, 40, size=12)
    x, cuts = _piecewise(rng, lengths, dim=64, noise=0.2)
    assert np.array_equal(kts(x), cuts)
    one = np.ones((30, 8))
    assert kts(one).size == 0  # a constant sequence is one segment


def test_bounded_equals_unbounded_when_no_segment_exceeds_the_bound():
    rng = np.random.default_rng(3)
    x, _ = _piecewise(rng, rng.integers(4, 50, size=15), dim=48, noise=1.0)
    unbounded = kts(x, max_segment=None)
    assert np.diff(np.concatenate([[0], unbounded, [len(x)]])).max() <= 60
    assert np.array_equal(kts(x, max_segment=60), unbounded)
    # A long static stretch is cut into pieces of at most the bound.
    cps = kts(np.ones((250, 8)) + 0.01 * rng.random((250, 8)), max_segment=100)
    assert np.diff(np.concatenate([[0], cps, [250]])).max() <= 100


def test_max_change_points_limits_the_choice():
    rng = np.random.default_rng(1)
    x, cuts = _piecewise(rng, [10, 10, 10, 10], dim=16, noise=0.1)
    assert np.array_equal(kts(x), cuts)
    assert len(kts(x, max_change_points=1)) == 1


def test_bad_features():
    with pytest.raises(SemsumError, match="expected features"):
        kts(np.zeros((0, 4)))
    with pytest.raises(SemsumError, match="NaN"):
        kts(np.full((5, 4), np.nan))
