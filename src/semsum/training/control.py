"""The shuffled-label control: a copy of a training file with `gtscore` permuted within every video.

A summarizer trained on it has no signal to learn, so its out-of-fold correlations against the real annotations
should be near zero; a clearly non-zero value would mean labels leak into training or evaluation.
"""

from __future__ import annotations

import os

import numpy as np

from semsum.data.h5 import load_dataset, save_dataset


def shuffle_labels(h5: str | os.PathLike[str], out: str | os.PathLike[str], seed: int = 0) -> None:
    """Write `h5` to `out` with each video's gtscore permuted (seeded); everything else unchanged."""
    ds, rng = load_dataset(h5), np.random.default_rng(seed)
    for v in ds:
        v.gtscore = rng.permutation(v.gtscore)
    save_dataset(out, ds)
