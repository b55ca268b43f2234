"""The two rank-correlation protocols in use, plus the keyshot F-score, over a set of videos.

`otani` (Otani et al., CVPR 2019; the paper's Table 1 "Random"/"Human" rows and this project's default):
    per video, Kendall tau-b and Spearman rho between the frame-level prediction and each annotator's
    frame-level scores (TVSum 1..5; SumMe the raw `user_score`), averaged over annotators, then over videos.
`csta` (as the published CSTA code computes it; CSTA's own numbers, and papers that reuse its code):
    TVSum: the prediction and each annotator's scores subsampled every 15th frame (CSTA also max-normalises
    the annotator scores, which leaves ranks unchanged), averaged over annotators. SumMe: the 0/1 keyshot
    summary built from the prediction (KTS shots of the HDF5 file, 15 % knapsack) against the mean of the
    users' binary summaries: one correlation per video, and a summary has only two ranks, so values differ
    markedly from `otani`.

Against a file's own binary `user_summary` (`annotations_from_h5`: a file of no known benchmark), neither
protocol is what its name promises, so the numbers carry names of their own (`FILE_PROTOCOL_NAMES`):
`user_summary` (the `otani` computation, ranking against binary summaries instead of SumMe's raw `user_score`
or TVSum's 1..5 scores) and `keyshots` (the keyshot summary against the mean user summary). Every result names
the protocol so and the annotations it used (`ANNOTATION_SOURCES`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from semsum.data.annotations import ANNOTATION_SOURCES, Annotation
from semsum.data.h5 import Dataset
from semsum.errors import SemsumError
from semsum.evaluation.metrics import f_score, rank_correlations
from semsum.summary.keyshots import select_keyshots

PROTOCOLS = ("otani", "csta")
CSTA_STRIDE = 15
#: What each protocol's computation is called when it ranks against a file's binary user summaries.
FILE_PROTOCOL_NAMES = {"otani": "user_summary", "csta": "keyshots"}
#: One line per name, for the tables that show it.
PROTOCOL_DESCRIPTIONS = {
    "otani": "Otani et al.: frame scores against each annotator's raw scores (SumMe user_score, TVSum 1..5)",
    "csta": "as the CSTA code: TVSum every 15th frame; SumMe the keyshot summary against the mean user summary",
    "user_summary": "frame scores against each of the file's binary user summaries (not the Otani protocol)",
    "keyshots": "the keyshot summary against the mean of the file's user summaries",
}


@dataclass
class EvalResult:
    protocol: str
    annotations: str
    kendall_tau: float
    spearman_rho: float
    f_score: float | None
    per_video: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "protocol": self.protocol,
            "annotations": self.annotations,
            "kendall_tau": self.kendall_tau,
            "spearman_rho": self.spearman_rho,
            "f_score": self.f_score,
            "per_video": self.per_video,
        }


def naming(protocol: str, annotations: Iterable[Annotation]) -> tuple[str, str]:
    """(name of `protocol`'s numbers, annotation source) for results computed against `annotations`.

    A benchmark's own annotations keep the protocol's name; a file's binary user summaries rename it
    (`FILE_PROTOCOL_NAMES`), so a number that is not the protocol's never carries its name.
    """
    kinds = sorted({a.dataset for a in annotations})
    name = FILE_PROTOCOL_NAMES[protocol] if "" in kinds else protocol
    return name, " + ".join(ANNOTATION_SOURCES[k] for k in kinds)


def resolve_keys(scores: Mapping[str, object], annotations: Mapping[str, Annotation], source: str = "") -> dict:
    """Re-key `scores` by HDF5 key; entries may be keyed by HDF5 key (`video_3`) or by video name."""
    by_name = {a.name: k for k, a in annotations.items()}
    out = {}
    for name, value in scores.items():
        key = name if name in annotations else by_name.get(name)
        if key is None:
            raise SemsumError(f"{source or 'scores'}: unknown video {name!r} (expected video_N or a video name)")
        out[key] = value
    return out


def _machine_summary(frame_level: np.ndarray, h5: Dataset, key: str) -> np.ndarray:
    video = h5[key]
    if video.change_points is None:
        raise SemsumError(f"{h5.path}: {key} has no change_points to build a keyshot summary")
    if video.n_frames != len(frame_level):
        raise SemsumError(f"{h5.path}: {key} has n_frames={video.n_frames}, scores have {len(frame_level)}")
    return select_keyshots(frame_level, video.change_points).summary


def _video(pred: np.ndarray, ann: Annotation, protocol: str, h5: Dataset | None) -> dict:
    if protocol == "otani":
        taus, rhos = rank_correlations(pred, ann.user_scores)
    elif ann.dataset == "tvsum":
        taus, rhos = rank_correlations(pred[::CSTA_STRIDE], ann.user_scores[:, ::CSTA_STRIDE])
    else:
        if h5 is None:
            raise SemsumError("the csta protocol on SumMe-style annotations needs --h5 (its change_points)")
        summary = _machine_summary(pred, h5, ann.key)
        taus, rhos = rank_correlations(summary, (ann.user_scores > 0).mean(axis=0)[None])
    # A constant input has no ranking (NaN in scipy): it counts as no agreement, 0.
    out = {
        "name": ann.name,
        "kendall_tau": float(np.nan_to_num(taus).mean()),
        "spearman_rho": float(np.nan_to_num(rhos).mean()),
    }
    if h5 is not None and h5[ann.key].user_summary is not None:
        mode = "avg" if ann.dataset == "tvsum" else "max"
        out["f_score"] = f_score(_machine_summary(pred, h5, ann.key), h5[ann.key].user_summary, mode)
    return out


def evaluate(
    frame_scores: Mapping[str, np.ndarray],
    annotations: Mapping[str, Annotation],
    protocol: str = "otani",
    h5: Dataset | None = None,
    source: str = "",
) -> EvalResult:
    """Score frame-level predictions (keyed by HDF5 key or video name) against human annotations.

    The F-score is added when `h5` (with change_points and user_summary) is given. The one evaluation of
    scores: `semsum evaluate`, the trainer (in training and in a run's results) and the random baseline call
    it, and the result names the protocol and the annotations as `naming` does.
    """
    if protocol not in PROTOCOLS:
        raise SemsumError(f"unknown protocol {protocol!r}: choose one of {', '.join(PROTOCOLS)}")
    scores = resolve_keys(frame_scores, annotations, source)
    if not scores:
        raise SemsumError(f"{source or 'scores'}: no videos to evaluate")
    per_video = {}
    for key, value in scores.items():
        ann = annotations[key]
        pred = np.asarray(value, dtype=np.float64).reshape(-1)
        if len(pred) != ann.n_frames:
            raise SemsumError(
                f"{source or 'scores'}: {key} ({ann.name}) has {len(pred)} scores for {ann.n_frames} frames"
            )
        if not np.all(np.isfinite(pred)):
            raise SemsumError(f"{source or 'scores'}: {key} ({ann.name}) contains NaN or infinite scores")
        per_video[key] = _video(pred, ann, protocol, h5)
    fs = [v["f_score"] for v in per_video.values() if "f_score" in v]
    name, used = naming(protocol, (annotations[k] for k in per_video))
    return EvalResult(
        protocol=name,
        annotations=used,
        kendall_tau=float(np.mean([v["kendall_tau"] for v in per_video.values()])),
        spearman_rho=float(np.mean([v["spearman_rho"] for v in per_video.values()])),
        f_score=float(np.mean(fs)) if fs else None,
        per_video=per_video,
    )
