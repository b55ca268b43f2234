import numpy as np
import pytest
from scipy import stats

from semsum.errors import SemsumError
from semsum.evaluation.metrics import f_score, pairwise_rank_correlations, rank_correlations


@pytest.mark.parametrize(
    ("x", "y", "tau", "rho"),
    [
        ([1, 2, 3, 4], [1, 2, 3, 4], 1.0, 1.0),
        ([1, 2, 3], [3, 2, 1], -1.0, -1.0),
        # ties in both: one concordant, one discordant pair -> 0; mid-ranks uncorrelated -> 0
        ([1, 1, 2, 2], [1, 2, 1, 2], 0.0, 0.0),
        # P=4, Q=0, one tie in x and one in y: tau_b = 4 / sqrt(5 * 5); rho = 3.75 / 4.5 on mid-ranks
        ([1, 2, 2, 3], [1, 2, 3, 3], 0.8, 3.75 / 4.5),
        ([0.5, 0.1, 0.9], [2, 1, 5], 1.0, 1.0),
    ],
)
def test_hand_computed(x, y, tau, rho):
    t, r = rank_correlations(np.array(x, float), np.array([y], float))
    assert t[0] == pytest.approx(tau) and r[0] == pytest.approx(rho)


def test_matches_scipy_with_many_ties_and_continuous_values():
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = int(rng.integers(2, 2000))
        pred = rng.integers(0, int(rng.integers(1, 60)), n) * 0.37  # piecewise-constant like step scores
        refs = np.vstack([rng.integers(1, 6, n), rng.integers(0, 12, n), rng.random(n)])
        t, r = rank_correlations(pred, refs)
        for i, ref in enumerate(refs):
            expect_t, expect_r = stats.kendalltau(pred, ref).statistic, stats.spearmanr(pred, ref).statistic
            np.testing.assert_allclose([t[i], r[i]], [expect_t, expect_r], atol=1e-12, equal_nan=True)


def test_large_continuous_inputs_fall_back_to_scipy():
    rng = np.random.default_rng(0)
    pred, refs = rng.random(6000), rng.random((1, 6000))
    t, r = rank_correlations(pred, refs)
    assert t[0] == pytest.approx(stats.kendalltau(pred, refs[0]).statistic)
    assert r[0] == pytest.approx(stats.spearmanr(pred, refs[0]).statistic)


def test_constant_input_is_nan_like_scipy():
    t, r = rank_correlations(np.ones(5), np.arange(5.0)[None])
    assert np.isnan(t[0]) and np.isnan(r[0])


def test_pairwise_equals_one_by_one():
    rng = np.random.default_rng(1)
    users = rng.integers(1, 6, (6, 500)).astype(float)
    tau, rho = pairwise_rank_correlations(users)
    for a in range(6):
        t, r = rank_correlations(users[a], users)
        np.testing.assert_allclose(tau[a], t, atol=1e-12)
        np.testing.assert_allclose(rho[a], r, atol=1e-12)
    np.testing.assert_allclose(np.diag(tau), 1.0)


def test_rejects_bad_input():
    with pytest.raises(SemsumError, match="3 values, references have 4"):
        rank_correlations(np.zeros(3), np.zeros((1, 4)))
    with pytest.raises(SemsumError, match="NaN"):
        rank_correlations(np.array([0.0, np.nan]), np.zeros((1, 2)))


def test_f_score_hand_computed():
    machine = np.array([1, 1, 0, 0])
    users = np.array([[1, 0, 0, 0], [0, 0, 1, 1]])
    # user 1: overlap 1, precision 1/2, recall 1 -> 2/3; user 2: no overlap -> 0
    assert f_score(machine, users, "max") == pytest.approx(2 / 3)
    assert f_score(machine, users, "avg") == pytest.approx(1 / 3)
    assert f_score(np.zeros(4), users, "max") == 0.0
    with pytest.raises(SemsumError, match="summary has 3 frames"):
        f_score(np.zeros(3), users)
