"""Aligned (x, y) training pairs from an eccv16-schema file: the two feature keys of one video at the same pick."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from semsum.data.h5 import Dataset
from semsum.data.splits import Split
from semsum.errors import SemsumError


def collect_pairs(
    dataset: Dataset,
    source: str = "features",
    target: str = "features_mllm",
    keys: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Stack the pairs of the chosen videos (all by default): x [n, D_src], y [n, D_tgt], and each row's video.

    A video without either key, or whose two keys differ in length, is a SemsumError naming the video.
    """
    where = str(dataset.path or "dataset")
    xs, ys, owners = [], [], []
    for key in dataset.keys() if keys is None else keys:
        video = dataset[key]
        for name in (source, target):
            if name not in video.features:
                have = ", ".join(sorted(video.features)) or "none"
                raise SemsumError(f"{where}: {key} has no feature key {name!r} (has: {have})")
        x, y = video.features[source], video.features[target]
        if len(x) != len(y):
            raise SemsumError(f"{where}: {key}: {source!r} has {len(x)} steps but {target!r} has {len(y)}")
        xs.append(np.asarray(x, np.float32))
        ys.append(np.asarray(y, np.float32))
        owners += [key] * len(x)
    if not xs:
        raise SemsumError(f"{where}: no videos to take pairs from")
    widths = {(a.shape[1], b.shape[1]) for a, b in zip(xs, ys, strict=True)}
    if len(widths) > 1:
        raise SemsumError(f"{where}: videos disagree on feature widths {sorted(widths)}")
    return np.concatenate(xs), np.concatenate(ys), owners


def training_keys(dataset: Dataset, splits: Sequence[Split] | None, fold: int | None) -> list[str]:
    """The videos F(x) may learn from: all of them, or only fold `fold`'s training videos (no test leak)."""
    if splits is None:
        if fold is not None:
            raise SemsumError("--fold needs --splits")
        return dataset.keys()
    fold = 0 if fold is None else fold
    if not 0 <= fold < len(splits):
        raise SemsumError(f"fold {fold} out of range: the split file has {len(splits)} splits")
    keys = list(splits[fold].train_keys)
    missing = [k for k in keys if k not in dataset.videos]
    if missing:
        raise SemsumError(f"{dataset.path}: split {fold} names videos not in the file: {', '.join(missing[:5])}")
    return keys
