"""Mr.HiSum (Sul et al., NeurIPS 2023): the official `mr_hisum.h5` and split file, read lazily, checked per video.

One group per video (`video_1` ... `video_31892`), each with:

| key             | shape          | meaning                                                                |
|-----------------|----------------|------------------------------------------------------------------------|
| `features`      | [n, 1024]      | YouTube-8M frame features at 1 fps (not in the release: users add them) |
| `gtscore`       | [n] in 0..1    | "Most replayed" statistics, one value per second                       |
| `change_points` | [n_shots, 2]   | KTS shots in seconds: each row `[start, end]` with `end` = next `start` |
| `gt_summary`    | [n] 0/1        | the 15 % knapsack summary of `gtscore` over the shots                  |

There is no `user_summary`, no `n_frames` and no `picks`: a video has `n = len(gtscore)` steps, one per second,
and the picks are every second (`picks = arange(n)`), as the official loader builds them.

Change-point convention (half-open shots with shared boundaries, `[start, end)` in seconds): the official loader
counts a shot's seconds as `end - start` (`model/mrhisum_dataset.py`), builds the machine summary by concatenating
that many seconds per shot (`model/utils/generate_summary.py`), and correlates that summary with `gt_summary`
element by element (`scipy.stats.spearmanr` in `model/utils/evaluation_metrics.py`), which raises unless the two
have the same length. So the official evaluation runs only when the shots cover `0 .. n` with each shot ending where
the next starts and the last ending at `n`. Every video is checked for exactly that (and for shots of at least one
second); the error names the file, the video and the first shot that breaks it. See docs/mrhisum.md.

The file is opened on first use in each process (so `torch.utils.data` worker processes each get their own
handle) and read one video at a time: the features of the whole benchmark (over 20 GB) never sit in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from semsum.atomic import atomic_path, read_json
from semsum.data.h5 import _Checker, natural_key
from semsum.errors import SemsumError

#: The label keys of the release; `features` comes from YouTube-8M.
LABEL_KEYS = ("gtscore", "change_points", "gt_summary")
FEATURES = "features"
SPLITS = ("train", "val", "test")


@dataclass
class MrHiSumVideo:
    """One video of a Mr.HiSum file, checked: `n` steps of one second each."""

    key: str
    gtscore: np.ndarray  # float32 [n] in 0..1
    change_points: np.ndarray  # int64 [n_shots, 2]: [start, end) seconds, end = next start, last end = n
    gt_summary: np.ndarray  # uint8 [n]
    features: np.ndarray | None = None  # [n, D], as stored (float32 in the release)

    @property
    def n(self) -> int:
        return len(self.gtscore)

    @property
    def picks(self) -> np.ndarray:
        """Every second, as the official loader builds them."""
        return np.arange(self.n, dtype=np.int64)

    @property
    def n_frame_per_seg(self) -> np.ndarray:
        """Seconds per shot as the official loader counts them: `end - start`."""
        return self.change_points[:, 1] - self.change_points[:, 0]


def check_change_points(cps: np.ndarray, n: int, path: Path | str = "<memory>", key: str = "") -> np.ndarray:
    """`cps` as int64 [n_shots, 2] if they follow the release's convention for a video of `n` seconds, else raise.

    The convention: shots start at 0, each ends where the next starts, each lasts at least one second (`end - start
    >= 1`, the official count), the last ends at `n`. The error names `path` and the video `key`.
    """
    c = _Checker(path, key)
    cps = c.array("change_points", np.asarray(cps), 2, integral=True)
    if cps.shape[1:] != (2,) or len(cps) == 0:
        raise c.fail("change_points", f"expected shape [n_shots, 2], got {cps.shape}")
    if cps[0, 0] != 0:
        raise c.fail("change_points", f"the first shot starts at {cps[0, 0]}, not 0")
    short = np.flatnonzero(cps[:, 1] - cps[:, 0] < 1)
    if len(short):
        i = int(short[0])
        raise c.fail("change_points", f"shot {i} [{cps[i, 0]}, {cps[i, 1]}] is empty (end - start < 1)")
    gaps = np.flatnonzero(cps[1:, 0] != cps[:-1, 1])
    if len(gaps):
        i = int(gaps[0])
        raise c.fail(
            "change_points",
            f"shot {i} ends at {cps[i, 1]} but shot {i + 1} starts at {cps[i + 1, 0]}: "
            "shots must share boundaries (the official loader counts end - start seconds)",
        )
    if cps[-1, 1] != n:
        raise c.fail("change_points", f"the last shot ends at {cps[-1, 1]}, not at the video's end {n} (len(gtscore))")
    return cps


def check_video(
    video: MrHiSumVideo,
    path: Path | str = "<memory>",
    dim: int | None = None,
    require_features: bool = False,
    features_key: str = FEATURES,
) -> MrHiSumVideo:
    """Check shapes, ranges, lengths and the change-point convention; raise one line naming the file and video
    (and `features_key`, the dataset the features were read from)."""
    c = _Checker(path, video.key)
    gtscore = c.array("gtscore", np.asarray(video.gtscore), 1)
    if len(gtscore) == 0:
        raise c.fail("gtscore", "is empty")
    if gtscore.min() < 0 or gtscore.max() > 1:
        raise c.fail("gtscore", f"values must lie in 0..1, found {gtscore.min():g}..{gtscore.max():g}")
    n = len(gtscore)
    summary = c.array("gt_summary", np.asarray(video.gt_summary), 1)
    c.length("gt_summary", summary, 0, n, "len(gtscore)")
    if not np.all((summary == 0) | (summary == 1)):
        raise c.fail("gt_summary", "values must be 0 or 1")
    video.change_points = check_change_points(video.change_points, n, path, video.key)
    video.gtscore, video.gt_summary = gtscore.astype(np.float32), summary.astype(np.uint8)
    if video.features is None:
        if require_features:
            raise c.fail(features_key, "missing (the release has none: add YouTube-8M features, see docs/mrhisum.md)")
        return video
    features = c.array(features_key, np.asarray(video.features), 2)
    c.length(features_key, features, 0, n, "len(gtscore)")
    if dim is not None and features.shape[1] != dim:
        raise c.fail(features_key, f"has width {features.shape[1]}, expected {dim}")
    video.features = features
    return video


class MrHiSumFile:
    """A Mr.HiSum HDF5 file read one video at a time; picklable, so DataLoader workers can share it.

    `features_key` names the feature dataset (`features` in the official schema; any other key of the groups, such
    as MLLM features added later, works the same way).
    """

    def __init__(self, path: str | os.PathLike[str], features_key: str = FEATURES):
        self.path = Path(path)
        self.features_key = features_key
        if not self.path.is_file():
            raise SemsumError(f"{self.path}: no such file")
        self._h5: h5py.File | None = None
        self._keys: list[str] | None = None

    def _file(self) -> h5py.File:
        if self._h5 is None:
            try:
                self._h5 = h5py.File(self.path, "r")
            except OSError as e:
                raise SemsumError(f"{self.path}: not a readable HDF5 file ({e})") from None
        return self._h5

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_h5": None}

    def detach(self) -> None:
        """Drop the handle without closing it: in a forked worker it is the parent's, which the worker must not use."""
        self._h5 = None

    def close(self) -> None:
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def __enter__(self) -> MrHiSumFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def keys(self) -> list[str]:
        """Video keys in natural order (`video_2` before `video_10`)."""
        if self._keys is None:
            self._keys = sorted(self._file().keys(), key=natural_key)
            if not self._keys:
                raise SemsumError(f"{self.path}: contains no videos")
        return list(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, key: str) -> bool:
        return key in self._file()

    def _group(self, key: str) -> h5py.Group:
        f = self._file()
        if key not in f or not isinstance(f[key], h5py.Group):
            raise SemsumError(f"{self.path}: no video {key!r}")
        return f[key]

    def _dataset(self, group: h5py.Group, key: str, name: str) -> h5py.Dataset:
        if name not in group or not isinstance(group[name], h5py.Dataset):
            raise SemsumError(f"{self.path}: {key}/{name}: missing")
        return group[name]

    def has_features(self, key: str) -> bool:
        return self.features_key in self._group(key)

    def length(self, key: str) -> int:
        """Seconds of video `key` (the length of its `gtscore`), read from the file's metadata only."""
        return int(self._dataset(self._group(key), key, "gtscore").shape[0])

    def feature_dim(self, key: str) -> int:
        """Width of video `key`'s features, from the metadata only."""
        shape = self._dataset(self._group(key), key, self.features_key).shape
        if len(shape) != 2:
            raise SemsumError(f"{self.path}: {key}/{self.features_key}: expected 2-D, got shape {shape}")
        return int(shape[1])

    def read(self, key: str, features: bool = True, dim: int | None = None) -> MrHiSumVideo:
        """Video `key`, checked; with `features`, its features too (required then, of width `dim` if given)."""
        g = self._group(key)
        labels = {name: self._dataset(g, key, name)[()] for name in LABEL_KEYS}
        feats = self._dataset(g, key, self.features_key)[()] if features else None
        video = MrHiSumVideo(key, labels["gtscore"], labels["change_points"], labels["gt_summary"], feats)
        return check_video(video, self.path, dim, require_features=features, features_key=self.features_key)


