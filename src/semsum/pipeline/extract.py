"""MLLM extraction runs (`semsum extract mllm`): which video file belongs to which key, frames at the file's
picks, and resumable, atomic extraction that copies every key and adds `features_mllm` (and `score_mllm`)."""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from semsum.data.h5 import STRIDE, Dataset, PartsWriter, VideoData, load_dataset
from semsum.data.mrhisum import MrHiSumFile, write_with_arrays
from semsum.errors import SemsumError, renamed_keywords
from semsum.features.encoders import make_encoder
from semsum.features.mllm import FEATURE_KEY, SCORE_KEY, MLLMEmbedder
from semsum.pipeline.executors import Executor, LocalExecutor, Merge, run_videos
from semsum.summary.keyshots import frame_scores
from semsum.video.decode import VIDEO_SUFFIXES, iter_sampled_frames, probe


@dataclass(frozen=True)
class ExtractJob:
    """One video of an extraction run: its group (copied) and the file its frames come from. Without a group
    (loose videos) the worker probes the file for one, sampled every `stride` frames: a bad file fails alone."""

    key: str
    path: Path
    video: VideoData | None = None
    stride: int = STRIDE


def embed_video(
    job: ExtractJob,
    embedder: MLLMEmbedder,
    frames_of: Callable[[VideoData], Iterable[np.ndarray]],
    key: str,
    store_dtype: str,
) -> VideoData:
    """The job's group plus its MLLM embeddings under `key` (and zero-shot scores). Every executor calls this."""
    video = job.video if job.video is not None else loose_video(job.path, job.stride)
    result = embedder.embed_stream(frames_of(video))
    if len(result.embeddings) != video.n_steps:
        raise SemsumError(
            f"{video.key}: got {len(result.embeddings)} sampled frames from the video, picks need {video.n_steps}"
        )
    extra = dict(video.extra)
    if result.scores is not None:
        extra[SCORE_KEY] = result.scores
    features = {**video.features, key: result.embeddings.astype(store_dtype)}
    return dataclasses.replace(video, features=features, extra=extra)


@dataclass(frozen=True)
class MllmWork:
    """What an extraction does to each video, loadable in any process: the loaded `embedder` (local runs), or
    `model_options` of the `videollava` encoder, by dest, and its `device` (each Ray actor loads its own through
    `make_encoder`, as `--encoder videollava` does). `frames_of` must be picklable for Ray (`FramesAtPicks`)."""

    frames_of: Callable[[VideoData], Iterable[np.ndarray]]
    key: str = FEATURE_KEY
    store_dtype: str = "float32"
    embedder: MLLMEmbedder | None = None
    model_options: dict[str, Any] = field(default_factory=dict)

    def load(self) -> tuple[Callable[[ExtractJob], VideoData], dict[str, Any]]:
        embedder = self.embedder or make_encoder("videollava", **self.model_options)
        meta = {**embedder.metadata(), "mllm_feature_key": self.key, "mllm_store_dtype": self.store_dtype}
        fn = functools.partial(
            embed_video, embedder=embedder, frames_of=self.frames_of, key=self.key, store_dtype=self.store_dtype
        )
        return fn, meta


@dataclass(frozen=True)
class FramesAtPicks:
    """`frames_of` for videos on disk: the frames of each key's file at its picks (picklable, unlike a lambda)."""

    paths: dict[str, Path]

    def __call__(self, video: VideoData) -> Iterator[np.ndarray]:
        return frames_at_picks(self.paths[video.key], video.picks, video.n_frames)


