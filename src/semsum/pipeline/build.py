"""Rebuild an eccv16-schema HDF5 file from raw videos: `semsum dataset build`.

Per video: every 15th frame (or a target fps) -> the frame encoder's `features` (GoogLeNet pool5 by default) at
`picks`, `n_frames`, the shot detector's shots as `change_points` / `n_frame_per_seg` (KTS by default, as the
benchmark files were made), and with `--annotations summe|tvsum` the benchmark's `gtscore` and `user_summary`
under the benchmark's own key (`video_N`). Each finished video is saved as a part, so a killed build resumes where
it stopped; the final file is written atomically. Executors (`semsum.pipeline.executors`: in process, or on Ray)
run `build_video` on each video; a video that fails is reported and the others are written.

Annotations, as the eccv16 files were made:
* videos match an annotation by file stem: SumMe's video name (e.g. `Air_Force_One.mp4`), TVSum's video_id;
* `n_frames` is the annotation's frame count (decoders disagree by a frame or two on some files); a video
  whose decoded count differs by more than `FRAME_COUNT_SLACK` is an error (probably the wrong file);
* `gtscore` = the annotation's per-frame gt_score at `picks`: SumMe's `gt_score` (already in [0, 1]); TVSum's
  mean annotator score (1..5), min-max normalised to [0, 1] per video;
* `user_summary`: SumMe = `user_score > 0` per user; TVSum = each annotator's frame scores turned into a
  keyshot summary over the video's shots (`change_points`) with the 15% knapsack.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semsum.data.annotations import Annotation
from semsum.data.h5 import Dataset, PartsWriter, VideoData, natural_key
from semsum.errors import SemsumError
from semsum.features.encoders import FrameEncoder, WindowEncoder, describe
from semsum.pipeline.executors import Executor, LocalExecutor, run_videos
from semsum.pipeline.sampling import SamplingConfig, sample_video
from semsum.pipeline.stages import StageConfig
from semsum.summary.keyshots import user_summaries
from semsum.summary.shots import ShotDetector, detect_shots
from semsum.video.probe import find_videos

FRAME_COUNT_SLACK = 0.01  # fraction of the annotation's frame count (at least 3 frames)


def _annotated(video: VideoData, ann) -> None:
    """Add gtscore and user_summary from a benchmark annotation (see the module docstring)."""
    if ann.dataset == "tvsum":
        mean = ann.user_scores.mean(axis=0)
        gt = (mean - mean.min()) / max(mean.max() - mean.min(), 1e-12)
    else:
        gt = ann.gt_score
    video.user_summary = user_summaries(ann.user_scores, video.change_points, binary=ann.dataset != "tvsum")
    video.gtscore = np.asarray(gt, dtype=np.float32)[video.picks]


def fit_shots(shots: np.ndarray, n_frames: int) -> np.ndarray:
    """Shots cut or extended to a video of `n_frames` (the annotation's count, a frame or two off the decoder's)."""
    kept = shots[shots[:, 0] < n_frames].copy()
    kept[-1, 1] = n_frames - 1
    return kept


@dataclass(frozen=True)
class VideoJob:
    """One video of a build: its key in the output file, its file, and its benchmark annotation if any."""

    key: str
    path: Path
    annotation: Annotation | None = None


def build_video(
    job: VideoJob,
    encoder: FrameEncoder | WindowEncoder,
    shot_detector: ShotDetector,
    sampling: SamplingConfig,
    cache: str | os.PathLike[str] | None = None,
) -> VideoData:
    """One video's eccv16 group: sample and encode, detect shots, add the annotation. Every executor calls this."""
    path, ann = job.path, job.annotation
    sampled, _ = sample_video(path, encoder, sampling, cache=cache)
    shots = detect_shots(shot_detector, sampled).frames
    n_frames, picks, feats = sampled.n_frames, sampled.picks, sampled.features["features"]
    if ann is not None:
        if abs(ann.n_frames - n_frames) > max(3, FRAME_COUNT_SLACK * ann.n_frames):
            raise SemsumError(
                f"{path}: decodes to {n_frames} frames, the {ann.dataset} annotation of {ann.name} has "
                f"{ann.n_frames}: not the annotated video?"
            )
        n_frames = ann.n_frames
        keep = picks < n_frames
        picks, feats = picks[keep], feats[keep]
        shots = fit_shots(shots, n_frames)
    video = VideoData(
        key=job.key,
        n_frames=n_frames,
        picks=picks,
        features={"features": feats},
        change_points=shots,
        n_frame_per_seg=shots[:, 1] - shots[:, 0] + 1,
        video_name=ann.name if ann is not None else path.stem,
    )
    if ann is not None:
        _annotated(video, ann)
    return video


