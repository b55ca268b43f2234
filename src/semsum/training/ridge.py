"""The linear probe every learned summarizer must beat: ridge regression from a video's features to its gtscore.

Per fold of a split file: features standardised on the training videos, then scikit-learn `Ridge`, its
regularisation `alpha` chosen inside the training fold only: a `GroupKFold` over the training videos (whole
videos per inner fold) scores each alpha of `ALPHAS` by the mean per-video Kendall tau of its predictions
against the inner-held-out videos' targets (the criterion `semsum train --select val` uses), and the best
alpha is refitted on all training videos. Test videos are read only to be predicted. The targets are the
trainer's (`gtscore`, min-max normalised per video by default), and the results are evaluated and tabulated by
the trainer's own code (`fold_metrics`, `run_markdown`), so a ridge row and a `semsum train` row are the
same computation on different scores.

Lives beside the trainer, not in semsum.evaluation, because it trains: it reuses the trainer's targets, split
checks and results, which the layering keeps above evaluation.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from semsum.data.splits import Split
from semsum.errors import SemsumError
from semsum.evaluation.metrics import rank_correlations
from semsum.training.run import fold_metrics, run_annotations
from semsum.training.trainer import Tensors, TrainConfig, load_split_file, load_training_data

#: The regularisation grid, on standardised features (1 ... 1e7).
ALPHAS: tuple[float, ...] = tuple(10.0**k for k in range(8))
INNER_FOLDS = 5
SELECTION_LABEL = "alpha by GroupKFold over the training videos of each fold (leakage-free)"


@dataclass
class RidgeFold:
    """One outer fold: the chosen alpha, every alpha's inner-fold tau, the refitted model and its test scores."""

    fold: int
    alpha: float
    inner_tau: dict[float, float]
    model: Pipeline
    scores: dict[str, np.ndarray]
    seconds: float


def _stack(data: Tensors, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.concatenate([data.x[k].numpy() for k in keys])
    y = np.concatenate([data.y[k].numpy() for k in keys])
    groups = np.concatenate([np.full(len(data.y[k]), i) for i, k in enumerate(keys)])
    return x, y, groups


def fit(data: Tensors, keys: Sequence[str], alphas: Sequence[float]) -> Pipeline:
    """Standardise on `keys`' steps and fit Ridge to their targets, once per alpha in a single fit.

    The target is repeated as one column per alpha and `Ridge` given one alpha per column: it forms X^T X once
    and solves each column with its own alpha, so a whole grid costs little more than one fit. Column j of
    `predict` is the model with `alphas[j]`.
    """
    x, y, _ = _stack(data, keys)
    ridge = Ridge(alpha=np.asarray(alphas, dtype=np.float64), solver="cholesky")
    return make_pipeline(StandardScaler(), ridge).fit(x, np.repeat(y[:, None], len(alphas), axis=1))


def predict(model: Pipeline, features: np.ndarray) -> np.ndarray:
    """[n_steps, n_alphas] predictions of a model from `fit` (one column per alpha)."""
    return np.asarray(model.predict(features)).reshape(len(features), -1)


def _inner_taus(model: Pipeline, data: Tensors, keys: Sequence[str]) -> np.ndarray:
    """Mean per-video Kendall tau of each of `model`'s columns (alphas) against the targets of `keys`."""
    taus = []
    for k in keys:
        pred, y = predict(model, data.x[k].numpy()), data.y[k].numpy()[None]
        taus.append([rank_correlations(pred[:, j], y)[0][0] for j in range(pred.shape[1])])
    return np.nan_to_num(np.array(taus)).mean(axis=0)


def choose_alpha(
    data: Tensors, keys: Sequence[str], alphas: Sequence[float] = ALPHAS, inner_folds: int = INNER_FOLDS
) -> tuple[float, dict[float, float]]:
    """The alpha with the best mean inner-held-out tau over a GroupKFold of `keys` (training videos only)."""
    keys = list(keys)
    if len(keys) < 2:
        raise SemsumError(f"ridge: alpha selection needs at least 2 training videos, got {len(keys)}")
    inner = GroupKFold(n_splits=min(inner_folds, len(keys)))
    taus = []
    for fit_idx, val_idx in inner.split(keys, groups=np.arange(len(keys))):
        model = fit(data, [keys[i] for i in fit_idx], alphas)
        taus.append(_inner_taus(model, data, [keys[i] for i in val_idx]))
    mean = np.mean(taus, axis=0)
    return float(alphas[int(np.argmax(mean))]), {float(a): float(t) for a, t in zip(alphas, mean, strict=True)}


def ridge_fold(
    data: Tensors, split: Split, fold: int, alphas: Sequence[float] = ALPHAS, inner_folds: int = INNER_FOLDS
) -> RidgeFold:
    """Choose alpha on `split`'s training videos, refit on all of them, predict its test videos."""
    t0 = time.perf_counter()
    alpha, inner_tau = choose_alpha(data, split.train_keys, alphas, inner_folds)
    model = fit(data, split.train_keys, [alpha])
    scores = {k: predict(model, data.x[k].numpy())[:, 0] for k in split.test_keys}
    return RidgeFold(fold, alpha, inner_tau, model, scores, time.perf_counter() - t0)


def ridge_baseline(
    h5: str | os.PathLike[str],
    splits: str | os.PathLike[str],
    feature_keys: Sequence[str] = ("features",),
    alphas: Sequence[float] = ALPHAS,
    inner_folds: int = INNER_FOLDS,
    normalize: bool = True,
    annotations: str = "auto",
    data_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Every fold of `splits` on `h5`: results in the layout of `semsum train`'s results.json (`run_markdown`)."""
    cfg = TrainConfig(model="ridge", feature_keys=tuple(feature_keys), normalize=normalize)
    ds = load_training_data(h5, cfg)
    split_list = load_split_file(splits, ds)
    anns = run_annotations(ds, annotations, data_dir)
    data = Tensors(ds, cfg, str(ds.path))
    folds = [ridge_fold(data, s, i, alphas, inner_folds) for i, s in enumerate(split_list)]
    rows = [
        (
            {
                "fold": f.fold,
                "selected": f"{f.alpha:g}",
                "alpha": f.alpha,
                "inner_tau": {f"{a:g}": t for a, t in f.inner_tau.items()},
                "seconds": f.seconds,
                "n_test": len(f.scores),
            },
            f.scores,
        )
        for f in folds
    ]
    metrics, _ = fold_metrics(ds, anns, rows)
    return {
        "model": "ridge",
        "feature_keys": list(feature_keys),
        "in_dim": data.in_dim,
        "parameters": data.in_dim + 1,
        "cnn_init": None,
        "selection": "inner-cv",
        "selection_label": SELECTION_LABEL,
        "selected_header": "alpha",
        "config": {"alphas": list(alphas), "inner_folds": inner_folds, "normalize": normalize},
        "h5": str(Path(h5)),
        "annotations": anns.to_dict(),
        **metrics,
        "train_seconds": sum(f.seconds for f in folds),
    }
