"""Which benchmark an eccv16 file holds, from the file itself rather than from an attribute someone wrote.

The field's released files (`eccv16_dataset_{summe,tvsum}_google_pool5.h5`) carry no `dataset` attribute, and
files derived from them (MLLM features added, keys renamed) no longer hash like the release. So a file is:

1. the benchmark whose released file it is, by sha256 (hashed only when its size is the release's), else
2. the benchmark whose frame counts its videos have: every key `video_i` with exactly the `n_frames` of that
   benchmark's i-th video. A file holding only some of a benchmark's videos (`semsum dataset build` on a few
   SumMe videos, a file cut down for a test) counts as that benchmark; a single video whose key or frame count
   differs makes the whole file unrecognised, since it is then not (only) the benchmark's data. The two
   benchmarks share no (key, frame count) pair, so no file matches both.

The frame counts are the annotations' own (SumMe GT `nFrames`, TVSum annotation lengths; a test checks them
against the files), so a file is recognised even where the annotations are not installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from semsum.data import paths
from semsum.data.h5 import Dataset

NAMES = {"summe": "SumMe", "tvsum": "TVSum"}
RELEASES = {"summe": paths.SUMME_H5, "tvsum": paths.TVSUM_H5}
#: n_frames of each benchmark's videos in eccv16 key order (`video_1` first).
FRAME_COUNTS: dict[str, tuple[int, ...]] = {
    "summe": (
        4494, 4729, 3341, 3064, 5131, 5075, 9046, 1286, 4971, 9721, 1612, 950, 3187,
        4608, 6096, 3065, 6683, 2221, 1751, 3863, 9672, 5178, 4382, 2574, 3120,
    ),
    "tvsum": (
        10597, 4688, 14019, 7210, 3327, 9671, 4468, 9870, 7010, 3995, 4700, 13511, 3532, 4853, 4324, 9534, 5846,
        9731, 5742, 6241, 19406, 5661, 5631, 4356, 6580, 3312, 10917, 8281, 17527, 4005, 5412, 3802, 13365, 3705,
        4463, 7959, 4009, 2941, 4165, 11414, 8073, 5939, 4931, 4304, 2500, 15307, 4740, 3896, 5971, 6912,
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Recognition:
    """The benchmark behind a file (`summe`, `tvsum`, or None) and how that was decided, in words."""

    dataset: str | None
    how: str


def _benchmark_frames(dataset: str, key: str) -> int | None:
    """n_frames of `dataset`'s video under eccv16 key `key`, None when the benchmark has no such key."""
    m = re.fullmatch(r"video_(\d+)", key)
    counts = FRAME_COUNTS[dataset]
    return counts[int(m.group(1)) - 1] if m and 1 <= int(m.group(1)) <= len(counts) else None


def _release(path: Path | None) -> str | None:
    """The benchmark whose released eccv16 file `path` is, by sha256 (hashed once, and only at a release's size)."""
    if path is None or not path.is_file():
        return None
    size = path.stat().st_size
    candidates = {d: r for d, r in RELEASES.items() if r.size == size}
    if not candidates:
        return None
    digest = paths.sha256_file(path)
    return next((d for d, r in candidates.items() if r.sha256 == digest), None)


def recognise(ds: Dataset) -> Recognition:
    """The benchmark `ds` holds: by its file's sha256 when it is a known release, else by its videos' frame counts."""
    dataset = _release(Path(ds.path) if ds.path else None)
    if dataset is not None:
        return Recognition(dataset, f"sha256 of the released {RELEASES[dataset].relpath}")
    counts = {v.key: v.n_frames for v in ds}
    for dataset, frames in FRAME_COUNTS.items():
        if counts and all(_benchmark_frames(dataset, k) == n for k, n in counts.items()):
            which = "all" if len(counts) == len(frames) else f"{len(counts)} of the"
            return Recognition(dataset, f"frame counts of {which} {len(frames)} {NAMES[dataset]} videos")
    return Recognition(None, "not a released file, and its frame counts are neither SumMe's nor TVSum's")
