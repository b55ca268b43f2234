"""Frame scores of a trained run for every video of a file: what `semsum predict` writes for `semsum evaluate`."""

from __future__ import annotations

import os
from dataclasses import dataclass

from semsum.data.benchmarks import recognise
from semsum.data.h5 import load_dataset
from semsum.data.mrhisum import is_mrhisum_file
from semsum.summary.keyshots import frame_scores
from semsum.training import load_run
from semsum.training.stream import predict_mrhisum


@dataclass(frozen=True)
class Predicted:
    """Scores by video key, and what the file holds: `dataset` is `mrhisum`, a recognised benchmark (summe,
    tvsum) or None, said `how` (for a message)."""

    scores: dict[str, list[float]]
    dataset: str | None
    how: str


def predict_file(run: str | os.PathLike[str], h5: str | os.PathLike[str], fold: int | None = None) -> Predicted:
    """Scores of run `run` (one `fold`'s model, else out-of-fold for its training videos and the fold mean for
    others) for every video of `h5`: per frame for an eccv16 file, per second for a Mr.HiSum file."""
    trained = load_run(run, fold=fold)
    if is_mrhisum_file(h5):
        scores = {k: v.tolist() for k, v in predict_mrhisum(trained, h5).items()}
        return Predicted(scores, "mrhisum", "a Mr.HiSum file")
    ds = load_dataset(h5, require=("n_frames", "picks", *trained.feature_keys))
    scores = {}
    for v in ds:
        steps = trained.predict_video(v.key, v.feature_matrix(trained.feature_keys, str(h5)))
        scores[v.key] = frame_scores(steps, v.picks, v.n_frames).tolist()
    found = recognise(ds)
    return Predicted(scores, found.dataset, found.how)
