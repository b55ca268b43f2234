"""How good is F(x): cosine and retrieval on held-out pairs, and the downstream rank correlation when
mapped features replace the real MLLM embeddings as a summarizer's input."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import linalg

from semsum.data.h5 import Dataset
from semsum.data.splits import Split
from semsum.errors import SemsumError
from semsum.evaluation.metrics import rank_correlations

#: A summarizer seen as fit-then-predict: (train features, train gtscores, test features) -> test scores,
#: one [n_steps, D] / [n_steps] array per video. Any trainer can be wrapped into this shape.
FitPredict = Callable[[list[np.ndarray], list[np.ndarray], list[np.ndarray]], list[np.ndarray]]


def row_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of `a` with the same row of `b`."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


def mean_cosine(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean cosine between each mapped vector and its own target."""
    return float(np.mean(row_cosine(pred, target)))


def top1_retrieval(pred: np.ndarray, target: np.ndarray, chunk: int = 2048) -> float:
    """Fraction of mapped vectors whose most cosine-similar target (among all `target` rows) is their own."""
    p = np.asarray(pred, np.float32)
    t = np.asarray(target, np.float32)
    p = p / (np.linalg.norm(p, axis=1, keepdims=True) + 1e-12)
    t = t / (np.linalg.norm(t, axis=1, keepdims=True) + 1e-12)
    hits = 0
    for i in range(0, len(p), chunk):
        best = np.argmax(p[i : i + chunk] @ t.T, axis=1)
        hits += int(np.sum(best == np.arange(i, i + len(best))))
    return hits / len(p)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of two sets of vectors (as in FID): how well F(x) matches the
    distribution of the targets, the only thing Eq. 3 asks for, whatever the pairing."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * np.real(root)))


def rank_correlation(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Kendall's tau-b and Spearman's rho of one video's predicted scores against its gtscore."""
    taus, rhos = rank_correlations(pred, np.asarray(truth)[None])
    return float(taus[0]), float(rhos[0])


def ridge_probe(alpha: float = 100.0) -> FitPredict:
    """A linear probe as the stand-in summarizer: ridge regression from z-scored features to gtscore."""

    def fit_predict(train_x: list[np.ndarray], train_y: list[np.ndarray], test_x: list[np.ndarray]):
        x = np.concatenate(train_x).astype(np.float64)
        y = np.concatenate(train_y).astype(np.float64)
        mean, std = x.mean(0), x.std(0) + 1e-6
        xz = (x - mean) / std
        w = np.linalg.solve(xz.T @ xz + alpha * np.eye(x.shape[1]), xz.T @ (y - y.mean()))
        return [((t - mean) / std) @ w + y.mean() for t in test_x]

    return fit_predict


def downstream_rank_correlation(
    dataset: Dataset, feature_key: str, fit_predict: FitPredict, splits: Sequence[Split]
) -> dict[str, float]:
    """Train `fit_predict` on each split's training videos using `feature_key`, score its test videos,
    and average Kendall's tau and Spearman's rho against gtscore over all test videos (out-of-fold)."""
    taus, rhos = [], []
    where = str(dataset.path or "dataset")
    for split in splits:
        train = [dataset[k] for k in split.train_keys]
        test = [dataset[k] for k in split.test_keys]
        preds = fit_predict(
            [v.feature_matrix([feature_key], where) for v in train],
            [v.gtscore for v in train],
            [v.feature_matrix([feature_key], where) for v in test],
        )
        for video, pred in zip(test, preds, strict=True):
            if video.gtscore is None:
                raise SemsumError(f"{where}: {video.key} has no gtscore to correlate with")
            tau, rho = rank_correlation(pred, video.gtscore)
            taus.append(tau)
            rhos.append(rho)
    return {"tau": float(np.mean(taus)), "rho": float(np.mean(rhos)), "n_videos": len(taus)}
