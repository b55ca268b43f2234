"""Every way whole videos are split into training and held-out ones: the split files of the five method families,
read into one list of (train_keys, test_keys); `hold_out`, a validation set carved from training videos; and
`video_folds`, k folds when no split file is given.

Formats: PGL-SUM / VASNet / MSVA JSON (`[{"train_keys": [...], "test_keys": [...]}]`), DSNet YAML (same
fields, keys prefixed by the HDF5 path) and CSTA text (`Dataset/splitK/train,keys/test,keys` per line).
Keys are normalised to the HDF5 group name (`video_3`); when a file mixes datasets (the augmented and
transfer settings) each key keeps its dataset stem (`eccv16_dataset_ovp_google_pool5/video_3`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from semsum.errors import SemsumError


@dataclass(frozen=True)
class Split:
    train_keys: tuple[str, ...]
    test_keys: tuple[str, ...]


def _parse_csta(text: str, path: Path) -> list[tuple[list[str], list[str]]]:
    raw = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.strip().split("/")
        if len(parts) != 4:
            raise SemsumError(f"{path}: line {n}: expected Dataset/splitK/train_keys/test_keys")
        raw.append((parts[2].split(","), parts[3].split(",")))
    return raw


def _parse_structured(data: object, path: Path) -> list[tuple[list[str], list[str]]]:
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise SemsumError(f"{path}: expected a list of {{train_keys, test_keys}} objects")
    raw = []
    for i, d in enumerate(data):
        if "train_keys" not in d or "test_keys" not in d:
            raise SemsumError(f"{path}: split {i} lacks train_keys or test_keys")
        raw.append((list(d["train_keys"]), list(d["test_keys"])))
    return raw


def _dataset_and_video(key: str) -> tuple[str, str]:
    """'../datasets/eccv16_dataset_summe_google_pool5.h5/video_22' -> (dataset stem, 'video_22')."""
    parts = key.strip().split("/")
    video = parts[-1]
    dataset = parts[-2].removesuffix(".h5") if len(parts) > 1 else ""
    return dataset, video


def load_splits(path: str | os.PathLike[str]) -> list[Split]:
    """Read any of the five split formats (chosen by extension and content)."""
    path = Path(path)
    if not path.is_file():
        raise SemsumError(f"{path}: no such split file")
    text = path.read_text()
    try:
        if path.suffix in (".yml", ".yaml"):
            raw = _parse_structured(yaml.safe_load(text), path)
        elif path.suffix == ".json":
            raw = _parse_structured(json.loads(text), path)
        else:
            raw = _parse_csta(text, path)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise SemsumError(f"{path}: not a valid split file ({e.__class__.__name__})") from None
    if not raw:
        raise SemsumError(f"{path}: contains no splits")
    datasets = {_dataset_and_video(k)[0] for train, test in raw for k in (*train, *test)}
    single = len(datasets) == 1

    def norm(key: str) -> str:
        dataset, video = _dataset_and_video(key)
        return video if single or not dataset else f"{dataset}/{video}"

    return [Split(tuple(norm(k) for k in train), tuple(norm(k) for k in test)) for train, test in raw]


def test_sets_disjoint(splits: list[Split]) -> bool:
    """True when no video is tested in two splits (a proper k-fold cross-validation)."""
    seen: set[str] = set()
    for s in splits:
        if seen & set(s.test_keys):
            return False
        seen |= set(s.test_keys)
    return True


def describe(splits: list[Split]) -> dict[str, object]:
    """Counts users need before comparing numbers: splits, sizes, test coverage, disjointness."""
    tested = {k for s in splits for k in s.test_keys}
    everything = tested | {k for s in splits for k in s.train_keys}
    return {
        "n_splits": len(splits),
        "train_sizes": [len(s.train_keys) for s in splits],
        "test_sizes": [len(s.test_keys) for s in splits],
        "videos": len(everything),
        "videos_tested": len(tested),
        "test_sets_disjoint": test_sets_disjoint(splits),
        "train_test_overlap": any(set(s.train_keys) & set(s.test_keys) for s in splits),
    }


def hold_out(
    keys: Sequence[str], fraction: float, seed: int | Sequence[int], minimum: int = 0
) -> tuple[list[str], list[str]]:
    """Split videos into (kept, held out), whole videos only, so frames of one video never straddle the two.

    About `fraction` of the videos are held out (at least `minimum`, always leaving one to keep), drawn by
    `numpy.random.default_rng(seed)`; both lists are sorted. Used for validation sets carved from training
    folds (`semsum train --select val`) and for the held-out cosine that `semsum align train` watches.
    """
    keys = list(keys)
    n = min(max(minimum, round(fraction * len(keys))), len(keys) - 1) if len(keys) > 1 else 0
    held = np.random.default_rng(seed).choice(keys, size=n, replace=False).tolist() if n else []
    return sorted(k for k in keys if k not in set(held)), sorted(held)


def video_folds(keys: Sequence[str], k: int = 5, seed: int = 0) -> list[Split]:
    """k disjoint test folds over whole videos (every video tested once), for when no split file is given.

    Unlike `hold_out` (one held-out set carved from the training videos), the folds partition all the videos;
    the order is `numpy.random.default_rng(seed).permutation` and fold i tests every k-th video of it from i.
    """
    order = [keys[i] for i in np.random.default_rng(seed).permutation(len(keys))]
    tests = [order[i::k] for i in range(k)]
    return [Split(tuple(key for key in order if key not in t), tuple(t)) for t in tests]
