"""Kernel temporal segmentation (Potapov et al., ECCV 2014) with `cpd_auto`'s choice of the number of shots.

The reference `cpd_auto(K, ncp, vmax)` solves, for every m = 0..ncp, the best split of the sequence into m+1
contiguous segments minimising the total within-segment scatter (kernel variance) `S_m` (dynamic programming,
`cpd_nonlin`), then keeps the m minimising `S_m / n + vmax * m / (2n) * (log(n / m) + 1)`. Called as the
field's dataset tools do (linear kernel on L2-normalised features, vmax = 1, ncp = n - 1), it costs O(n^3)
time and O(n^2) memory: over an hour for a 1-hour video at 2 fps.

This implementation gives the same result with two changes, one exact and one a documented bound:

* Exact pruning of m: S_m >= 0 and the penalty grows with m (for m < n), so once the penalty of m alone
  reaches the best cost found so far no larger m can win; the DP stops there instead of at ncp.
* `max_segment` (default `MAX_SEGMENT` = 120 steps, 1 minute at 2 fps): segments are at most this long, so each
  DP layer costs O(n * max_segment) and the scatter table is a band of n x max_segment (built from the
  features with BLAS, never the n x n kernel). The result is identical to the unbounded algorithm whenever
  no segment of the unbounded optimum is longer than the bound (shown in benchmarks/kts_bench.py on
  benchmark-sized sequences). `max_segment=None` runs the unbounded algorithm (O(n^2) memory).
  A shot longer than 15% of the video can never be selected by the keyshot knapsack anyway.

The result is what the reference returns (it calls them change points): step boundaries, the index of the
first step of every segment after the first. `semsum.summary.shots.boundaries_to_shots` turns them into the
eccv16 file's `change_points`, inclusive [start, end] frame shots; the `kts` shot detector there does both.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from semsum.errors import SemsumError

#: Default bound on segment length, in sampled steps (60 s at the benchmarks' 2 fps).
MAX_SEGMENT = 120


def _scatter_band(x: np.ndarray, width: int) -> np.ndarray:
    """J[l, j] = scatter of steps t..l with t = l - width + 1 + j (inf where t < 0), for the linear kernel.

    scatter(t..l) = sum ||x_i||^2 - ||sum x_i||^2 / (l - t + 1), from prefix sums; the Gram products are
    taken block by block relative to a local origin to keep cancellation small.
    """
    n, _ = x.shape
    csum = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    sq = np.concatenate([[0.0], np.cumsum(np.einsum("ij,ij->i", x, x))])
    band = np.full((n, width), np.inf)
    block = max(width, 256)
    j = np.arange(width)[None, :]
    for a in range(0, n, block):
        b = min(a + block, n)
        lo = max(0, a - width + 1)
        u = csum[a + 1 : b + 1] - csum[a]  # prefix ends, rows l = a..b-1
        v = csum[lo:b] - csum[a]  # prefix starts, cols t = lo..b-1
        norms = np.einsum("ij,ij->i", u, u)[:, None] + np.einsum("ij,ij->i", v, v)[None, :] - 2.0 * (u @ v.T)
        rows = np.arange(a, b)[:, None]
        starts = rows - width + 1 + j
        valid = starts >= 0
        cols = np.where(valid, starts - lo, 0)
        seg_sq = np.take_along_axis(norms, cols, axis=1)
        scatter = sq[rows + 1] - sq[np.maximum(starts, 0)] - seg_sq / (rows - starts + 1)
        band[a:b] = np.where(valid, scatter, np.inf)
    return band


def _penalty(m: int, n: int, vmax: float) -> float:
    return 0.0 if m == 0 else vmax * m / (2.0 * n) * (np.log(n / m) + 1.0)


def kts(
    features: np.ndarray,
    max_change_points: int | None = None,
    vmax: float = 1.0,
    normalize: bool = True,
    max_segment: int | None = MAX_SEGMENT,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Step boundaries (int64, ascending step indices where a new segment starts) of `features` [n, D].

    Linear kernel on the (by default L2-normalised) features; the number of boundaries is chosen
    automatically as in `cpd_auto`, among 0..`max_change_points` (default n - 1; the reference's name).
    `progress(k, m)` is called after each layer of the dynamic programme (k boundaries of at most m; the search
    usually stops long before m).
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise SemsumError(f"kts: expected features [n_steps, D] with n_steps >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise SemsumError("kts: features contain NaN or infinity")
    n = len(x)
    if normalize:
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    width = n if max_segment is None else int(min(max_segment, n))
    if width < 1:
        raise SemsumError(f"kts: max_segment must be at least 1, got {max_segment}")
    m_max = n - 1 if max_change_points is None else int(min(max_change_points, n - 1))
    band = _scatter_band(x, width)  # row l: segments ending at step l
    rows = np.arange(n)
    # best[t] = least scatter of steps 0..t-1 in k+1 segments (inf when impossible); layer k = 0 first.
    best = np.full(n + 1, np.inf)
    first = rows[:width]
    best[first + 1] = band[first, width - 1 - first]
    costs = [best[n] / n]
    back: list[np.ndarray] = []
    padded = np.full(n + width - 1, np.inf)
    total = np.empty((n, width))
    index_type = np.int16 if width < 2**15 else np.int32
    for k in range(1, m_max + 1):
        penalty = _penalty(k, n, vmax)
        if penalty >= min(costs):
            break  # cost(k') >= penalty(k') >= penalty(k) for all k' >= k: none can beat the best
        padded[width - 1 :] = best[:n]
        np.add(band, sliding_window_view(padded, width), out=total)
        arg = total.argmin(axis=1)
        best = np.full(n + 1, np.inf)
        best[1:] = total[rows, arg]
        back.append(arg.astype(index_type))
        costs.append(best[n] / n + penalty)
        if progress is not None:
            progress(k, m_max)
    m = int(np.argmin(costs))
    cps = np.zeros(m, dtype=np.int64)
    end = n  # segment k covers steps cps[k-1] .. end-1
    for k in range(m, 0, -1):
        last = end - 1
        cps[k - 1] = last - width + 1 + int(back[k - 1][last])
        end = cps[k - 1]
    return cps
