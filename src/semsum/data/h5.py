"""The eccv16 HDF5 schema that the whole field reads and writes, validated on read, written atomically.

One group per video (`video_1`, `video_2`, ...), each with:

| key               | shape                   | meaning                                             |
|-------------------|-------------------------|-----------------------------------------------------|
| `features`        | [n_steps, D] float      | one feature vector per sampled frame (GoogLeNet pool5) |
| `features_*`      | [n_steps, D'] float     | extra feature keys (`features_mllm`, `features_mapped`) |
| `gtscore`         | [n_steps] float         | ground-truth importance per sampled frame            |
| `user_summary`    | [n_users, n_frames]     | each annotator's 0/1 keyshot summary                 |
| `change_points`   | [n_segments, 2] int     | inclusive [start, end] frame of each shot            |
| `n_frame_per_seg` | [n_segments] int        | frames per shot                                      |
| `n_frames`        | scalar int              | frames in the original video                         |
| `picks`           | [n_steps] int           | frame index of each sampled frame                    |
| `video_name`      | scalar string, optional | original video name                                  |

Any other dataset in a group (`gtsummary`, `n_steps`, `fps`, ...) and all HDF5 attributes are kept and
written back unchanged, so files written here stay readable by every existing summarizer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semsum.atomic import atomic_path
from semsum.data.store import Store
from semsum.errors import SemsumError

if TYPE_CHECKING:  # imported where a file is read or written: summarize needs STRIDE alone, h5py costs 50 ms
    import h5py

FEATURE_PREFIX = "features"
#: The benchmarks' sampling stride: every 15th frame (2 fps at 30 fps).
STRIDE = 15
#: Keys every benchmark file (eccv16_dataset_*_google_pool5.h5) has.
BENCHMARK_KEYS: tuple[str, ...] = (
    "features",
    "gtscore",
    "user_summary",
    "change_points",
    "n_frame_per_seg",
    "n_frames",
    "picks",
)
#: Keys a file of loose videos (no annotations) must have.
MINIMAL_KEYS: tuple[str, ...] = ("n_frames", "picks")

_OPTIONAL_FIELDS = ("gtscore", "user_summary", "change_points", "n_frame_per_seg")


@dataclass
class VideoData:
    """One video's group of an eccv16-schema file."""

    key: str
    n_frames: int
    picks: np.ndarray
    features: dict[str, np.ndarray] = field(default_factory=dict)
    gtscore: np.ndarray | None = None
    user_summary: np.ndarray | None = None
    change_points: np.ndarray | None = None
    n_frame_per_seg: np.ndarray | None = None
    video_name: str | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        return len(self.picks)

    def feature_matrix(self, keys: Sequence[str], source: str = "") -> np.ndarray:
        """The named feature keys concatenated along the feature axis, as float32 [n_steps, sum(D)]."""
        missing = [k for k in keys if k not in self.features]
        if missing:
            where = f"{source}: " if source else ""
            have = ", ".join(sorted(self.features)) or "none"
            raise SemsumError(f"{where}{self.key} has no feature key {missing[0]!r} (has: {have})")
        return np.concatenate([self.features[k] for k in keys], axis=1).astype(np.float32, copy=False)


@dataclass
class Dataset:
    """A whole eccv16-schema file: videos in file order plus file-level attributes."""

    videos: dict[str, VideoData]
    attrs: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def __getitem__(self, key: str) -> VideoData:
        try:
            return self.videos[key]
        except KeyError:
            raise SemsumError(f"{self.path or 'dataset'}: no video {key!r}") from None

    def __iter__(self):
        return iter(self.videos.values())

    def __len__(self) -> int:
        return len(self.videos)

    def keys(self) -> list[str]:
        return list(self.videos)


