import numpy as np

from semsum.align.baselines import fit_ridge, mean_target
from semsum.align.mapper import apply_mapper
from semsum.align.metrics import mean_cosine


def test_ridge_recovers_a_linear_map_like_least_squares():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(16, 24))
    x = rng.normal(size=(400, 16))
    y = x @ a + 0.01 * rng.normal(size=(400, 24)) + 5.0
    mapper, alpha = fit_ridge(x, y, alphas=(1e-3, 1e3))
    assert alpha == 1e-3
    x_test = rng.normal(size=(50, 16))
    lstsq, *_ = np.linalg.lstsq(np.c_[x, np.ones(len(x))], y, rcond=None)
    np.testing.assert_allclose(apply_mapper(mapper, x_test), np.c_[x_test, np.ones(50)] @ lstsq, atol=2e-3)


def test_mean_target_repeats_the_training_mean():
    y = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(mean_target(y, 3), [[2.0, 3.0]] * 3)
    assert mean_cosine(mean_target(y, 2), y) > 0.9
