"""From a video file to a summary: sample and encode -> shots -> units -> scores -> keyshots -> summary.mp4.

`summarize` runs the stages named by the caller (a frame encoder, a shot detector, a scorer) on one video and
writes three outputs: summary.mp4, scores.json and timeline.png, each written atomically and only after everything
they depend on has succeeded. Each stage is a function of the results before it and returns an immutable result
of its own (`SampledVideo`, `Shots`, `Units`, `Scores`). The features and shots are kept in the cache folder the
caller names (`semsum.pipeline.cache`): a killed run resumes from them, and a re-run with another scorer, budget or
shot detector does not run the network again. Progress goes to a `Progress` callback, stage by stage.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from semsum.atomic import atomic_folder, write_json
from semsum.data.h5 import STRIDE
from semsum.errors import SemsumError
from semsum.features.encoders import FrameEncoder, WindowEncoder
from semsum.pipeline.cache import FeatureCache, StageEntry, default_cache_dir, stage_key
from semsum.pipeline.sampling import SampledVideo, SamplingConfig, Thumbnails, feature_entry, sample_video
from semsum.pipeline.scorers import Scorer, Scores, focus, score_video
from semsum.progress import progress_bars
from semsum.summary.export import FILES, parse_formats, write_exports
from semsum.summary.keyshots import select_keyshots
from semsum.summary.shots import (
    ShotDetector,
    Shots,
    StepProgress,
    Units,
    detect_shots,
    frame_watcher,
    make_units,
)
from semsum.video.decode import VideoInfo
from semsum.video.probe import CheckedVideo, check_video

if TYPE_CHECKING:
    from semsum.video.write import SummaryVideo

N_THUMBNAILS = 24
DEFAULT_BUDGET = 0.15  # --budget: the field's 15 %
MAX_UNIT_SECONDS = 4.0  # --max-unit: longest selection unit (benchmarks/RESULTS.md, "moments")
MIN_UNIT_SECONDS = 0.5  # units are never bounded below this, however short the video
UNITS_PER_BUDGET = 3  # a unit is at most a third of the budget: a summary holds several moments
PICKS_PER_UNIT = 4  # automatic sampling keeps at least this many picks in the longest unit

# `progress(stage, done, total)`: stage is one of STAGES; total None while unknown. "features" counts sampled
# frames encoded, "shots" the detector's own steps (TransNetV2's windows, KTS's layers; a detector that reports
# none, or cached shots, go from 0 of None to 1 of 1), "summary" frames written; "units" and "scores" are reported
# as they start and end. Every stage ends with done == total.
Progress = Callable[[str, int, int | None], None]
STAGES = ("features", "shots", "units", "scores", "summary")


@dataclass(frozen=True)
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
    features_cache: Path | None = None  # the features' cache entry, if they were cached
    query: dict[str, str] | None = None  # --query: the request, the prompt template and the filled prompt
    exports: tuple[str, ...] = ()  # --export: the formats written (`semsum.summary.export.FILES`)
    summary_writer: dict[str, Any] = field(default_factory=dict)  # `SummaryVideo.report`: copied, re-encoded, why

    @property
    def summary_path(self) -> Path:
        return self.out_dir / "summary.mp4"

    @property
    def scores_path(self) -> Path:
        return self.out_dir / "scores.json"

    @property
    def timeline_path(self) -> Path:
        return self.out_dir / "timeline.png"


def cached_shots(
    detector: ShotDetector, video: SampledVideo, entry: FeatureCache | None, progress: StepProgress | None = None
) -> Shots:
    """`detect_shots` behind the cache: kept in the video's features `entry` as soon as it is done (so a run
    interrupted later keeps it), keyed by the detector's name and declared options (a detector declaring none, or
    features not cached, run every time)."""
    key = stage_key(detector)
    if entry is None or key is None:
        return detect_shots(detector, video, progress)
    stored = StageEntry(entry, key)
    found = stored.load()
    if found is not None:
        return Shots(np.asarray(found["shots"], dtype=np.int64), found["name"])
    shots = detect_shots(detector, video, progress)
    stored.save({"name": shots.detector, "shots": shots.frames.tolist()})
    return shots


def unit_frames(fps: float, n_frames: int, budget: float, max_unit: float, min_unit: float = MIN_UNIT_SECONDS) -> float:
    """The longest selection unit, in frames: `max_unit` seconds, and at most 1/`UNITS_PER_BUDGET` of the budget
    (so a summary is several moments), but never under `min_unit` seconds."""
    return max(min_unit * fps, min(max_unit * fps, budget * n_frames / UNITS_PER_BUDGET))


def auto_sampling(sampling: SamplingConfig, scorer: Scorer, info: VideoInfo) -> SamplingConfig:
    """Resolve automatic sampling: the scorer's own step if it was trained at one (runs, Video-LLaVA: 15), else
    every 15th frame unless a unit of the default summary would then hold fewer than `PICKS_PER_UNIT` picks (short
    videos). It depends on the video alone, not on --budget or --max-unit, so re-runs with others reuse the cache."""
    longest = unit_frames(info.fps, info.n_frames, DEFAULT_BUDGET, MAX_UNIT_SECONDS)
    stride = getattr(scorer, "sampling_stride", None) or int(np.clip(longest // PICKS_PER_UNIT, 1, STRIDE))
    return sampling.resolve(stride)


def staged(report: Progress, stage: str, run: Callable[[StepProgress], Any]) -> Any:
    """`run(on_step)` as stage `stage` of `report`: reported as it starts (0 of None), as it goes (whatever
    `on_step(done, total)` says), and once done (its last total, else 1, of itself)."""
    last: list[int | None] = [0, None]

    def on_step(done: int, total: int) -> None:
        last[:] = [done, total]
        report(stage, done, total)

    report(stage, 0, None)
    result = run(on_step)
    end = last[1] or max(last[0] or 0, 1)
    report(stage, end, end)
    return result


@contextmanager
def progress_lines(show: bool, encoder: str) -> Iterator[Progress]:
    """A `Progress` drawing bars (`semsum.progress`) for every stage, or nothing."""
    labels = {"features": f"features ({encoder})", "shots": "shots", "units": "units", "scores": "scores"}
    labels["summary"] = "summary.mp4"
    with progress_bars(show) as bar:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int | None) -> None:
            if stage not in labels:
                return
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels[stage], total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield report


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
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    export: Sequence[str] = (),
    query: str | None = None,
) -> SummaryResult:
    """Summarize one video file into `out_dir` (summary.mp4, scores.json, timeline.png).

    Selection units are the detector's shots, those longer than `max_unit` seconds (or a third of the budget)
    split where the features change most; the knapsack fills the budget with several of them. A video whose
    budget is shorter than its shortest unit gets its best unit, with a warning in `SummaryResult.warnings`.
    Features and shots are cached in `cache_dir` (default: `default_cache_dir()`). Progress goes to `progress`
    if given, else to bars on stderr unless `show_progress` is False. `export` adds editor timelines and chapters
    (`semsum.summary.export`); `query` makes importance relative to a request (`semsum.pipeline.scorers.focus`).
    """
    formats, scorer = parse_formats(export), scorer if query is None else focus(scorer, query)
    checked, sampling = _plan(video_path, sampling, scorer, shot_detector, budget, max_unit)
    with atomic_folder(out_dir) as tmp, progress_lines(show_progress and progress is None, encoder.name) as bars:
        report = progress or bars
        entry = feature_entry(cache_dir or default_cache_dir(), checked.info, encoder, sampling, N_THUMBNAILS)
        video, thumbs = _sample(checked.info, encoder, sampling, entry, report, shot_detector)
        shots = staged(report, "shots", lambda on_step: cached_shots(shot_detector, video, entry, on_step))
        longest = unit_frames(video.info.fps, video.n_frames, budget, max_unit)
        max_steps = max(1, int(longest // sampling.frames_per_step(video.info.fps)))
        units = staged(report, "units", lambda _: make_units(shots, video, max_steps))
        scores = staged(report, "scores", lambda _: score_video(scorer, video, units))
        selected, unit_scores, warnings = _select(video, scores, units, budget)
        written = _write_summary(tmp / "summary.mp4", video, units.frames[selected], report)
        result = SummaryResult(
            Path(out_dir),
            scores.scorer,
            video,
            scores.steps,
            scores.frames,
            shots.detector,
            shots.frames,
            units.frames,
            unit_scores,
            selected,
            written.n_frames,
            written.duration,
            written.has_audio,
            [w for w in (checked.warning, *warnings) if w],  # a file holding less than it declares: named first
            entry.path if entry is not None else None,
            getattr(scorer, "query", None),
            formats,
            written.report(),
        )
        _write_reports(tmp, result, thumbs, budget)
        write_exports(tmp, scores_document(result, budget), formats)
    return result


def _plan(
    path: str | os.PathLike[str],
    sampling: SamplingConfig | None,
    scorer: Scorer,
    shot_detector: ShotDetector,
    budget: float,
    max_unit: float,
) -> tuple[CheckedVideo, SamplingConfig]:
    """The video's check (its probe; a file whose container declares more than it holds is summarized as far as it
    goes, with a warning: `semsum.video.probe`) and the job's sampling (`auto_sampling` unless given; decoding only
    reference frames where the shots come from the features), once the settings are checked."""
    if not 0 < budget < 1:
        raise SemsumError(f"--budget must be in (0, 1), got {budget}")
    if not max_unit > 0:
        raise SemsumError(f"--max-unit must be positive, got {max_unit}")
    checked = check_video(path)
    sampling = sampling or SamplingConfig(stride=None)
    sampling = auto_sampling(sampling, scorer, checked.info) if sampling.is_auto else sampling
    return checked, sampling.for_shots(shot_detector, checked.info)


def _sample(
    info: VideoInfo,
    encoder: FrameEncoder | WindowEncoder,
    sampling: SamplingConfig,
    entry: FeatureCache | None,
    report: Progress,
    shot_detector: ShotDetector,
) -> tuple[SampledVideo, Thumbnails]:
    """The sampling stage of `info`'s file behind the cache `entry`, reporting sampled frames encoded, every frame it
    decodes shown to the shot detector's watcher, if it has one (a detector reading every frame shares the pass
    instead of decoding again)."""

    def on_batch(done: int, expected: int) -> None:
        report("features", done, max(done, expected))

    report("features", 0, None)
    watcher = frame_watcher(shot_detector, info)
    video, thumbs = sample_video(info.path, encoder, sampling, on_batch, N_THUMBNAILS, cache=entry, watcher=watcher)
    report("features", video.n_steps, video.n_steps)
    return video, thumbs


def _select(
    video: SampledVideo, scores: Scores, units: Units, budget: float
) -> tuple[list[int], np.ndarray, list[str]]:
    """The keyshot stage: the units the knapsack keeps, every unit's score, and a warning if none fits the budget
    (then the best unit alone, over the budget)."""
    chosen = select_keyshots(scores.frames, units.frames, budget)
    if chosen.selected:
        return chosen.selected, chosen.unit_scores, []
    best = int(np.argmax(chosen.unit_scores))
    length = (units.frames[best, 1] - units.frames[best, 0] + 1) / video.info.fps
    warning = (
        f"{video.path}: {budget:.0%} of this {video.n_frames / video.info.fps:.1f} s video is shorter than "
        f"any unit; the summary is its best unit ({length:.1f} s), over the budget (raise --budget to fit)"
    )
    return [best], chosen.unit_scores, [warning]


def _write_summary(path: Path, video: SampledVideo, spans: np.ndarray, report: Progress) -> SummaryVideo:
    """summary.mp4: the selected frame `spans` of the video, with their audio, reporting frames written."""
    from semsum.video.write import write_summary

    total = int(np.sum(np.diff(spans, axis=1) + 1))
    report("summary", 0, total)
    written = write_summary(
        video.path,
        path,
        spans,
        progress=lambda i: report("summary", i, total),
        anchors=(video.picks, video.times) if video.times is not None else None,
    )
    report("summary", written.n_frames, total)
    return written


def _write_reports(folder: Path, r: SummaryResult, thumbs: Thumbnails, budget: float) -> None:
    """timeline.png and scores.json of a summary."""
    from semsum.summary.timeline import plot_timeline

    fps = r.video.info.fps
    title = (
        f"{r.video.path.name}: {len(r.selected)} of {len(r.units)} units, {r.summary_seconds:.1f} s of "
        f"{r.video.n_frames / fps:.1f} s; scorer: {r.scorer.split(' ')[0]}"
    )
    plot_timeline(folder / "timeline.png", r.frame_scores, r.units, r.selected, fps, thumbs, title, r.shots[1:, 0])
    write_json(folder / "scores.json", scores_document(r, budget))


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
        "picks_from": "reference frames" if r.video.sampling.reference_only else "every frame",
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
        "features_cache": str(r.features_cache) if r.features_cache is not None else None,
        "warnings": r.warnings,
        "query": r.query,
        "exports": [FILES[f] for f in r.exports],
        "shot_boundaries": [int(s) for s in r.shots[1:, 0]],
        "summary": {
            "file": "summary.mp4",
            "n_frames": r.summary_frames,
            "duration": r.summary_seconds,
            "fraction": r.summary_frames / r.video.n_frames,
            "has_audio": r.summary_has_audio,
            **r.summary_writer,
        },
    }