def natural_key(name: str) -> tuple:
    """Sort `video_2` before `video_10`."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


class _Checker:
    """Shape, dtype and NaN checks that name the file and the key in their one-line error."""

    def __init__(self, path: Path | str, key: str):
        self.where = f"{path}: {key}"

    def fail(self, name: str, problem: str) -> SemsumError:
        return SemsumError(f"{self.where}/{name}: {problem}")

    def array(self, name: str, value: np.ndarray, ndim: int, *, integral: bool = False) -> np.ndarray:
        if value.ndim != ndim:
            raise self.fail(name, f"expected {ndim}-D, got shape {value.shape}")
        if not (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
            raise self.fail(name, f"expected numbers, got dtype {value.dtype}")
        if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
            raise self.fail(name, f"contains {int(np.sum(~np.isfinite(value)))} NaN or infinite values")
        if integral:
            if np.issubdtype(value.dtype, np.floating) and np.any(value != np.round(value)):
                raise self.fail(name, "expected whole numbers")
            value = value.astype(np.int64)
        return value

    def length(self, name: str, value: np.ndarray, axis: int, expected: int, what: str) -> None:
        if value.shape[axis] != expected:
            raise self.fail(name, f"has {value.shape[axis]} along axis {axis}, expected {what}={expected}")


def _has(video: VideoData, name: str) -> bool:
    if name.startswith(FEATURE_PREFIX):
        return name in video.features
    if name in MINIMAL_KEYS:
        return True
    if name in (*_OPTIONAL_FIELDS, "video_name"):
        return getattr(video, name) is not None
    return name in video.extra


def validate(video: VideoData, path: Path | str = "<memory>", require: Iterable[str] = MINIMAL_KEYS) -> None:
    """Raise SemsumError naming the file and key if `video` breaks the schema or lacks a required key."""
    c = _Checker(path, video.key)
    for name in require:
        if not _has(video, name):
            raise c.fail(name, "missing")
    if video.n_frames <= 0:
        raise c.fail("n_frames", f"must be positive, got {video.n_frames}")
    video.picks = c.array("picks", np.asarray(video.picks), 1, integral=True)
    if video.n_steps == 0:
        raise c.fail("picks", "is empty")
    if np.any(np.diff(video.picks) <= 0) or video.picks[0] < 0 or video.picks[-1] >= video.n_frames:
        raise c.fail("picks", f"must increase strictly within [0, n_frames={video.n_frames})")
    for name, value in video.features.items():
        video.features[name] = c.array(name, np.asarray(value), 2)
        c.length(name, value, 0, video.n_steps, "n_steps")
    if video.gtscore is not None:
        video.gtscore = c.array("gtscore", np.asarray(video.gtscore), 1)
        c.length("gtscore", video.gtscore, 0, video.n_steps, "n_steps")
    if video.user_summary is not None:
        video.user_summary = c.array("user_summary", np.asarray(video.user_summary), 2)
        c.length("user_summary", video.user_summary, 1, video.n_frames, "n_frames")
    if video.change_points is not None:
        cps = c.array("change_points", np.asarray(video.change_points), 2, integral=True)
        if cps.shape[1] != 2 or len(cps) == 0:
            raise c.fail("change_points", f"expected shape [n_segments, 2], got {cps.shape}")
        if np.any(cps[:, 0] > cps[:, 1]) or cps.min() < 0 or cps.max() >= video.n_frames:
            raise c.fail("change_points", f"segments must satisfy 0 <= start <= end < n_frames={video.n_frames}")
        video.change_points = cps
    if video.n_frame_per_seg is not None:
        nfps = c.array("n_frame_per_seg", np.asarray(video.n_frame_per_seg), 1, integral=True)
        if video.change_points is not None:
            c.length("n_frame_per_seg", nfps, 0, len(video.change_points), "n_segments")
        video.n_frame_per_seg = nfps


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "SO" and value.size == 1:
        return _decode(value.reshape(-1)[0])
    return value


def _read_group(group: h5py.Group, key: str, path: Path) -> VideoData:
    import h5py

    c = _Checker(path, key)
    arrays: dict[str, np.ndarray] = {}
    for name, item in group.items():
        if not isinstance(item, h5py.Dataset):
            raise c.fail(name, "expected a dataset, found a group")
        arrays[name] = item[()]
    for name in MINIMAL_KEYS:
        if name not in arrays:
            raise c.fail(name, "missing")
    n_frames = np.asarray(arrays.pop("n_frames"))
    if n_frames.size != 1 or not np.issubdtype(n_frames.dtype, np.number):
        raise c.fail("n_frames", f"expected one number, got {n_frames!r}")
    video = VideoData(key=key, n_frames=int(n_frames.reshape(-1)[0]), picks=arrays.pop("picks"))
    for name in list(arrays):
        if name.startswith(FEATURE_PREFIX):
            video.features[name] = arrays.pop(name)
    for name in _OPTIONAL_FIELDS:
        if name in arrays:
            setattr(video, name, arrays.pop(name))
    if "video_name" in arrays:
        video.video_name = str(_decode(arrays.pop("video_name")))
    video.extra = arrays
    video.attrs = {k: _decode(v) for k, v in group.attrs.items()}
    return video


def load_dataset(
    path: str | os.PathLike[str],
    require: Iterable[str] = MINIMAL_KEYS,
    keys: Iterable[str] | None = None,
) -> Dataset:
    """Read and validate an eccv16-schema file (all videos, or only `keys`)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise SemsumError(f"{path}: no such file")
    require = tuple(require)
    try:
        with h5py.File(path, "r") as f:
            wanted = sorted(f.keys(), key=natural_key) if keys is None else list(keys)
            videos = {}
            for key in wanted:
                if key not in f:
                    raise SemsumError(f"{path}: no video {key!r}")
                if not isinstance(f[key], h5py.Group):
                    raise SemsumError(f"{path}: {key}: expected a video group, found a dataset")
                video = _read_group(f[key], key, path)
                validate(video, path, require)
                videos[key] = video
            attrs = {k: _decode(v) for k, v in f.attrs.items()}
    except OSError as e:
        raise SemsumError(f"{path}: not a readable HDF5 file ({e})") from None
    if not videos:
        raise SemsumError(f"{path}: contains no videos")
    return Dataset(videos=videos, attrs=attrs, path=path)


