"""Baselines every F(x) is compared with: a closed-form ridge (linear) map and the mean target vector."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from semsum.align.mapper import Mapper, MapperConfig, Normalization
from semsum.align.metrics import row_cosine

RIDGE_ALPHAS: tuple[float, ...] = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5)


def _ridge_solutions(u: np.ndarray, s: np.ndarray, vt: np.ndarray, y: np.ndarray, alphas) -> list[np.ndarray]:
    """Weights (X^T X + a I)^-1 X^T Y for each a, from one SVD X = U S V^T."""
    uty = u.T @ y
    return [(vt.T * (s / (s**2 + a))) @ uty for a in alphas]


def fit_ridge(
    x: np.ndarray,
    y: np.ndarray,
    alphas: tuple[float, ...] = RIDGE_ALPHAS,
    val_fraction: float = 0.2,
    seed: int = 0,
    config: MapperConfig | None = None,
) -> tuple[Mapper, float]:
    """Closed-form ridge from z-scored x to z-scored y, alpha chosen by cosine on a held-out part of the pairs.

    Returns the fitted map as a depth-0 `Mapper` (so it is saved and applied like any other) and the alpha.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    norm = Normalization.fit(x, y)
    xz = (x - norm.x_mean) / norm.x_std
    yz = (y - norm.y_mean) / norm.y_std
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, int(len(x) * val_fraction))
    val, fit = order[:n_val], order[n_val:]
    u, s, vt = np.linalg.svd(xz[fit], full_matrices=False)
    scores = []
    for w in _ridge_solutions(u, s, vt, yz[fit], alphas):
        pred = (xz[val] @ w) * norm.y_std + norm.y_mean
        scores.append(float(np.mean(row_cosine(pred, y[val]))))
    alpha = alphas[int(np.argmax(scores))]
    u, s, vt = np.linalg.svd(xz, full_matrices=False)
    (w,) = _ridge_solutions(u, s, vt, yz, [alpha])
    base = config or MapperConfig(in_dim=x.shape[1], out_dim=y.shape[1])
    mapper = Mapper(replace(base, in_dim=x.shape[1], out_dim=y.shape[1], depth=0, mode="ridge"), norm)
    with torch.no_grad():
        mapper.net.net.weight.copy_(torch.as_tensor(w.T, dtype=torch.float32))
        mapper.net.net.bias.zero_()
    return mapper.eval(), alpha


def mean_target(y_train: np.ndarray, n: int) -> np.ndarray:
    """The mean-target baseline: every input is mapped to the mean training target."""
    return np.repeat(np.asarray(y_train, np.float32).mean(0, keepdims=True), n, axis=0)