def extract_to_h5(
    embedder: MLLMEmbedder | None,
    videos: Sequence[VideoData | ExtractJob],
    frames_of: Callable[[VideoData], Iterable[np.ndarray]],
    out: str | Path,
    *,
    attrs: dict[str, Any] | None = None,
    replace_features: bool = False,
    store_dtype: str = "float32",
    progress: bool = False,
    executor: Executor | None = None,
    model_options: dict[str, Any] | None = None,
    paths: dict[str, Path] | None = None,
    merge: Merge | None = None,
) -> Dataset:
    """Write `videos` (every key kept) plus their MLLM embeddings to `out`, one resumable part per video.

    `frames_of(video)` yields the video's sampled frames (aligned with its `picks`) in batches. Embeddings go to
    `features_mllm` (or `features` with `replace_features`), zero-shot scores to `score_mllm`; the settings
    are file attributes (`mllm_*`). A killed run resumes with the videos already finished; parts made with other
    settings are refused rather than mixed. A video that fails is named in `out`'s report and the others are written
    (then `VideosFailed`). `executor` (default local) runs the work; without `embedder`, each worker loads one from
    `model_options`. `paths` (key -> file) name the videos in failures. `progress` shows a bar over videos.
    `videos` may also be `ExtractJob`s (loose videos, probed where they are processed). `merge` writes `out` from the
    finished videos in another schema than eccv16 (`MrHiSumMerge`).
    """
    if store_dtype not in ("float32", "float16"):
        raise SemsumError(f"store dtype {store_dtype!r}: expected float32 or float16")
    key = "features" if replace_features else FEATURE_KEY
    work = MllmWork(frames_of, key, store_dtype, embedder, dict(model_options or {}))
    paths = paths or {}
    jobs = [
        v if isinstance(v, ExtractJob) else ExtractJob(v.key, Path(paths.get(v.key, v.video_name or v.key)), v)
        for v in videos
    ]
    dataset = run_videos(jobs, work, out, executor or LocalExecutor(), attrs, progress, "mllm.json", merge)
    if dataset is None:  # no video at all: run_videos raised VideosFailed
        raise SemsumError(f"{out}: no video was written")
    return dataset


def _close(a: int, b: int) -> bool:
    return abs(a - b) <= max(2, round(0.02 * b))


def frames_at_picks(
    path: str | Path, picks: np.ndarray, n_frames: int | None = None, batch_size: int = 16
) -> Iterator[np.ndarray]:
    """Decode `path` and yield the frames at `picks` (decoded-frame indices, increasing) in uint8 RGB batches.

    Decodes on the coarsest grid that contains every pick (the gcd of the picks: 15 for eccv16 files). Raises
    SemsumError if the video ends before the last pick, or decodes to a frame count far from `n_frames` (the
    sign of a wrong video for this key).
    """
    picks = np.asarray(picks, dtype=np.int64)
    sampler = iter_sampled_frames(path, stride=max(1, int(np.gcd.reduce(picks))), batch_size=batch_size)
    found = 0
    for got, frames in sampler:
        keep = np.isin(got, picks)
        found += int(keep.sum())
        if keep.any():
            yield frames[keep]
    if found != len(picks):
        raise SemsumError(f"{path}: decodes to {sampler.n_decoded} frames, but the picks reach frame {picks[-1]}")
    if n_frames is not None and sampler.n_decoded is not None and not _close(sampler.n_decoded, n_frames):
        raise SemsumError(f"{path}: decodes to {sampler.n_decoded} frames, expected n_frames={n_frames}")