def _write_group(f: h5py.File, video: VideoData) -> None:
    g = f.create_group(video.key)
    for name, value in video.features.items():
        g.create_dataset(name, data=np.asarray(value))
    g.create_dataset("n_frames", data=np.int64(video.n_frames))
    g.create_dataset("picks", data=np.asarray(video.picks))
    for name in _OPTIONAL_FIELDS:
        value = getattr(video, name)
        if value is not None:
            g.create_dataset(name, data=np.asarray(value))
    if video.video_name is not None:
        g.create_dataset("video_name", data=video.video_name.encode("utf-8"))
    for name, value in video.extra.items():
        g.create_dataset(name, data=value)
    for name, value in video.attrs.items():
        g.attrs[name] = value


def save_dataset(path: str | os.PathLike[str], dataset: Dataset | Iterable[VideoData]) -> None:
    """Validate every video and write the file atomically: a reader never sees half a file."""
    import h5py

    if not isinstance(dataset, Dataset):
        dataset = Dataset(videos={v.key: v for v in dataset})
    for video in dataset:
        validate(video, path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name, value in dataset.attrs.items():
            f.attrs[name] = value
        for video in dataset:
            _write_group(f, video)


class PartsWriter:
    """Build a dataset one video at a time so a killed job resumes where it stopped.

    Each finished video is one entry of a `Store` in `OUT.h5.parts/` (its file, then its completion marker);
    `finish` merges them into `OUT.h5` (atomically) and removes the folder. A finished entry is a done video.
    """

    PART = "video.h5"

    def __init__(self, out: str | os.PathLike[str]):
        self.out = Path(out)
        self.parts = self.out.with_name(self.out.name + ".parts")
        self.store = Store(self.parts)
        self.parts.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _key(key: str) -> str:
        return key.replace("/", "__")

    def done(self, key: str) -> bool:
        return self.store.finished(self._key(key))

    def put(self, video: VideoData, meta: dict[str, Any] | None = None) -> None:
        """Save a finished video as its part; `meta` is recorded with it (e.g. how long it took)."""
        key = self._key(video.key)
        save_dataset(self.store.begin(key) / self.PART, [video])
        self.store.finish(key, {"key": video.key, **(meta or {})})

    def finish(self, order: Sequence[str], attrs: dict[str, Any] | None = None, keep: bool = False) -> Dataset:
        """Merge the parts of `order` into `out`; `keep` the folder (a re-run then redoes only the missing videos)."""
        missing = [k for k in order if not self.done(k)]
        if missing:
            raise SemsumError(f"{self.out}: videos not finished yet: {', '.join(missing)}")
        dataset = Dataset(videos={k: self.load(k) for k in order}, attrs=dict(attrs or {}), path=self.out)
        save_dataset(self.out, dataset)
        if not keep:
            self.remove()
        return dataset

    def load(self, key: str) -> VideoData:
        """The finished video `key`, read from its part."""
        return load_dataset(self.store.folder(self._key(key)) / self.PART).videos[key]

    def remove(self) -> None:
        """Delete the parts folder (once its videos are merged)."""
        self.store.remove()
