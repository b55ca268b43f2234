"""Rebuild an eccv16-schema HDF5 file from raw videos: `semsum dataset build`.

Per video: every 15th frame (or a target fps) -> the frame encoder's `features` (GoogLeNet pool5 by default) at
`picks`, `n_frames`, the shot detector's shots as `change_points` / `n_frame_per_seg` (KTS by default, as the
benchmark files were made), and with `--annotations summe|tvsum` the benchmark's `gtscore` and `user_summary`
under the benchmark's own key (`video_N`). Each finished video is saved as a part, so a killed build resumes where
it stopped; the final file is written atomically.

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

import os
from pathlib import Path

import numpy as np

from semsum.data.h5 import Dataset, PartsWriter, VideoData, natural_key
from semsum.errors import SemsumError
from semsum.features.encoders import FrameEncoder, WindowEncoder, describe
from semsum.pipeline.sampling import SamplingConfig, sample_video
from semsum.progress import progress_bars
from semsum.summary.keyshots import user_summaries
from semsum.summary.shots import ShotDetector, check_shots
from semsum.video.decode import VIDEO_SUFFIXES

FRAME_COUNT_SLACK = 0.01  # fraction of the annotation's frame count (at least 3 frames)


def find_videos(videos_dir: str | os.PathLike[str]) -> list[Path]:
    """Video files directly in `videos_dir`, in natural name order."""
    root = Path(videos_dir)
    if not root.is_dir():
        raise SemsumError(f"{root}: no such folder")
    found = sorted((p for p in root.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES), key=lambda p: natural_key(p.name))
    if not found:
        raise SemsumError(f"{root}: no video files ({', '.join(VIDEO_SUFFIXES)})")
    return found


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


def build_dataset(
    videos_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    encoder: FrameEncoder | WindowEncoder,
    shot_detector: ShotDetector,
    annotations: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    sampling: SamplingConfig | None = None,
    show_progress: bool = True,
) -> Dataset:
    """Build `out` (eccv16 schema) from the videos in `videos_dir`; resumes from `out`.parts/ if present."""
    sampling = sampling or SamplingConfig()
    files = find_videos(videos_dir)
    if annotations is not None:
        from semsum.data.annotations import load_annotations

        anns = load_annotations(annotations, data_dir)
        by_name = {a.name: a for a in anns.values()}
        unknown = [p.name for p in files if p.stem not in by_name]
        if unknown:
            raise SemsumError(
                f"{videos_dir}: {unknown[0]} matches no {annotations} video (file stems must be the "
                f"{'video names' if annotations == 'summe' else 'video_ids'}, e.g. {next(iter(by_name))})"
            )
        jobs = sorted(((by_name[p.stem].key, p) for p in files), key=lambda kp: natural_key(kp[0]))
    else:
        by_name = {}
        jobs = [(f"video_{i}", p) for i, p in enumerate(files, 1)]
    parts = PartsWriter(out)
    with progress_bars(show_progress) as bar:
        overall = bar.add_task("videos", total=len(jobs))
        for key, path in jobs:
            if parts.done(key):
                bar.advance(overall)
                continue
            task = bar.add_task(f"  {path.name}", total=None)
            sampled, _ = sample_video(
                path,
                encoder,
                sampling,
                on_batch=lambda done, expected, task=task: bar.update(task, completed=done, total=max(done, expected)),
                checkpoint=parts.parts / f"{key}.features.npz",
            )
            where = f"{path}: shot detector {shot_detector.name}"
            shots = check_shots(shot_detector(sampled), sampled.n_frames, where)
            ann = by_name.get(path.stem)
            n_frames, picks, feats = sampled.n_frames, sampled.picks, sampled.features["features"]
            if ann is not None:
                if abs(ann.n_frames - n_frames) > max(3, FRAME_COUNT_SLACK * ann.n_frames):
                    raise SemsumError(
                        f"{path}: decodes to {n_frames} frames, the {annotations} annotation of {ann.name} has "
                        f"{ann.n_frames}: not the annotated video?"
                    )
                n_frames = ann.n_frames
                keep = picks < n_frames
                picks, feats = picks[keep], feats[keep]
                shots = fit_shots(shots, n_frames)
            video = VideoData(
                key=key,
                n_frames=n_frames,
                picks=picks,
                features={"features": feats},
                change_points=shots,
                n_frame_per_seg=shots[:, 1] - shots[:, 0] + 1,
                video_name=ann.name if ann is not None else path.stem,
            )
            if ann is not None:
                _annotated(video, ann)
            parts.put(video)
            bar.remove_task(task)
            bar.advance(overall)
    attrs = {
        "generator": "semsum dataset build",
        "features": describe(encoder),
        "encoder": encoder.name,
        "shot_detector": shot_detector.name,
        "sampling": f"every {sampling.step}th frame" if sampling.step else f"{sampling.fps} fps",
    }
    if annotations is not None:
        attrs["dataset"] = annotations
    return parts.finish([k for k, _ in jobs], attrs)
