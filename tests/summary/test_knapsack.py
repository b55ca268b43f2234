import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from semsum.errors import SemsumError
from semsum.summary.knapsack import knapsack


def _milp_optimum(values, weights, capacity):
    res = milp(
        c=-values,
        constraints=LinearConstraint(weights[None, :].astype(float), 0, capacity),
        integrality=np.ones_like(values),
        bounds=Bounds(0, 1),
    )
    return -res.fun


def test_exact_on_200_random_instances_against_milp():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        weights = rng.integers(1, 120, size=n)
        values = rng.random(n)
        capacity = int(rng.integers(1, weights.sum() + 1))
        chosen = knapsack(values, weights, capacity)
        assert weights[chosen].sum() <= capacity
        assert values[chosen].sum() == pytest.approx(_milp_optimum(values, weights, capacity), abs=1e-9)


def test_hand_cases():
    assert knapsack([60, 100, 120], [10, 20, 30], 50) == [1, 2]
    assert knapsack([1.0, 1.0], [5, 5], 4) == []
    assert knapsack([], [], 10) == []
    assert knapsack([3.0], [2], 0) == []


def test_rejects_bad_items():
    with pytest.raises(SemsumError, match="positive integers"):
        knapsack([1.0], [0], 5)
    with pytest.raises(SemsumError, match="NaN"):
        knapsack([np.nan], [1], 5)
