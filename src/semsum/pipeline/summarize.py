"""From a video file to a summary: sample and encode -> shots -> scores -> keyshots -> summary.mp4.

`summarize` runs the stages named by the caller (a frame encoder, a shot detector, a scorer) on one video and
writes three outputs: summary.mp4, scores.json and timeline.png, each written atomically and only after everything
they depend on has succeeded. The features are kept beside them (features.npz): a killed run resumes from them,
and a re-run with another scorer or budget does not run the network again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semsum.atomic import write_json
from semsum.errors import SemsumError
from semsum.features.encoders import FrameEncoder, WindowEncoder
from semsum.pipeline.sampling import SampledVideo, SamplingConfig, sample_video
from semsum.pipeline.scorers import Scorer
from semsum.progress import progress_bars
from semsum.summary.keyshots import frame_scores, select_keyshots
from semsum.summary.shots import ShotDetector, check_shots, split_long_shots, step_segments

N_THUMBNAILS = 24


@dataclass
class SummaryResult:
    """What `summarize` computed and wrote."""

    out_dir: Path
    scorer: str
    video: SampledVideo
    step_scores: np.ndarray
    frame_scores: np.ndarray
    shot_detector: str
    shots: np.ndarray  # int64 [n_shots, 2]: inclusive frames of each shot the detector found
    units: np.ndarray  # int64 [n_units, 2]: the selection units, shots with long ones split to fit the budget
    unit_scores: np.ndarray  # mean frame score of each unit
    selected: list[int]
    summary_frames: int
    summary_seconds: float
    summary_has_audio: bool

    @property
    def summary_path(self) -> Path:
        return self.out_dir / "summary.mp4"

    @property
    def scores_path(self) -> Path:
        return self.out_dir / "scores.json"

    @property
    def timeline_path(self) -> Path:
        return self.out_dir / "timeline.png"


def summarize(
    video_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    scorer: Scorer,
    encoder: FrameEncoder | WindowEncoder,
    shot_detector: ShotDetector,
    sampling: SamplingConfig | None = None,
    budget: float = 0.15,
    show_progress: bool = True,
) -> SummaryResult:
    """Summarize one video file into `out_dir` (summary.mp4, scores.json, timeline.png)."""
    from semsum.summary.timeline import plot_timeline
    from semsum.video.write import write_summary

    if not 0 < budget < 1:
        raise SemsumError(f"budget must be in (0, 1), got {budget}")
    out = Path(out_dir)
    with progress_bars(show_progress) as bar:
        task = bar.add_task(f"features ({encoder.name})", total=None)

        def on_batch(done: int, expected: int) -> None:
            bar.update(task, completed=done, total=max(done, expected))

        video, thumbs = sample_video(
            video_path, encoder, sampling, on_batch, n_thumbnails=N_THUMBNAILS, checkpoint=out / "features.npz"
        )
        bar.update(task, total=video.n_steps, completed=video.n_steps)
        shots = check_shots(shot_detector(video), video.n_frames, f"{video.path}: shot detector {shot_detector.name}")
        # Selection units: the shots, those longer than the budget split into equal parts that fit it.
        units = split_long_shots(shots, video.picks, max(1, int(budget * video.n_steps)))
        video.step_segments = step_segments(units, video.picks)
        steps = np.asarray(scorer(video), dtype=np.float64).reshape(-1)
        if steps.shape != (video.n_steps,) or not np.all(np.isfinite(steps)):
            raise SemsumError(
                f"{video.path}: scorer {scorer.name!r} returned {steps.shape} scores, not {video.n_steps}"
            )
        # The knapsack keeps only shots of positive value: scores of any scale are shifted so the lowest is
        # (just above) zero, which leaves their order and differences as they are.
        steps = steps - min(float(steps.min()), 0.0) + 1e-9
        frames = frame_scores(steps, video.picks, video.n_frames)
        chosen = select_keyshots(frames, units, budget)
        if not chosen.selected:
            raise SemsumError(f"{video.path}: {budget:.0%} of {video.n_frames} frames is too short for any shot")
        write = bar.add_task("summary.mp4", total=video.n_frames)
        written = write_summary(
            video.path, out / "summary.mp4", units[chosen.selected], progress=lambda i: bar.update(write, completed=i)
        )
        bar.update(write, completed=video.n_frames)
    result = SummaryResult(
        out,
        scorer.name,
        video,
        steps,
        frames,
        shot_detector.name,
        shots,
        units,
        chosen.shot_scores,
        chosen.selected,
        written.n_frames,
        written.duration,
        written.has_audio,
    )
    fps_out = video.info.fps
    title = (
        f"{video.path.name}: {len(chosen.selected)} of {len(units)} units, {written.duration:.1f} s of "
        f"{video.n_frames / fps_out:.1f} s; scorer: {scorer.name.split(' ')[0]}"
    )
    plot_timeline(out / "timeline.png", frames, units, chosen.selected, fps_out, thumbs, title, shots[1:, 0])
    write_json(out / "scores.json", scores_document(result, budget))
    return result


def scores_document(r: SummaryResult, budget: float) -> dict[str, Any]:
    """scores.json: the scorer, the sampling, per-step and per-frame scores, every unit and the selection."""
    fps = r.video.info.fps
    sel = set(r.selected)
    return {
        "video": str(r.video.path),
        "scorer": r.scorer,
        "features": {
            "encoder": r.video.encoder,
            "description": r.video.encoder_description,
            "dim": int(r.video.features["features"].shape[1]),
        },
        "shot_detector": r.shot_detector,
        "budget": budget,
        "fps": fps,
        "n_frames": r.video.n_frames,
        "duration": r.video.n_frames / fps,
        "has_audio": r.video.info.has_audio,
        "sampling": r.video.sampling.to_dict(),
        "picks": r.video.picks.tolist(),
        "step_scores": r.step_scores.tolist(),
        "frame_scores": np.round(r.frame_scores, 6).tolist(),
        "units": [
            {
                "start_frame": int(s),
                "end_frame": int(e),
                "start_time": s / fps,
                "end_time": (e + 1) / fps,
                "score": float(v),
                "selected": i in sel,
            }
            for i, ((s, e), v) in enumerate(zip(r.units, r.unit_scores, strict=True))
        ],
        "selected_units": list(r.selected),
        "shot_boundaries": [int(s) for s in r.shots[1:, 0]],
        "summary": {
            "file": "summary.mp4",
            "n_frames": r.summary_frames,
            "duration": r.summary_seconds,
            "fraction": r.summary_frames / r.video.n_frames,
            "has_audio": r.summary_has_audio,
        },
    }
