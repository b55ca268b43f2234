"""Reference points for every table: how much humans agree with each other, and what chance gives."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from semsum.data.annotations import Annotation
from semsum.data.h5 import STRIDE
from semsum.evaluation.metrics import pairwise_rank_correlations
from semsum.evaluation.protocols import EvalResult, evaluate, naming
from semsum.summary.keyshots import frame_scores


def human(annotations: Mapping[str, Annotation]) -> EvalResult:
    """Leave-one-out human agreement (Otani et al.): each annotator against every other one.

    Per annotator the mean correlation with the others, then the mean over annotators, then over videos.
    """
    per_video = {}
    for key, ann in annotations.items():
        tau, rho = (np.nan_to_num(x) for x in pairwise_rank_correlations(ann.user_scores))
        off = ~np.eye(ann.n_users, dtype=bool)  # each annotator against the others, never itself
        per_video[key] = {
            "name": ann.name,
            "kendall_tau": float(tau[off].reshape(ann.n_users, -1).mean(1).mean()),
            "spearman_rho": float(rho[off].reshape(ann.n_users, -1).mean(1).mean()),
        }
    name, source = naming("otani", annotations.values())
    return EvalResult(
        protocol=name,
        annotations=source,
        kendall_tau=float(np.mean([v["kendall_tau"] for v in per_video.values()])),
        spearman_rho=float(np.mean([v["spearman_rho"] for v in per_video.values()])),
        f_score=None,
        per_video=per_video,
    )


def random_trials(
    annotations: Mapping[str, Annotation],
    trials: int = 100,
    seed: int = 0,
    on_trial: Callable[[int], None] | None = None,
) -> dict:
    """Uniform random scores, one per sampled frame (every 15th, as a model predicts), held over frames.

    Returns mean and standard deviation over `trials` seeded trials of the dataset-level tau and rho;
    `on_trial(done)` reports progress.
    """
    rng = np.random.default_rng(seed)
    taus, rhos = [], []
    for trial in range(trials):
        scores = {}
        for key, ann in annotations.items():
            picks = np.arange(0, ann.n_frames, STRIDE)
            scores[key] = frame_scores(rng.random(len(picks)), picks, ann.n_frames)
        result = evaluate(scores, annotations, "otani")
        taus.append(result.kendall_tau)
        rhos.append(result.spearman_rho)
        if on_trial is not None:
            on_trial(trial + 1)
    return {
        "trials": trials,
        "seed": seed,
        "kendall_tau": float(np.mean(taus)),
        "kendall_tau_std": float(np.std(taus)),
        "spearman_rho": float(np.mean(rhos)),
        "spearman_rho_std": float(np.std(rhos)),
    }
