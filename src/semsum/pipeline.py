"""From a video file to a summary: sampled frames -> GoogLeNet pool5 -> KTS shots -> scores -> knapsack.

`sample_video` is the shared first half (also used by the dataset builder): one streaming pass over the
file that keeps only the features (and a few thumbnails), so memory stays bounded on long videos.
`summarize` adds a scorer, the 15% keyshot selection and the three outputs: summary.mp4, scores.json and
timeline.png, each written atomically and only after everything they depend on has succeeded. The
GoogLeNet features are kept beside them (features.npz): a killed run resumes from them, and a re-run with
another scorer or budget does not run the network again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semsum.atomic import write_json
from semsum.errors import SemsumError
from semsum.features.checkpoint import FeatureCheckpoint, video_settings
from semsum.features.googlenet import FeatureExtractor
from semsum.scoring import SampledVideo, Scorer
from semsum.summary.keyshots import frame_scores, select_shots, shot_scores
from semsum.summary.kts import MAX_SEGMENT, change_points_to_segments, kts
from semsum.video.decode import iter_sampled_frames, probe

N_THUMBNAILS = 24
THUMB_HEIGHT = 54


def progress_bars(show: bool):
    """Progress bars on stderr that vanish when done (stdout stays for results and one-line errors)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=Console(stderr=True), transient=True, disable=not show)


