"""Rank correlations and F-score, vectorised for the benchmark's shapes.

Human scores take few distinct values (TVSum 1..5, SumMe segment indices), and model scores are piecewise
constant over sampled frames, so both correlations are computed exactly from the contingency table of
(prediction level, reference level) counts, for all annotators at once: O(n_users * n) to count plus
O(n_users * k * m) for k x m levels, instead of scipy's O(n log n) per pair in a Python loop. Where the table
would be too large (two near-continuous inputs), scipy is used. Both give Kendall tau-b (ties corrected)
and Spearman rho (Pearson correlation of mid-ranks), equal to scipy's to rounding.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from semsum.errors import SemsumError

_MAX_TABLE = 20_000_000  # cells; above this fall back to scipy per annotator


def _levels(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer level codes in ascending value order, and the number of levels (empty levels are harmless).

    Small non-negative whole numbers (all human annotations) are their own codes, which avoids a sort.
    """
    as_int = x.astype(np.int64)
    if np.array_equal(as_int, x) and as_int.min() >= 0 and as_int.max() < 4096:
        return as_int, int(as_int.max()) + 1
    values, codes = np.unique(x, return_inverse=True)
    return codes.reshape(x.shape), len(values)


def _tables(pred: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """Counts [n_users, k, m] of (prediction level i, reference level j), levels in ascending order."""
    p, k = _levels(pred)
    r, m = _levels(refs)
    users = refs.shape[0]
    flat = (np.arange(users)[:, None] * k + p[None, :]) * m + r
    return np.bincount(flat.ravel(), minlength=users * k * m).reshape(users, k, m)


def _suffix(a: np.ndarray, axis: int) -> np.ndarray:
    """Sum over strictly greater indices along `axis`."""
    flipped = np.flip(np.cumsum(np.flip(a, axis), axis), axis)
    out = np.zeros_like(flipped)
    sl_dst = [slice(None)] * a.ndim
    sl_src = [slice(None)] * a.ndim
    sl_dst[axis], sl_src[axis] = slice(0, -1), slice(1, None)
    out[tuple(sl_dst)] = flipped[tuple(sl_src)]
    return out


def _prefix(a: np.ndarray, axis: int) -> np.ndarray:
    """Sum over strictly smaller indices along `axis`."""
    return np.cumsum(a, axis) - a


def _from_tables(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = t.astype(np.float64)
    n = t.sum(axis=(1, 2))
    rows, cols = t.sum(axis=2), t.sum(axis=1)
    below = _suffix(t, 1)  # pairs whose prediction level is higher
    concordant = (t * _suffix(below, 2)).sum(axis=(1, 2))
    discordant = (t * _prefix(below, 2)).sum(axis=(1, 2))
    n0 = n * (n - 1) / 2
    ties_x, ties_y = (rows * (rows - 1) / 2).sum(1), (cols * (cols - 1) / 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = (concordant - discordant) / np.sqrt((n0 - ties_x) * (n0 - ties_y))
        a = _prefix(rows, 1) + (rows + 1) / 2 - (n[:, None] + 1) / 2  # centred mid-ranks of each level
        b = _prefix(cols, 1) + (cols + 1) / 2 - (n[:, None] + 1) / 2
        cov = np.einsum("uij,ui,uj->u", t, a, b)
        rho = cov / np.sqrt((rows * a**2).sum(1) * (cols * b**2).sum(1))
    return tau, rho


def rank_correlations(pred: np.ndarray, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kendall tau-b and Spearman rho of `pred` [n] against each row of `refs` [n_users, n].

    A constant input has no ranking: its correlation is NaN, as in scipy.
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    refs = np.atleast_2d(np.asarray(refs, dtype=np.float64))
    if refs.shape[1] != len(pred):
        raise SemsumError(f"prediction has {len(pred)} values, references have {refs.shape[1]}")
    if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(refs))):
        raise SemsumError("scores contain NaN or infinite values")
    k, m = len(np.unique(pred)), len(np.unique(refs))
    if refs.shape[0] * k * m <= _MAX_TABLE:
        return _from_tables(_tables(pred, refs))
    taus = np.array([stats.kendalltau(pred, r).statistic for r in refs])
    rhos = np.array([stats.spearmanr(pred, r).statistic for r in refs])
    return taus, rhos


def pairwise_rank_correlations(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kendall tau-b and Spearman rho between every pair of rows of `scores` [n_users, n]: two [n_users, n_users].

    All pair tables come from one product of one-hot level matrices, so this suits few distinct values
    (human annotations); the diagonal compares a row with itself.
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    codes, m = _levels(scores)
    users, n = scores.shape
    onehot = np.zeros((n, users * m), dtype=np.float32)
    onehot[np.arange(n)[None, :], np.arange(users)[:, None] * m + codes] = 1.0
    tables = (onehot.T @ onehot).reshape(users, m, users, m).transpose(0, 2, 1, 3).reshape(users * users, m, m)
    tau, rho = _from_tables(np.rint(tables))
    return tau.reshape(users, users), rho.reshape(users, users)


def f_score(machine: np.ndarray, user_summary: np.ndarray, mode: str = "max") -> float:
    """Keyshot F-score of a 0/1 summary against users' 0/1 summaries: max over users (SumMe) or mean (TVSum).

    Known bias (Otani et al., CVPR 2019): with KTS shots and a 15 % knapsack, random scores reach
    about the same F-score as trained models, because the segmentation, not the scores, decides most of it.
    """
    machine = np.asarray(machine) > 0
    users = np.atleast_2d(np.asarray(user_summary)) > 0
    if users.shape[1] != len(machine):
        raise SemsumError(f"summary has {len(machine)} frames, user summaries have {users.shape[1]}")
    overlap = (users & machine).sum(1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(machine.sum() > 0, overlap / max(machine.sum(), 1), 0.0)
        recall = np.where(users.sum(1) > 0, overlap / np.maximum(users.sum(1), 1), 0.0)
        f = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    if mode == "max":
        return float(f.max())
    if mode == "avg":
        return float(f.mean())
    raise SemsumError(f"unknown F-score mode {mode!r}: choose max or avg")