def write_with_arrays(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    videos: Iterable[tuple[str, Mapping[str, np.ndarray]]],
    attrs: Mapping[str, Any] | None = None,
) -> None:
    """Write `out` atomically: the groups of the Mr.HiSum file `source` for `videos` (key, arrays), in that order,
    each with its arrays added (e.g. `features_mllm`, `score_mllm`), and the file attributes `attrs`.

    The schema's way of growing: keys are added to the official groups, nothing else changes. One video's arrays are
    in memory at a time (`videos` may be a generator)."""
    with MrHiSumFile(source) as src, atomic_path(out) as tmp, h5py.File(tmp, "w") as dst:
        for key, arrays in videos:
            group = src._group(key)
            src._file().copy(group, dst, name=key)
            for name, values in arrays.items():
                if name in dst[key]:
                    del dst[key][name]
                dst[key].create_dataset(name, data=values)
        dst.attrs.update(dict(attrs or {}))


def is_mrhisum_file(path: str | os.PathLike[str]) -> bool:
    """Whether an HDF5 file is in the Mr.HiSum schema (its videos have `gt_summary` and no `picks`), not eccv16."""
    try:
        with h5py.File(path, "r") as f:
            first = next((f[k] for k in f if isinstance(f[k], h5py.Group)), None)
            return first is not None and "gt_summary" in first and "picks" not in first
    except OSError:
        return False


