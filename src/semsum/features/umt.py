"""Real I3D, audio and title features of all 50 TVSum videos (UMT's release) as an eccv16-schema file.

Source: `extra/umt-tvsum/tvsum_umt_features.h5` under the data folder (see shared/data/PROVENANCE.md): one group
per YouTube id, one row per 2-second clip (row i covers seconds [2i, 2i+2)). The import writes, per video, under
the eccv16 key of the official TVSum order (`video_1` = AwmHb44_ouw), so every TVSum split file applies:

- `picks`: each clip's first frame, floor(2 i fps): one step per 2 s (0.5 steps/s, not the eccv16 2 steps/s);
- `features` = I3D RGB || flow (2048-d), `features_rgb` (1024-d), `features_audio` (PANN, 2048-d) and
  `features_title` (the title's CLIP text vector, 512-d, repeated on every step so that `--features-key`
  concatenation works unchanged; it is constant within a video);
- `gtscore`: the mean annotator score (1..5) over each clip's frames, from the official per-frame annotations;
- `change_points` (see `SHOT_METHODS`; `uniform` by default, measured in benchmarks/umt_shots.py) and
  `n_frame_per_seg`;
- `user_summary`: each annotator's per-frame scores through the 15 % keyshot step over those shots, exactly as
  the eccv16 TVSum file's were made (`semsum.summary.keyshots.user_summaries`).

Streams of one video that differ in length are cropped to the shortest, and the import says so per video.
The file's `clip_scores` are checked equal to the annotations at each clip's centre frame before anything
is written, so a file that does not line up with the annotations is refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import h5py
import numpy as np

from semsum.data import paths
from semsum.data.annotations import Annotation, load_annotations
from semsum.data.h5 import Dataset, VideoData, save_dataset
from semsum.errors import SemsumError
from semsum.summary.keyshots import user_summaries
from semsum.summary.kts import kts
from semsum.summary.shots import boundaries_to_shots

CLIP_SECONDS = 2.0
#: The streams of a source group, by the feature key each one feeds.
STREAMS = {"rgb": "i3d_rgb", "flow": "i3d_flow", "audio": "audio", "scores": "clip_scores"}
#: How shots are made at 0.5 steps/s: `uniform:K` = every K clips (2K s); `kts:M` = KTS on RGB || flow with
#: segments of at most M clips. benchmarks/umt_shots.py measures them against the real annotations.
SHOT_METHODS = ("uniform:1", "uniform:2", "uniform:3", "kts:8", "kts:15", "kts:30")
DEFAULT_SHOTS = "uniform:2"
Note = Callable[[str], None]


def clip_picks(n_clips: int, fps: float) -> np.ndarray:
    """First frame of each 2-second clip: floor(2 i fps)."""
    return np.floor(np.arange(n_clips) * CLIP_SECONDS * fps + 1e-6).astype(np.int64)


def make_shots(method: str, features: np.ndarray, picks: np.ndarray, n_frames: int) -> np.ndarray:
    """Inclusive [start, end] frame shots of one video by `method` (one of `SHOT_METHODS`' forms)."""
    kind, _, arg = method.partition(":")
    if kind not in ("uniform", "kts") or not arg.isdigit() or int(arg) < 1:
        raise SemsumError(f"unknown shot method {method!r}: use uniform:K or kts:M (e.g. {DEFAULT_SHOTS})")
    size = int(arg)
    boundaries = np.arange(size, len(picks), size) if kind == "uniform" else kts(features, max_segment=size)
    return boundaries_to_shots(boundaries, picks, n_frames)


def _crop_length(group: h5py.Group, ann: Annotation, fps: float, note: Note) -> int:
    """Rows to keep: the shortest stream, and no clip starting past the video's last frame."""
    lengths = {name: group[source].shape[0] for name, source in STREAMS.items()}
    in_video = int(np.sum(clip_picks(max(lengths.values()), fps) < ann.n_frames))
    n = min(*lengths.values(), in_video)
    if len(set(lengths.values())) > 1 or in_video < max(lengths.values()):
        rows = ", ".join(f"{k} {v}" for k, v in lengths.items())
        inside = f"{in_video} clips start inside the video"
        note(f"{ann.key} ({ann.name}): streams have {rows} rows, {inside}: cropped to {n}")
    if n < 2:
        raise SemsumError(f"{ann.name}: only {n} clip(s) after cropping")
    return n


def _check_scores(clip_scores: np.ndarray, ann: Annotation, fps: float, source: Path) -> None:
    centre = np.minimum(np.floor((2 * np.arange(len(clip_scores)) + 1) * fps).astype(np.int64), ann.n_frames - 1)
    if not np.array_equal(clip_scores.T.astype(np.float64), ann.user_scores[:, centre]):
        raise SemsumError(f"{source}: {ann.name}: clip_scores differ from the TVSum annotations at the clip centres")


def _video(group: h5py.Group, ann: Annotation, source: Path, shots: str, note: Note) -> VideoData:
    fps = float(group.attrs["fps"])
    n = _crop_length(group, ann, fps, note)
    rgb, flow, audio = (np.asarray(group[STREAMS[k]][:n], dtype=np.float32) for k in ("rgb", "flow", "audio"))
    _check_scores(group["clip_scores"][:n], ann, fps, source)
    picks = clip_picks(n, fps)
    ends = np.append(picks[1:], ann.n_frames)
    csum = np.concatenate([[0.0], np.cumsum(ann.gt_score)])
    features = np.concatenate([rgb, flow], axis=1)
    cps = make_shots(shots, features, picks, ann.n_frames)
    title = np.asarray(group["title_clip_text"], dtype=np.float32)
    return VideoData(
        key=ann.key,
        n_frames=ann.n_frames,
        picks=picks,
        features={
            "features": features,
            "features_rgb": rgb,
            "features_audio": audio,
            "features_title": np.repeat(title[None], n, axis=0),
        },
        gtscore=((csum[ends] - csum[picks]) / (ends - picks)).astype(np.float32),
        user_summary=user_summaries(ann.user_scores, cps, binary=False),
        change_points=cps,
        n_frame_per_seg=cps[:, 1] - cps[:, 0] + 1,
        video_name=ann.name,
        attrs={"fps": fps, "title": str(group.attrs.get("title", "")), "category": ann.category or ""},
    )


def default_source(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the UMT feature file lives in the data folder."""
    return paths.data_dir(data_dir) / paths.UMT_TVSUM.relpath


def import_umt_tvsum(
    out: str | os.PathLike[str],
    source: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    keys: Iterable[str] | None = None,
    shots: str = DEFAULT_SHOTS,
    note: Note = print,
) -> Dataset:
    """Write the eccv16-schema file `out` from the UMT TVSum features and the official annotations.

    `keys` (eccv16 keys, default all 50 in order) imports a subset; `note` receives one line per cropped video.
    The file is written atomically, after every video was read and checked.
    """
    source = Path(source) if source is not None else default_source(data_dir)
    if not source.is_file():
        raise SemsumError(f"{source}: no such file; {paths.WHERE_HINT}")
    annotations = load_annotations("tvsum", data_dir)
    wanted = list(annotations) if keys is None else list(keys)
    videos = {}
    try:
        with h5py.File(source, "r") as f:
            for key in wanted:
                if key not in annotations:
                    raise SemsumError(f"TVSum has no video {key!r} (video_1..video_{len(annotations)})")
                ann = annotations[key]
                if ann.name not in f:
                    raise SemsumError(f"{source}: no group for {ann.name} ({key})")
                videos[key] = _video(f[ann.name], ann, source, shots, note)
    except (OSError, KeyError) as e:
        raise SemsumError(f"{source}: not the UMT TVSum feature file ({e.__class__.__name__}: {e})") from None
    attrs = {
        "source": str(source),
        "features_layout": "features = i3d_rgb || i3d_flow; features_title = CLIP title vector repeated per step",
        "step_seconds": CLIP_SECONDS,
        "shots": shots,
    }
    dataset = Dataset(videos=videos, attrs=attrs, path=Path(out))
    save_dataset(out, dataset)
    return dataset
