"""From a video file to a summary: sample and encode -> shots -> scores -> keyshots -> summary.mp4.

`summarize` runs the stages named by the caller (a frame encoder, a shot detector, a scorer) on one video and
writes three outputs: summary.mp4, scores.json and timeline.png, each written atomically and only after everything
they depend on has succeeded. The features and shots are kept in the user's cache folder (`semsum.pipeline.cache`):
a killed run resumes from them, and a re-run with another scorer, budget or shot detector does not run the
network again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from semsum.atomic import staged_folder, write_json
from semsum.data.h5 import STEP
from semsum.errors import SemsumError
from semsum.features.encoders import FrameEncoder, WindowEncoder
from semsum.pipeline.cache import cache_dir
from semsum.pipeline.sampling import SampledVideo, SamplingConfig, sample_video
from semsum.pipeline.scorers import Scorer
from semsum.progress import progress_bars
from semsum.summary.keyshots import frame_scores, select_keyshots
from semsum.summary.shots import ShotDetector, check_shots, content_units, step_segments
from semsum.video.decode import VideoInfo, probe

N_THUMBNAILS = 24
DEFAULT_BUDGET = 0.15  # --budget: the field's 15 %
MAX_UNIT_SECONDS = 4.0  # --max-unit: longest selection unit (benchmarks/RESULTS.md, "moments")
MIN_UNIT_SECONDS = 0.5  # units are never bounded below this, however short the video
UNITS_PER_BUDGET = 3  # a unit is at most a third of the budget: a summary holds several moments
PICKS_PER_UNIT = 4  # automatic sampling keeps at least this many picks in the longest unit


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
    units: np.ndarray  # int64 [n_units, 2]: the selection units, shots with long ones split where features change
    unit_scores: np.ndarray  # mean frame score of each unit
    selected: list[int]
    summary_frames: int
    summary_seconds: float
    summary_has_audio: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def summary_path(self) -> Path:
        return self.out_dir / "summary.mp4"

    @property
    def scores_path(self) -> Path:
        return self.out_dir / "scores.json"

    @property
    def timeline_path(self) -> Path:
        return self.out_dir / "timeline.png"


def detect_shots(detector: ShotDetector, video: SampledVideo) -> tuple[np.ndarray, str]:
    """The detector's shots of `video`, checked, and the name of what ran (`auto` says which detector); kept in the
    video's cache entry, so a re-run reuses them."""
    key = detector.name + json.dumps(
        {
            k: v
            for k, v in vars(detector).items()
            if not k.startswith("_") and isinstance(v, (bool, int, float, str, type(None)))
        },
        sort_keys=True,
    )
    if video.cached is not None and key in video.cached.shots:
        found = video.cached.shots[key]
        return np.asarray(found["shots"], dtype=np.int64), found["name"]
    shots = check_shots(detector(video), video.n_frames, f"{video.path}: shot detector {detector.name}")
    name = detector.name_for(video) if hasattr(detector, "name_for") else detector.name
    if video.cached is not None and video.cache is not None:
        video.cached.shots[key] = {"name": name, "shots": shots.tolist()}
        video.cache.save(video.cached)
    return shots, name


def unit_frames(fps: float, n_frames: int, budget: float, max_unit: float, min_unit: float = MIN_UNIT_SECONDS) -> float:
    """The longest selection unit, in frames: `max_unit` seconds, and at most 1/`UNITS_PER_BUDGET` of the budget
    (so a summary is several moments), but never under `min_unit` seconds."""
    return max(min_unit * fps, min(max_unit * fps, budget * n_frames / UNITS_PER_BUDGET))


