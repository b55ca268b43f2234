"""Mr.HiSum's metrics exactly as its official evaluation computes them (`model/solver.py`, `Solver.evaluate`).

Per video, from the predicted scores (one per second) and the file's labels:

- **F1** (percent, 0-100): the 15 % knapsack summary over the file's shots against `gt_summary`. Shot values are the
  float32 mean of the scores over `start .. end` *inclusive* (so a shot's value also reads the next shot's first
  second), weights are `end - start` seconds, capacity `floor(0.15 n)`; precision and recall divide by
  `sum(S + 1e-8)` and `sum(G + 1e-8)` over the padded length (the epsilon is added per second, as the official code
  does).
- **mAP@50 / mAP@15** (0-1): `gtscore` and the scores are cut into 5-second clips (the last one shorter) and averaged
  in float32; the top `n_clips // 2` (50 %) or `int(0.15 n_clips)` (15 %) ground-truth clips by torch's descending
  argsort are the positives; the prediction's clip means go through the official softmax
  `exp(x) / (sum(exp(x)) + 1e-7)` in float32, whose rounding can merge close scores into ties; the average precision
  is scikit-learn's `average_precision_score` (tied scores form one threshold; no positives gives 0).

Each metric is averaged over videos. The quirks are kept for comparability with published numbers; docs/mrhisum.md
lists them with their effects. Ground-truth ties at the top-k boundary are resolved by torch's (unstable) CPU sort,
as in the official code run on a CPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from semsum.data.mrhisum import MrHiSumVideo
from semsum.errors import SemsumError
from semsum.summary.keyshots import select_units

CLIP_SECONDS = 5
BUDGET = 0.15
METRICS = ("f1", "map50", "map15")


def machine_summary(scores: np.ndarray, change_points: np.ndarray, budget: float = BUDGET) -> np.ndarray:
    """The official 0/1 keyshot summary (`generate_summary`) over `[start, end)` shots: uint8 [change_points[-1, 1]].

    The knapsack is the keyshot step's (`select_units`: weights `end - start` seconds, capacity `floor(budget n)`,
    as the official code); only the shot values are the official ones rather than `select_keyshots`' inclusive
    means, since the official value of `[start, end)` is the float32 mean over `start .. end` *inclusive*.
    """
    frame = np.asarray(scores, dtype=np.float32)
    cps = np.asarray(change_points, dtype=np.int64)
    values = [float(frame[s : e + 1].mean()) for s, e in cps]  # float32 means, end inclusive, as the official code
    inclusive = np.stack([cps[:, 0], cps[:, 1] - 1], axis=1)  # the same seconds as inclusive [first, last] rows
    summary = np.zeros(int(cps[-1, 1]), dtype=np.uint8)
    for i in select_units(np.asarray(values), inclusive, len(frame), budget):
        summary[cps[i, 0] : cps[i, 1]] = 1
    return summary


def summary_f1(summary: np.ndarray, gt_summary: np.ndarray) -> float:
    """The official F-score in percent (`evaluate_summary` with one ground-truth summary), both padded with zeros."""
    length = max(len(summary), len(gt_summary))
    s = np.zeros(length, dtype=np.int64)
    g = np.zeros(length, dtype=np.int64)
    s[: len(summary)], g[: len(gt_summary)] = summary, gt_summary
    overlap = float(np.sum(s & g))
    precision = overlap / (s.sum() + 1e-8 * length)
    recall = overlap / (g.sum() + 1e-8 * length)
    return 0.0 if precision + recall == 0 else 2 * precision * recall * 100 / (precision + recall)


def clip_scores(scores: np.ndarray | torch.Tensor, clip: int = CLIP_SECONDS) -> torch.Tensor:
    """Float32 mean of each `clip`-second clip, the last one shorter (bit for bit the official split + mean)."""
    x = torch.as_tensor(np.asarray(scores, dtype=np.float32))
    full = len(x) // clip * clip
    means = [x[:full].reshape(-1, clip).mean(1)]
    if full < len(x):
        means.append(x[full:].mean().reshape(1))
    return torch.cat(means)


def top_clips(gt_clips: torch.Tensor, k: int) -> np.ndarray:
    """0/1 positives: the first `k` clips of torch's descending argsort, as the official `top50/top15_summary`."""
    positives = np.zeros(len(gt_clips), dtype=np.int64)
    positives[torch.argsort(gt_clips, descending=True)[:k].numpy()] = 1
    return positives


