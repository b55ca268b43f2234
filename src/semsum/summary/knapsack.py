"""Exact 0/1 knapsack by dynamic programming over integer capacities (the field's shot selection)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from semsum.errors import SemsumError


def knapsack(values: Sequence[float], weights: Sequence[int], capacity: int) -> list[int]:
    """Indices (ascending) of the items with the largest total value whose total weight fits `capacity`.

    O(n * capacity) time, vectorised over capacities; O(n * capacity) bits to recover the choice.
    Items of non-positive weight are invalid (a shot always has at least one frame).
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights)
    if v.shape != w.shape or v.ndim != 1:
        raise SemsumError(f"knapsack: values {v.shape} and weights {w.shape} must be 1-D of equal length")
    if len(w) and (np.any(w <= 0) or np.any(w != np.round(w))):
        raise SemsumError("knapsack: weights must be positive integers")
    if not np.all(np.isfinite(v)):
        raise SemsumError("knapsack: values contain NaN or infinity")
    capacity = int(capacity)
    if capacity <= 0 or len(v) == 0:
        return []
    w = w.astype(np.int64)
    best = np.zeros(capacity + 1)
    take = np.zeros((len(v), capacity + 1), dtype=bool)
    for i in range(len(v)):
        if w[i] > capacity:
            continue
        candidate = best[: capacity + 1 - w[i]] + v[i]
        better = candidate > best[w[i] :]
        take[i, w[i] :] = better
        best[w[i] :] = np.where(better, candidate, best[w[i] :])
    chosen, c = [], capacity
    for i in range(len(v) - 1, -1, -1):
        if take[i, c]:
            chosen.append(i)
            c -= int(w[i])
    return sorted(chosen)