def read_mapping(path: str | Path) -> dict[str, str]:
    """HDF5 key -> video file, from JSON (`{"video_1": "Air_Force_One.mp4", ...}`) or CSV (`key,file` rows)."""
    path = Path(path)
    if not path.is_file():
        raise SemsumError(f"{path}: no such mapping file")
    text = path.read_text("utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise SemsumError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise SemsumError(f"{path}: expected a JSON object of key -> video file")
        return {str(k): v for k, v in data.items()}
    rows = [r for r in csv.reader(text.splitlines()) if r and not r[0].startswith("#")]
    if rows and [c.strip().lower() for c in rows[0][:2]] in (["key", "file"], ["key", "video"]):
        rows = rows[1:]
    bad = [i for i, r in enumerate(rows) if len(r) != 2]
    if bad:
        raise SemsumError(f"{path}: row {bad[0] + 1}: expected two columns `key,file`")
    return {k.strip(): v.strip() for k, v in rows}


def resolve_videos(dataset: Dataset, videos_dir: str | Path, mapping: str | Path | None = None) -> dict[str, Path]:
    """The video file of every key: from `mapping` if given, else the group's `video_name` found in `videos_dir`.

    `video_name` matches a file name exactly or its stem with a common video suffix (`Air_Force_One` ->
    `Air_Force_One.mp4`). Mapping entries are paths relative to `videos_dir` (or absolute).
    """
    root = Path(videos_dir)
    if not root.is_dir():
        raise SemsumError(f"{root}: no such videos folder")
    table = read_mapping(mapping) if mapping is not None else None
    files = [p for p in root.iterdir() if p.is_file()]
    found: dict[str, Path] = {}
    for video in dataset:
        where = f"{dataset.path}: {video.key}"
        if table is not None:
            if video.key not in table:
                raise SemsumError(f"{mapping}: no entry for {video.key}")
            path = root / table[video.key]
            if not path.is_file():
                raise SemsumError(f"{where}: mapped video {path} not found")
        elif video.video_name:
            name = video.video_name
            hits = [p for p in files if p.name == name] or [
                p for p in files if p.stem == name and p.suffix.lower() in VIDEO_SUFFIXES
            ]
            if len(hits) != 1:
                what = "no file" if not hits else f"{len(hits)} files"
                raise SemsumError(f"{where}: {what} named {name!r} in {root}; pass --mapping FILE to say which")
            path = hits[0]
        else:
            raise SemsumError(f"{where}: has no video_name; pass --mapping FILE (JSON {{key: file}} or CSV key,file)")
        found[video.key] = path
    return found


def loose_video(path: str | Path, stride: int = STRIDE) -> VideoData:
    """The eccv16 group of a video with no annotations: exact n_frames (decoded), picks every `stride`, fps."""
    path = Path(path)
    info = probe(path, exact=True)
    return VideoData(
        key=path.stem,
        n_frames=info.n_frames,
        picks=np.arange(0, info.n_frames, stride, dtype=np.int64),
        video_name=path.name,
        extra={"fps": np.float64(info.fps)},
    )


def extract_dataset(
    embedder: MLLMEmbedder | None,
    h5: str | Path,
    videos_dir: str | Path,
    out: str | Path,
    mapping: str | Path | None = None,
    **kwargs: Any,
) -> Dataset:
    """`extract_to_h5` for an eccv16 file: every key and attribute copied, frames decoded at its `picks`."""
    dataset = load_dataset(h5)
    paths = resolve_videos(dataset, videos_dir, mapping)
    return extract_to_h5(embedder, list(dataset), FramesAtPicks(paths), out, attrs=dataset.attrs, paths=paths, **kwargs)


@renamed_keywords(step="stride")
def extract_videos(
    embedder: MLLMEmbedder | None, videos: Sequence[str | Path], out: str | Path, stride: int = STRIDE, **kwargs: Any
) -> Dataset:
    """`extract_to_h5` for loose video files: a group per file (key = file stem), sampled every `stride` frames
    (`step=` is the deprecated name of `stride=`)."""
    paths = [Path(p) for p in videos]
    keys = [p.stem for p in paths]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise SemsumError(f"{out}: several videos share the name {dupes[0]!r}; rename one (keys are file stems)")
    jobs = [ExtractJob(p.stem, p, stride=stride) for p in paths]
    return extract_to_h5(embedder, jobs, FramesAtPicks(dict(zip(keys, paths, strict=True))), out, **kwargs)


def read_youtube_ids(path: str | Path) -> dict[str, str]:
    """Mr.HiSum's `metadata.csv`: video key (`video_id`, e.g. video_1) -> YouTube id (`youtube_id`)."""
    path = Path(path)
    if not path.is_file():
        raise SemsumError(f"{path}: no such metadata file")
    reader = csv.DictReader(path.read_text("utf-8").splitlines())
    if not {"video_id", "youtube_id"} <= set(reader.fieldnames or ()):
        raise SemsumError(f"{path}: needs the columns video_id and youtube_id (Mr.HiSum's metadata.csv has them)")
    ids = {row["video_id"].strip(): row["youtube_id"].strip() for row in reader}
    if not ids:
        raise SemsumError(f"{path}: no rows")
    return ids


def frames_per_second(path: str | Path, seconds: int, batch_size: int = 16, tolerance: int = 2) -> Iterator[np.ndarray]:
    """The first frame at or after each second of `path` (timestamps), for `seconds` seconds, in uint8 RGB batches.

    A download may end a moment before the labels do (YouTube-8M counted the seconds of its own copy): up to
    `tolerance` missing final seconds repeat the last frame, as the windows' edge padding would; more is an error
    naming the file. Decoding stops once `seconds` frames are out (labels may cover only the start of a video).
    """
    sampler = iter_sampled_frames(path, fps=1.0, batch_size=batch_size)
    sent, last = 0, None
    for _, frames in sampler:
        frames = frames[: seconds - sent]
        if len(frames):
            yield frames
            sent, last = sent + len(frames), frames[-1]
        if sent == seconds:
            return
    if seconds - sent > tolerance or last is None:
        raise SemsumError(f"{path}: {sent} s of video, but the labels have {seconds} s (a different or truncated file)")
    yield np.repeat(last[None], seconds - sent, axis=0)


@dataclass(frozen=True)
class FramesPerSecond:
    """`frames_of` for Mr.HiSum videos: one frame per labelled second of each key's file (picklable)."""

    paths: dict[str, Path]

    def __call__(self, video: VideoData) -> Iterator[np.ndarray]:
        return frames_per_second(self.paths[video.key], video.n_steps)


@dataclass(frozen=True)
class MrHiSumMerge:
    """Writes an extraction's output in the Mr.HiSum schema: the `source` file's groups of the finished videos, each
    with its new arrays (`features_mllm`, `score_mllm`) added, one video at a time. Returns the videos without their
    features (those stay on disk: over 30,000 videos of them do not fit in memory)."""

    source: Path

    def __call__(self, parts: PartsWriter, order: list[str], attrs: dict[str, Any], keep: bool) -> Dataset:
        kept: dict[str, VideoData] = {}

        def arrays() -> Iterator[tuple[str, dict[str, np.ndarray]]]:
            for key in order:
                video = parts.load(key)
                yield key, {**video.features, **video.extra}
                kept[key] = dataclasses.replace(video, features={})

        write_with_arrays(self.source, parts.out, arrays(), attrs)
        if not keep:
            parts.remove()
        return Dataset(kept, attrs, parts.out)


def resolve_mrhisum(h5: str | Path, videos_dir: str | Path, metadata: str | Path) -> tuple[dict[str, Path], list[str]]:
    """The video file of each key of a Mr.HiSum file, through `metadata` (`{youtube_id}` with a video suffix in
    `videos_dir`), and the keys with no file (YouTube videos disappear, so a complete download is rare)."""
    root = Path(videos_dir)
    if not root.is_dir():
        raise SemsumError(f"{root}: no such videos folder")
    with MrHiSumFile(h5) as f:
        keys = f.keys()
    ids = read_youtube_ids(metadata)
    files = {p.stem: p for p in root.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES}
    paths = {k: files[ids[k]] for k in keys if ids.get(k) in files}
    if not paths:
        raise SemsumError(
            f"{root}: none of the {len(keys)} videos of {h5} is there (files named by youtube_id from {metadata})"
        )
    return paths, [k for k in keys if k not in paths]


def extract_mrhisum(
    embedder: MLLMEmbedder | None, h5: str | Path, paths: dict[str, Path], out: str | Path, **kwargs: Any
) -> Dataset:
    """`extract_to_h5` for the videos `paths` (key -> file) of a Mr.HiSum file: one window per labelled second; `out`
    is the Mr.HiSum file's groups of those videos with `features_mllm` (and `score_mllm`) added."""
    with MrHiSumFile(h5) as f:
        seconds = {k: f.length(k) for k in paths}
    videos = [VideoData(k, n, np.arange(n, dtype=np.int64)) for k, n in seconds.items()]
    merge = MrHiSumMerge(Path(h5))
    return extract_to_h5(embedder, videos, FramesPerSecond(paths), out, paths=paths, merge=merge, **kwargs)


def zero_shot_frame_scores(dataset: Dataset) -> dict[str, list[float]]:
    """Each video's `score_mllm` expanded to every frame: the JSON that `semsum evaluate` reads."""
    missing = [v.key for v in dataset if SCORE_KEY not in v.extra]
    if missing:
        raise SemsumError(f"{dataset.path}: {missing[0]} has no {SCORE_KEY} (only the importance prompt is scored)")
    return {v.key: frame_scores(v.extra[SCORE_KEY], v.picks, v.n_frames).tolist() for v in dataset}