def official_softmax(clips: torch.Tensor) -> np.ndarray:
    """The official normalisation of the prediction's clips, in float32: exp(x) / (sum(exp(x)) + 1e-7)."""
    e = torch.exp(clips)
    return (e / (e.sum() + 1e-7)).numpy()


def average_precision(positives: np.ndarray, scores: np.ndarray) -> float:
    """Average precision as scikit-learn computes it: sum over distinct score thresholds of recall gain x precision.

    Tied scores form one threshold; with no positive the result is 0 (scikit-learn's value, with a warning).
    """
    y = np.asarray(positives, dtype=np.int64)
    s = np.asarray(scores)
    if y.sum() == 0:
        return 0.0
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each distinct threshold
    tp = np.cumsum(y)[last].astype(np.float64)
    precision = tp / (last + 1)
    recall_gain = np.diff(np.r_[0.0, tp / tp[-1]])
    return float(np.sum(recall_gain * precision))


def video_metrics(scores: np.ndarray, video: MrHiSumVideo) -> dict[str, float]:
    """f1 (percent), map50 and map15 (0-1) of one video's predicted scores [n] (one per second)."""
    summary = machine_summary(scores, video.change_points)
    gt_clips = clip_scores(video.gtscore)
    predicted = official_softmax(clip_scores(scores))
    n_clips = len(gt_clips)
    return {
        "f1": summary_f1(summary, video.gt_summary),
        "map50": average_precision(top_clips(gt_clips, n_clips // 2), predicted),  # top 50 %: n // 2 clips
        "map15": average_precision(top_clips(gt_clips, int(n_clips * 0.15)), predicted),  # top 15 %: int(0.15 n)
    }


@dataclass
class MrHiSumResult:
    """Metrics averaged over videos, and each video's."""

    f1: float
    map50: float
    map15: float
    per_video: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self, per_video: bool = True) -> dict:
        out: dict = {"f1": self.f1, "map50": self.map50, "map15": self.map15, "n_videos": len(self.per_video)}
        if per_video:
            out["per_video"] = self.per_video
        return out


def evaluate(
    scores: Mapping[str, np.ndarray], videos: Iterable[MrHiSumVideo] | Mapping[str, MrHiSumVideo], source: str = ""
) -> MrHiSumResult:
    """Official F1, mAP@50 and mAP@15 of per-second `scores` (by video key) against the videos' labels.

    `videos` holds at least the scored videos (a mapping by key, or any iterable of `MrHiSumVideo`).
    """
    by_key = dict(videos) if isinstance(videos, Mapping) else {v.key: v for v in videos}
    where = source or "scores"
    if not scores:
        raise SemsumError(f"{where}: no videos to evaluate")
    per_video = {}
    for key, value in scores.items():
        video = by_key.get(key)
        if video is None:
            raise SemsumError(f"{where}: {key} is not a video of the Mr.HiSum file")
        pred = np.asarray(value, dtype=np.float64).reshape(-1)
        if len(pred) != video.n:
            raise SemsumError(f"{where}: {key} has {len(pred)} scores for {video.n} seconds")
        if not np.all(np.isfinite(pred)):
            raise SemsumError(f"{where}: {key} contains NaN or infinite scores")
        per_video[key] = video_metrics(pred, video)
    mean = {m: float(np.mean([v[m] for v in per_video.values()])) for m in METRICS}
    return MrHiSumResult(**mean, per_video=per_video)