def plan_build(
    videos_dir: str | os.PathLike[str], annotations: str | None = None, data_dir: str | os.PathLike[str] | None = None
) -> list[VideoJob]:
    """The videos of `videos_dir` as jobs in key order, matched to their annotations (`video_N` keys without)."""
    files = sorted(find_videos(videos_dir), key=lambda p: natural_key(p.name))
    if annotations is None:
        return [VideoJob(f"video_{i}", p) for i, p in enumerate(files, 1)]
    from semsum.data.annotations import load_annotations

    by_name = {a.name: a for a in load_annotations(annotations, data_dir).values()}
    unknown = [p.name for p in files if p.stem not in by_name]
    if unknown:
        raise SemsumError(
            f"{videos_dir}: {unknown[0]} matches no {annotations} video (file stems must be the "
            f"{'video names' if annotations == 'summe' else 'video_ids'}, e.g. {next(iter(by_name))})"
        )
    jobs = [VideoJob(by_name[p.stem].key, p, by_name[p.stem]) for p in files]
    return sorted(jobs, key=lambda j: natural_key(j.key))


@dataclass(frozen=True)
class BuildWork:
    """What a build does to each video, loadable in any process: from `stages` (by name; what a Ray actor
    loads) or from already loaded `encoder` and `detector` (the local executor, the Python API)."""

    sampling: SamplingConfig
    stages: StageConfig | None = None
    encoder: FrameEncoder | WindowEncoder | None = None
    detector: ShotDetector | None = None
    cache: str | None = None  # feature cache folder (local runs only: a cluster node may not see it)

    def load(self) -> tuple[Callable[[VideoJob], VideoData], dict[str, str]]:
        """The per-video function with its models loaded once, and the file attributes describing them."""
        encoder, detector = (self.encoder, self.detector) if self.stages is None else self.stages.build()
        attrs = {
            "generator": "semsum dataset build",
            "features": describe(encoder),
            "encoder": encoder.name,
            "shot_detector": detector.name,
            "sampling": f"every {self.sampling.stride}th frame" if self.sampling.stride else f"{self.sampling.fps} fps",
        }
        return functools.partial(
            build_video, encoder=encoder, shot_detector=detector, sampling=self.sampling, cache=self.cache
        ), attrs


def build_dataset(
    videos_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    encoder: FrameEncoder | WindowEncoder | None = None,
    shot_detector: ShotDetector | None = None,
    annotations: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    sampling: SamplingConfig | None = None,
    show_progress: bool = True,
    executor: Executor | None = None,
    stages: StageConfig | None = None,
) -> Dataset:
    """Build `out` (eccv16 schema) from the videos in `videos_dir`; resumes from `out`.parts/ if present.

    Give the loaded `encoder` and `shot_detector`, or `stages` to load them where the work runs (what the Ray
    executor needs). A video that fails is named in `out`'s report and the others are written; then
    `VideosFailed` is raised (`semsum.pipeline.executors`).
    """
    sampling = (sampling or (stages.sampling if stages else None) or SamplingConfig()).resolve()
    jobs = plan_build(videos_dir, annotations, data_dir)
    executor = executor or LocalExecutor()
    cache = str(PartsWriter(out).parts) if executor.shared_disk else None
    if encoder is not None and shot_detector is not None:
        work = BuildWork(sampling, encoder=encoder, detector=shot_detector, cache=cache)
    elif stages is not None:
        work = BuildWork(sampling, stages=stages, cache=cache)  # loaded where the work runs
    else:
        raise SemsumError("build_dataset: give an encoder and a shot detector, or stages")
    attrs = {"dataset": annotations} if annotations is not None else {}
    dataset = run_videos(jobs, work, out, executor, attrs, show_progress)
    if dataset is None:  # no video at all: run_videos raised VideosFailed
        raise SemsumError(f"{out}: no video was written")
    return dataset
