import numpy as np
import pytest
from scipy import stats

from semsum.align.metrics import (
    downstream_rank_correlation,
    frechet_distance,
    mean_cosine,
    rank_correlation,
    ridge_probe,
    top1_retrieval,
)
from semsum.data.h5 import load_dataset
from semsum.data.splits import video_folds
from semsum.testing import make_synthetic_dataset, make_teacher


def test_cosine_and_retrieval_on_known_cases():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(100, 32))
    assert mean_cosine(2 * y, y) == pytest.approx(1.0)
    assert mean_cosine(-y, y) == pytest.approx(-1.0)
    assert top1_retrieval(y + 0.01 * rng.normal(size=y.shape), y, chunk=7) == 1.0
    assert top1_retrieval(y[::-1], y) == 0.0


def test_rank_correlation_matches_scipy():
    a, b = np.array([0.1, 0.4, 0.3, 0.9]), np.array([1.0, 2.0, 4.0, 3.0])
    tau, rho = rank_correlation(a, b)
    assert tau == pytest.approx(stats.kendalltau(a, b).statistic)
    assert rho == pytest.approx(0.4)


def test_downstream_probe_reads_the_signal_where_it_is(tmp_path):
    teacher = make_teacher(in_dim=16, out_dim=32, hidden=16, scale=2.0)
    make_synthetic_dataset(tmp_path / "s.h5", n_videos=10, steps=(40, 60), dim=16, embed=teacher)
    dataset = load_dataset(tmp_path / "s.h5", require=("features", "features_mllm", "gtscore"))
    folds = video_folds(dataset.keys(), 5)
    on_target = downstream_rank_correlation(dataset, "features_mllm", ridge_probe(1.0), folds)
    on_source = downstream_rank_correlation(dataset, "features", ridge_probe(1.0), folds)
    assert on_target["n_videos"] == 10
    assert on_target["rho"] > 0.5
    assert on_target["tau"] > on_source["tau"] + 0.3


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 3))
    shifted = 2.0 * rng.normal(size=(20000, 3)) + np.array([1.0, 0.0, 0.0])
    # |mu|^2 + tr(I + 4I - 2 * 2I) = 1 + 3
    assert frechet_distance(a, shifted) == pytest.approx(4.0, rel=0.05)
    assert frechet_distance(a, rng.permutation(a)) == pytest.approx(0.0, abs=1e-6)