def _thumbnail(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    rows = np.linspace(0, frame.shape[0] - 1, height).round().astype(int)
    cols = np.linspace(0, frame.shape[1] - 1, width).round().astype(int)
    return frame[rows][:, cols]


def sample_video(
    path: str | os.PathLike[str],
    extractor: FeatureExtractor,
    step: int | None = 15,
    fps: float | None = None,
    batch_size: int = 32,
    max_segment: int | None = MAX_SEGMENT,
    on_batch: Callable[[int, int], None] | None = None,
    n_thumbnails: int = 0,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_seconds: float = 60.0,
) -> tuple[SampledVideo, list[tuple[int, np.ndarray]]]:
    """Probe, sample, extract pool5 features and segment `path` with KTS, in one pass over the file.

    `on_batch(steps_done, steps_expected)` reports progress. Returns the SampledVideo (features under
    "features", KTS shots in `step_segments`) and up to `n_thumbnails` evenly spaced (frame, image) pairs.
    With `checkpoint` (an .npz path), the features computed so far are saved every `checkpoint_seconds` and
    once complete; a later call with the same video and settings reuses them instead of running the network
    again (frames are still decoded: that is cheap next to the network).
    """
    info = probe(path, count=False)  # the sampler counts the decoded frames itself
    size = (extractor.input_size, extractor.input_size)
    sampler = iter_sampled_frames(info.path, step=step, fps=fps, batch_size=batch_size, size=size)
    expected = max(1, int(np.ceil(info.n_frames / step)) if step else int(np.ceil(info.duration * fps)))
    every = max(1, expected // n_thumbnails) if n_thumbnails else 0
    thumb_w = max(2, round(THUMB_HEIGHT * info.width / info.height))
    ckpt = None
    done_picks, done_feats = np.zeros(0, np.int64), np.zeros((0, 1024), np.float32)
    if checkpoint is not None:
        settings = video_settings(info.path, step=step, fps=fps, size=size, weights=extractor.weights)
        ckpt = FeatureCheckpoint(checkpoint, settings)
        done_picks, done_feats = ckpt.load() or (done_picks, done_feats)
    picks, feats, thumbs = [], [], []
    saved_at = time.monotonic()
    try:
        for batch_picks, frames in sampler:
            start = sum(len(p) for p in picks)
            end = start + len(batch_picks)
            if end <= len(done_picks) and np.array_equal(done_picks[start:end], batch_picks):
                feats.append(done_feats[start:end])
            else:
                feats.append(extractor(frames))
            picks.append(batch_picks)
            if every:
                for i in range(len(frames)):
                    if (start + i) % every == 0:
                        thumbs.append((int(batch_picks[i]), _thumbnail(frames[i], thumb_w, THUMB_HEIGHT)))
            if on_batch is not None:
                on_batch(end, expected)
            if ckpt is not None and end > len(done_picks) and time.monotonic() - saved_at > checkpoint_seconds:
                ckpt.save(np.concatenate(picks), np.concatenate(feats))
                saved_at = time.monotonic()
    except SemsumError:
        if ckpt is not None:
            ckpt.remove()  # the file is broken: features of its first part are of no use
        raise
    video = SampledVideo(
        info=info,
        picks=np.concatenate(picks),
        n_frames=int(sampler.n_decoded),
        features={"features": np.concatenate(feats).astype(np.float32)},
        step=step,
        fps=fps,
    )
    if ckpt is not None and video.n_steps > len(done_picks):
        ckpt.save(video.picks, video.features["features"])
    cps = kts(video.features["features"], max_segment=max_segment)
    bounds = np.concatenate([[0], cps, [video.n_steps]])
    video.step_segments = np.stack([bounds[:-1], bounds[1:] - 1], axis=1)
    return video, thumbs


def split_long_shots(segments: np.ndarray, max_len: int) -> np.ndarray:
    """Split every inclusive [start, end] segment longer than `max_len` into equal consecutive parts that fit.

    A shot longer than the whole budget can never be selected by the knapsack; its parts can.
    """
    out = []
    for s, e in np.asarray(segments, dtype=np.int64):
        parts = -(-(e - s + 1) // max(max_len, 1))
        bounds = np.linspace(s, e + 1, parts + 1).round().astype(np.int64)
        out.extend(zip(bounds[:-1], bounds[1:] - 1, strict=True))
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


@dataclass
class SummaryResult:
    """What `summarize` computed and wrote."""

    out_dir: Path
    scorer: str
    video: SampledVideo
    step_scores: np.ndarray
    frame_scores: np.ndarray
    kts_shots: np.ndarray  # [n_kts_shots, 2] inclusive frame segments found by KTS
    change_points: np.ndarray  # [n_shots, 2] the selection units: KTS shots, long ones split to fit the budget
    shot_scores: np.ndarray
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
    extractor: FeatureExtractor,
    budget: float = 0.15,
    step: int | None = 15,
    fps: float | None = None,
    batch_size: int = 32,
    max_segment: int | None = MAX_SEGMENT,
    show_progress: bool = True,
) -> SummaryResult:
    """Summarize one video file into `out_dir` (summary.mp4, scores.json, timeline.png)."""
    from semsum.summary.timeline import plot_timeline
    from semsum.video.write import write_summary

    if not 0 < budget < 1:
        raise SemsumError(f"budget must be in (0, 1), got {budget}")
    out = Path(out_dir)
    with progress_bars(show_progress) as bar:
        task = bar.add_task("features (GoogLeNet pool5)", total=None)

        def on_batch(done: int, expected: int) -> None:
            bar.update(task, completed=done, total=max(done, expected))

        video, thumbs = sample_video(
            video_path,
            extractor,
            step,
            fps,
            batch_size,
            max_segment,
            on_batch,
            n_thumbnails=N_THUMBNAILS,
            checkpoint=out / "features.npz",
        )
        bar.update(task, total=video.n_steps, completed=video.n_steps)
        kts_shots = change_points_to_segments(video.step_segments[1:, 0], video.picks, video.n_frames)
        # Selection units: KTS shots, those longer than the budget split into equal parts that fit it.
        video.step_segments = split_long_shots(video.step_segments, max(1, int(budget * video.n_steps)))
        cps = change_points_to_segments(video.step_segments[1:, 0], video.picks, video.n_frames)
        steps = np.asarray(scorer(video), dtype=np.float64).reshape(-1)
        if steps.shape != (video.n_steps,) or not np.all(np.isfinite(steps)):
            raise SemsumError(
                f"{video.path}: scorer {scorer.name!r} returned {steps.shape} scores, not {video.n_steps}"
            )
        # The knapsack keeps only shots of positive value: scores of any scale are shifted so the lowest is
        # (just above) zero, which leaves their order and differences as they are.
        steps = steps - min(float(steps.min()), 0.0) + 1e-9
        frames = frame_scores(steps, video.picks, video.n_frames)
        shots = shot_scores(frames, cps)
        selected = select_shots(shots, cps, video.n_frames, budget)
        if not selected:
            raise SemsumError(f"{video.path}: {budget:.0%} of {video.n_frames} frames is too short for any shot")
        write = bar.add_task("summary.mp4", total=video.n_frames)
        written = write_summary(
            video.path, out / "summary.mp4", cps[selected], progress=lambda i: bar.update(write, completed=i)
        )
        bar.update(write, completed=video.n_frames)
    result = SummaryResult(
        out,
        scorer.name,
        video,
        steps,
        frames,
        kts_shots,
        cps,
        shots,
        selected,
        written.n_frames,
        written.duration,
        written.has_audio,
    )
    fps_out = video.info.fps
    title = (
        f"{video.path.name}: {len(selected)} of {len(cps)} shots, {written.duration:.1f} s of "
        f"{video.n_frames / fps_out:.1f} s; scorer: {scorer.name.split(' ')[0]}"
    )
    plot_timeline(out / "timeline.png", frames, cps, selected, fps_out, thumbs, title, kts_shots[1:, 0])
    write_json(out / "scores.json", scores_document(result, budget, extractor.weights))
    return result


def scores_document(r: SummaryResult, budget: float, weights: str) -> dict[str, Any]:
    """scores.json: the scorer, the sampling, per-step and per-frame scores, every shot and the selection."""
    fps = r.video.info.fps
    sel = set(r.selected)
    return {
        "video": str(r.video.path),
        "scorer": r.scorer,
        "features": {"extractor": "GoogLeNet pool5 (1024-d)", "weights": weights},
        "budget": budget,
        "fps": fps,
        "n_frames": r.video.n_frames,
        "duration": r.video.n_frames / fps,
        "has_audio": r.video.info.has_audio,
        "sampling": {"step": r.video.step} if r.video.step else {"fps": r.video.fps},
        "picks": r.video.picks.tolist(),
        "step_scores": r.step_scores.tolist(),
        "frame_scores": np.round(r.frame_scores, 6).tolist(),
        "shots": [
            {
                "start_frame": int(s),
                "end_frame": int(e),
                "start_time": s / fps,
                "end_time": (e + 1) / fps,
                "score": float(v),
                "selected": i in sel,
            }
            for i, ((s, e), v) in enumerate(zip(r.change_points, r.shot_scores, strict=True))
        ],
        "selected_shots": list(r.selected),
        "kts_boundaries": [int(s) for s in r.kts_shots[1:, 0]],
        "summary": {
            "file": "summary.mp4",
            "n_frames": r.summary_frames,
            "duration": r.summary_seconds,
            "fraction": r.summary_frames / r.video.n_frames,
            "has_audio": r.summary_has_audio,
        },
    }
