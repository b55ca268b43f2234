"""Summarize every video in a folder: `semsum summarize DIR/ -o OUT/` (`summarize_folder`).

Each video gets the output folder of a one-video `summarize` inside OUT, at its path relative to DIR without the
suffix (`DIR/a/b.mp4` -> `OUT/a/b/`; videos that share a stem keep their suffix: `b.mp4/`, `b.webm/`). The
executors of `dataset build` run the videos (`semsum.pipeline.executors`): the models load once per process (once
in all locally, once per actor on Ray), one progress bar counts the videos, a video that fails is named on stderr
and in `OUT/report.json` while the others are written, and a re-run skips every video whose folder is complete.
Each video is checked here first (`semsum.video.probe`, no model): one that is no usable video fails at once.

A video is summarized into a temp folder where the work runs and its files travel back to be written here, so a
Ray node must see the videos but not OUT. Its folder is written atomically, scores.json last: a folder with
scores.json is complete. `OUT/settings.json` records the settings; a re-run with others is refused rather than
mixing summaries made two ways in one folder.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from semsum.atomic import atomic_folder, atomic_path
from semsum.data.h5 import natural_key
from semsum.errors import SemsumError
from semsum.features.encoders import FrameEncoder, WindowEncoder
from semsum.pipeline.executors import (
    Executor,
    LocalExecutor,
    Outcome,
    VideosFailed,
    Work,
    check_settings,
    drive,
    process_one,
)
from semsum.pipeline.sampling import SamplingConfig
from semsum.pipeline.scorers import Scorer
from semsum.pipeline.stages import StageConfig
from semsum.pipeline.summarize import DEFAULT_BUDGET, MAX_UNIT_SECONDS, summarize
from semsum.summary.shots import ShotDetector
from semsum.video.probe import CheckedVideo, check_video, find_videos

FINISHED = "scores.json"  # written last into a video's folder: its presence means the folder is complete
REPORT, SETTINGS = "report.json", "settings.json"  # in OUT


@dataclass(frozen=True)
class SummaryJob:
    """One video of a batch: its output folder relative to OUT (the job's key) and its file."""

    key: str
    path: Path


@dataclass(frozen=True)
class SummaryFiles:
    """One video's summary as it travels back from the work: its files' bytes, its warnings, the frames sampled."""

    files: dict[str, bytes]
    warnings: list[str]
    n_steps: int


@dataclass(frozen=True)
class BatchResult:
    """What `summarize_folder` did: every finished video's folder key (in order), those computed by this run, its
    report and the videos' warnings."""

    written: list[str]
    computed: list[str]
    report: Path
    warnings: list[str] = field(default_factory=list)


def plan_batch(videos_dir: str | os.PathLike[str], out: str | os.PathLike[str], recursive: bool) -> list[SummaryJob]:
    """The videos of `videos_dir` (with its subfolders if `recursive`) as jobs, in natural order; files inside
    `out` (an output folder within the input folder) are never inputs."""
    root, skip = Path(videos_dir), Path(out).resolve()
    found = [p for p in find_videos(root, recursive) if not p.resolve().is_relative_to(skip)]
    files = sorted(found, key=lambda p: natural_key(p.relative_to(root).as_posix()))
    if not files:
        raise SemsumError(f"{root}: no video files outside the output folder {out}")
    stems = [p.relative_to(root).with_suffix("").as_posix() for p in files]
    names = [p.relative_to(root).as_posix() for p in files]
    return [SummaryJob(s if stems.count(s) == 1 else n, p) for s, n, p in zip(stems, names, files, strict=True)]


def summarize_files(
    job: SummaryJob,
    scorer: Scorer,
    encoder: FrameEncoder | WindowEncoder,
    detector: ShotDetector,
    sampling: SamplingConfig,
    budget: float,
    max_unit: float,
    export: tuple[str, ...] = (),
    query: str | None = None,
) -> SummaryFiles:
    """One video's summary (`summarize`, without progress bars) as the files it wrote. Every executor calls this."""
    with tempfile.TemporaryDirectory(prefix="semsum-batch-") as tmp:
        folder = Path(tmp) / "summary"
        extra = {"max_unit": max_unit, "export": export, "query": query}
        r = summarize(job.path, folder, scorer, encoder, detector, sampling, budget, show_progress=False, **extra)
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    return SummaryFiles(files, r.warnings, r.video.n_steps)


@dataclass(frozen=True)
class SummaryWork:
    """What `summarize` does to a video (a batch's to each), loadable in any process (a Ray actor loads its own
    models)."""

    stages: StageConfig
    budget: float = DEFAULT_BUDGET
    max_unit: float = MAX_UNIT_SECONDS
    export: tuple[str, ...] = ()  # `--export` formats (`semsum.summary.export`)
    query: str | None = None  # `--query`
    # Threads of each video's networks (PyTorch, and ONNX Runtime, which takes PyTorch's count); None: the
    # process's default. A float sum depends on how it is split between threads, so `summarize_folder` gives
    # another executor's workers the count this process would use: Ray's outputs then equal the local ones.
    threads: int | None = None

    def load(self) -> tuple[Callable[[SummaryJob], SummaryFiles], dict[str, str]]:
        """The per-video function with the scorer, encoder and shot detector loaded once, and their names."""
        if self.threads is not None:
            import torch

            torch.set_num_threads(self.threads)
        scorer = self.stages.build_scorer()
        encoder, detector = self.stages.build()
        fn = functools.partial(
            summarize_files,
            scorer=scorer,
            encoder=encoder,
            detector=detector,
            sampling=self.stages.sampling,
            budget=self.budget,
            max_unit=self.max_unit,
            export=self.export,
            query=self.query,
        )
        return fn, {"scorer": scorer.name, "encoder": encoder.name, "shot_detector": detector.name}

    def settings(self) -> dict[str, Any]:
        """The settings that make a summary what it is (not the device), as JSON values: `OUT/settings.json`."""
        s = self.stages
        chosen = {"encoder": s.encoder, "shots": s.shots, "scorer": s.scorer, "options": dict(s.options)}
        asked = {"budget": self.budget, "max_unit": self.max_unit, "export": self.export, "query": self.query}
        both = {**chosen, "sampling": asdict(s.sampling), **asked}
        return json.loads(json.dumps(both, default=str))


def _check(job: SummaryJob) -> CheckedVideo:
    return check_video(job.path)


@dataclass(frozen=True)
class CheckingExecutor:
    """`inner`, but a video that is no usable video (`check_video`: PyAV alone) is refused here, before any model
    loads: a re-run of a folder with a bad file in it loads no model, and starts no Ray, for that file alone."""

    inner: Executor

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def shared_disk(self) -> bool:
        return self.inner.shared_disk

    @property
    def retries(self) -> int:
        return getattr(self.inner, "retries", 0)

    def run(self, jobs: Sequence[SummaryJob], work: Work) -> Iterator[Outcome]:
        checked = [process_one(_check, {}, job) for job in jobs]
        yield from (c for c in checked if c.video is None)
        yield from self.inner.run([c.job for c in checked if c.video is not None], work)


def write_summary_folder(folder: Path, summary: SummaryFiles) -> None:
    """A video's folder from its files, atomically, scores.json last (a folder with it is complete)."""
    with atomic_folder(folder) as tmp:
        for name, data in summary.files.items():
            if name != FINISHED:
                (tmp / name).write_bytes(data)
    with atomic_path(folder / FINISHED) as tmp:
        tmp.write_bytes(summary.files[FINISHED])


def summarize_folder(
    videos_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    work: SummaryWork,
    recursive: bool = False,
    executor: Executor | None = None,
    show_progress: bool = True,
    on_warning: Callable[[str], None] | None = None,
) -> BatchResult:
    """Summarize every video of `videos_dir` into its own folder in `out` (see the module docstring), skipping
    those finished before. Each video's warnings go to `on_warning` as they come. Raises `VideosFailed` after
    writing the others if any video failed."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SemsumError(f"{out}: exists and is not a folder; choose another output folder")
    jobs = plan_batch(videos_dir, out, recursive)
    manifest, settings = out / SETTINGS, work.settings()
    if manifest.is_file():
        check_settings(manifest, settings, "its summaries")  # before any model loads
    warnings: list[str] = []

    def keep(outcome: Outcome) -> None:
        check_settings(manifest, settings, "its summaries")  # written with the first summary
        write_summary_folder(out / outcome.job.key, outcome.video)
        warnings.extend(outcome.video.warnings)
        for warning in outcome.video.warnings if on_warning is not None else ():
            on_warning(warning)

    def done(key: str) -> bool:
        return (out / key / FINISHED).is_file()

    executor = executor or LocalExecutor()
    if not isinstance(executor, LocalExecutor) and work.threads is None:
        from semsum.device import cpu_threads  # torch's default thread count here (the local run's), without torch

        work = replace(work, threads=cpu_threads())
    checking = CheckingExecutor(executor)
    driven = drive(jobs, work, checking, done, keep, out, out / REPORT, show_progress)
    if driven.failures:
        raise VideosFailed(driven.failures, driven.report, driven.good)
    return BatchResult(driven.good, driven.computed, driven.report, warnings)