def auto_sampling(sampling: SamplingConfig, scorer: Scorer, info: VideoInfo) -> SamplingConfig:
    """Resolve automatic sampling: the scorer's own step if it was trained at one (runs, Video-LLaVA: 15), else
    every 15th frame unless a unit of the default summary would then hold fewer than `PICKS_PER_UNIT` picks (short
    videos). It depends on the video alone, not on --budget or --max-unit, so re-runs with others reuse the cache."""
    longest = unit_frames(info.fps, info.n_frames, DEFAULT_BUDGET, MAX_UNIT_SECONDS)
    step = getattr(scorer, "sampling_step", None) or int(np.clip(longest // PICKS_PER_UNIT, 1, STEP))
    return sampling.resolve(step)


def summarize(
    video_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    scorer: Scorer,
    encoder: FrameEncoder | WindowEncoder,
    shot_detector: ShotDetector,
    sampling: SamplingConfig | None = None,
    budget: float = DEFAULT_BUDGET,
    show_progress: bool = True,
    max_unit: float = MAX_UNIT_SECONDS,
) -> SummaryResult:
    """Summarize one video file into `out_dir` (summary.mp4, scores.json, timeline.png).

    Selection units are the detector's shots, those longer than `max_unit` seconds (or a third of the budget)
    split where the features change most; the knapsack fills the budget with several of them. A video whose
    budget is shorter than its shortest unit gets its best unit, with a warning in `SummaryResult.warnings`.
    """
    from semsum.summary.timeline import plot_timeline
    from semsum.video.write import write_summary

    if not 0 < budget < 1:
        raise SemsumError(f"--budget must be in (0, 1), got {budget}")
    if not max_unit > 0:
        raise SemsumError(f"--max-unit must be positive, got {max_unit}")
    out = Path(out_dir)
    info = probe(video_path, count=False)
    sampling = sampling or SamplingConfig(step=None)
    if sampling.is_auto:
        sampling = auto_sampling(sampling, scorer, info)
    with staged_folder(out) as stage, progress_bars(show_progress) as bar:
        task = bar.add_task(f"features ({encoder.name})", total=None)

        def on_batch(done: int, expected: int) -> None:
            bar.update(task, completed=done, total=max(done, expected))

        video, thumbs = sample_video(video_path, encoder, sampling, on_batch, N_THUMBNAILS, cache=cache_dir())
        bar.update(task, total=video.n_steps, completed=video.n_steps)
        shots, detector_name = detect_shots(shot_detector, video)
        longest = unit_frames(video.info.fps, video.n_frames, budget, max_unit)
        max_steps = max(1, int(longest // sampling.frames_per_step(video.info.fps)))
        units = content_units(shots, video.picks, video.features["features"], max_steps)
        video.step_segments = step_segments(units, video.picks)
        steps = np.asarray(scorer(video), dtype=np.float64).reshape(-1)
        if steps.shape != (video.n_steps,) or not np.all(np.isfinite(steps)):
            raise SemsumError(
                f"{video.path}: scorer {scorer.name!r} returned {steps.shape} scores, not {video.n_steps}"
            )
        # The knapsack keeps only units of positive value: scores of any scale are shifted so the lowest is
        # (just above) zero, which leaves their order and differences as they are.
        steps = steps - min(float(steps.min()), 0.0) + 1e-9
        frames = frame_scores(steps, video.picks, video.n_frames)
        chosen = select_keyshots(frames, units, budget)
        selected, warnings = chosen.selected, []
        if not selected:  # every unit is longer than the budget: the best one, said so
            best = int(np.argmax(chosen.shot_scores))
            selected = [best]
            length = (units[best, 1] - units[best, 0] + 1) / video.info.fps
            warnings.append(
                f"{video.path}: {budget:.0%} of this {video.n_frames / video.info.fps:.1f} s video is shorter than "
                f"any unit; the summary is its best unit ({length:.1f} s), over the budget (raise --budget to fit)"
            )
        write = bar.add_task("summary.mp4", total=int(np.sum(np.diff(units[selected], axis=1) + 1)))
        written = write_summary(
            video.path,
            stage / "summary.mp4",
            units[selected],
            progress=lambda i: bar.update(write, completed=i),
            anchors=(video.picks, video.times) if video.times is not None else None,
        )
        bar.update(write, completed=written.n_frames)
        result = SummaryResult(
            out,
            scorer.name,
            video,
            steps,
            frames,
            detector_name,
            shots,
            units,
            chosen.shot_scores,
            selected,
            written.n_frames,
            written.duration,
            written.has_audio,
            warnings,
        )
        fps_out = video.info.fps
        title = (
            f"{video.path.name}: {len(selected)} of {len(units)} units, {written.duration:.1f} s of "
            f"{video.n_frames / fps_out:.1f} s; scorer: {scorer.name.split(' ')[0]}"
        )
        plot_timeline(stage / "timeline.png", frames, units, selected, fps_out, thumbs, title, shots[1:, 0])
        write_json(stage / "scores.json", scores_document(result, budget))
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
        "features_cache": str(r.video.cache.path) if r.video.cache is not None else None,
        "warnings": r.warnings,
        "shot_boundaries": [int(s) for s in r.shots[1:, 0]],
        "summary": {
            "file": "summary.mp4",
            "n_frames": r.summary_frames,
            "duration": r.summary_seconds,
            "fraction": r.summary_frames / r.video.n_frames,
            "has_audio": r.summary_has_audio,
        },
    }