def describe(path: str | os.PathLike[str]) -> str:
    """One line on a Mr.HiSum file for `semsum data check`: videos, and whether features were added."""
    with MrHiSumFile(path) as f:
        keys = f.keys()
        with_features = sum(f.has_features(k) for k in keys)
    if with_features == len(keys):
        return f"{len(keys):,} videos with features"
    return f"{len(keys):,} videos, {with_features:,} with features (add YouTube-8M features: docs/mrhisum.md)"


@dataclass(frozen=True)
class MrHiSumSplit:
    """The official single split: train, validation (model selection) and test keys."""

    train_keys: tuple[str, ...]
    val_keys: tuple[str, ...]
    test_keys: tuple[str, ...]

    def keys(self, which: str) -> tuple[str, ...]:
        if which not in SPLITS:
            raise SemsumError(f"unknown split part {which!r}: choose one of {', '.join(SPLITS)}")
        return getattr(self, f"{which}_keys")


def load_split(path: str | os.PathLike[str]) -> MrHiSumSplit:
    """Read the official split file (`{train_keys, val_keys, test_keys}`), checking that the parts are disjoint."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise SemsumError(f"{path}: expected an object with train_keys, val_keys and test_keys")
    parts = {}
    for name in SPLITS:
        keys = data.get(f"{name}_keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise SemsumError(f"{path}: {name}_keys missing or not a list of video keys")
        parts[name] = tuple(keys)
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1 :]:
            both = set(parts[a]) & set(parts[b])
            if both:
                raise SemsumError(f"{path}: {min(both, key=natural_key)} is in both {a}_keys and {b}_keys")
    return MrHiSumSplit(parts["train"], parts["val"], parts["test"])
