"""Where the per-video work of a job runs: in this process (`local`) or on a Ray cluster (`ray`).

Both executors call the same per-video function (a `Work` loads it, with its models, once per process) and hand
back one `Outcome` per video; `drive` is the one driver loop: it skips videos already finished (a re-run
recomputes nothing), keeps each finished video as it comes, shows one progress bar over videos and names every
video that failed in a JSON report. `run_videos` drives a dataset file's jobs (one part per video, the parts merged
atomically), `semsum.pipeline.batch` a folder of summaries (one folder per video); both raise `VideosFailed` when
any video failed (the CLI's exit status 2).

On Ray, each actor holds one loaded copy of the work (one model per actor) and decodes, samples and encodes a
whole video as one task, so decoded frames never leave the actor and only features travel back; at most
`queue_depth` videos wait per actor (backpressure however many videos are listed). An actor process that dies
(SIGKILL, out of memory, a lost node) is restarted by Ray, which runs its unfinished videos again, up to
`max_retries` times each. Plain Ray actors rather than Ray Data: a video is one indivisible, variable-length
stream, so a dataset of frame batches would only add serialization through the object store, the `ray[data]`
dependencies (pyarrow) and a scheduler's start-up on every run, and per-video retries are simpler to see here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from semsum.atomic import read_json, write_json
from semsum.data.h5 import Dataset, PartsWriter
from semsum.errors import SemsumError
from semsum.progress import progress_bars

RUN_MANIFEST = "run.json"  # in the parts folder: the file attributes of the run (its models and settings)


class Job(Protocol):
    """One video of a job: its key in the output file and its file."""

    key: str
    path: Path


class Work(Protocol):
    """The per-video work of a job, picklable, so that each worker process can load its own copy."""

    def load(self) -> tuple[Callable[[Any], Any], dict[str, str]]:
        """The per-video function with its models loaded, and the file attributes that describe them.

        The function's result (a `VideoData` for dataset files) has `n_steps`, the frames it sampled."""
        ...


#: Writes a job's output from its parts: (parts, keys in order, file attributes, keep the parts) -> the dataset.
Merge = Callable[[PartsWriter, list[str], dict[str, Any], bool], Dataset]


@dataclass
class Outcome:
    """What became of one video: the work's result (its group, for dataset files), or the problem that stopped it."""

    job: Any
    video: Any = None
    problem: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    worker: int = field(default_factory=os.getpid)  # the process that made it

    @property
    def line(self) -> str:
        """The one line that names the file and its problem."""
        return f"{self.job.path}: {self.problem}"


class VideosFailed(SemsumError):
    """Some videos failed; every other one was written (`dataset`: the file, or the keys written; None if none
    was) and all are in `report`."""

    def __init__(self, failures: list[Outcome], report: Path, dataset: Sized | None):
        super().__init__(f"{len(failures)} video(s) failed; see {report}")
        self.failures, self.report, self.dataset = failures, report, dataset


def process_one(fn: Callable[[Any], Any], attrs: dict[str, str], job: Job) -> Outcome:
    """`fn(job)` as an Outcome: an error in one video (corrupt, unreadable, a stage's failure) becomes its problem."""
    start = time.monotonic()
    try:
        video = fn(job)
    except Exception as e:  # one bad video never stops the others; its one line says what went wrong
        text = str(e) if isinstance(e, SemsumError) else f"{type(e).__name__}: {e}"
        prefix = f"{job.path}: "
        problem = text[len(prefix) :] if text.startswith(prefix) else text
        return Outcome(job, problem=problem.splitlines()[0] if problem else type(e).__name__, attrs=attrs)
    return Outcome(job, video, attrs=attrs, seconds=time.monotonic() - start)


class Executor(Protocol):
    """Runs a `Work` on each job and yields one Outcome per job, in any order."""

    name: str
    shared_disk: bool  # whether the workers see the driver's files (then the feature cache may live beside them)

    def run(self, jobs: Sequence[Job], work: Work) -> Iterator[Outcome]: ...


@dataclass
class LocalExecutor:
    """In this process, one video after another: today's behaviour."""

    name: str = "local"
    shared_disk: bool = True
    retries: int = 0  # worker restarts (none in process); here for the report

    def run(self, jobs: Sequence[Job], work: Work) -> Iterator[Outcome]:
        if not jobs:
            return
        fn, attrs = work.load()  # outside the per-video errors: a model that cannot load stops the job
        for job in jobs:
            yield process_one(fn, attrs, job)


class _VideoActor:
    """A Ray actor with one loaded copy of the work (one model per actor); Ray re-runs this after a restart."""

    def __init__(self, work: Work):
        self.error: str | None = None
        try:
            self.fn, self.attrs = work.load()
        except SemsumError as e:
            self.error = str(e)

    def ready(self) -> tuple[int, str | None]:
        return os.getpid(), self.error

    def process(self, job: Job) -> Outcome:
        return process_one(self.fn, self.attrs, job)


@dataclass
class RayExecutor:
    """On Ray: an actor pool of `actors`, each with `cpus_per_actor` CPUs and `gpus_per_actor` GPUs.

    `address`: a running cluster's (`ray start --head` prints it); None: `$RAY_ADDRESS`, else a local instance
    started for the run (with `num_cpus`, default all) and shut down after it. A Ray already initialised in this
    process is used as it is.
    """

    address: str | None = None
    actors: int = 1
    gpus_per_actor: float = 0.0
    cpus_per_actor: float = 1.0
    num_cpus: int | None = None
    max_retries: int = 3
    queue_depth: int = 2
    name: str = "ray"
    shared_disk: bool = False
    retries: int = 0  # worker processes that replaced dead ones (seen returning a video), in the last run

    def __post_init__(self) -> None:
        if self.actors < 1 or self.gpus_per_actor < 0 or self.cpus_per_actor < 0 or self.max_retries < 0:
            raise SemsumError(
                f"ray executor: need --actors >= 1 and non-negative resources, got actors={self.actors}, "
                f"gpus_per_actor={self.gpus_per_actor}, cpus_per_actor={self.cpus_per_actor}"
            )

    def run(self, jobs: Sequence[Job], work: Work) -> Iterator[Outcome]:
        if not jobs:
            return
        try:
            import ray
        except ModuleNotFoundError:
            raise SemsumError("--executor ray needs the ray package: pip install 'semsum[ray]'") from None
        started = self._connect(ray)
        try:
            yield from self._run(ray, list(jobs), work)
        finally:
            if started:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """Connect to (or start) Ray unless this process already did; True if this run must shut it down."""
        if ray.is_initialized():
            return False
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        try:
            if address:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            else:
                ray.init(
                    num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING
                )
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise SemsumError(f"ray at {address or 'a new local instance'}: cannot start or connect ({e})") from None
        return True

    def _run(self, ray: Any, jobs: list[Job], work: Work) -> Iterator[Outcome]:
        # Ray restarts a dead actor (which loads the model again) and re-runs its unfinished videos on it.
        remote = ray.remote(
            num_cpus=self.cpus_per_actor,
            num_gpus=self.gpus_per_actor,
            max_restarts=-1,
            max_task_retries=self.max_retries,
        )(_VideoActor)
        pool = [remote.remote(work) for _ in range(min(self.actors, len(jobs)))]
        try:
            ready = ray.get([a.ready.remote() for a in pool])
            for _, error in ready:
                if error is not None:
                    raise SemsumError(error)
            yield from self._schedule(ray, pool, jobs, {pid for pid, _ in ready})
        finally:
            for actor in pool:
                ray.kill(actor)

    def _schedule(self, ray: Any, pool: list[Any], jobs: list[Job], pids: set[int]) -> Iterator[Outcome]:
        """Keep `queue_depth` videos per actor in flight; count restarts as worker processes not seen before."""
        waiting = deque(jobs)
        running: dict[Any, tuple[int, Job]] = {}
        load = [0] * len(pool)
        first = len(pids)
        self.retries = 0

        def fill() -> None:
            for i in range(len(pool)):
                while waiting and load[i] < self.queue_depth:
                    job = waiting.popleft()
                    running[pool[i].process.remote(job)] = (i, job)
                    load[i] += 1

        fill()
        while running:
            (ref,), _ = ray.wait(list(running), num_returns=1)
            i, job = running.pop(ref)
            load[i] -= 1
            try:
                outcome = ray.get(ref)
                pids.add(outcome.worker)
                self.retries = len(pids) - first
            except ray.exceptions.RayError as e:  # its worker died max_retries + 1 times
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                outcome = Outcome(job, problem=f"its worker died {self.max_retries + 1} times ({reason})")
            yield outcome
            fill()


def check_settings(manifest: Path, attrs: dict[str, Any], what: str = "unfinished parts") -> None:
    """Record a job's settings in `manifest`, or refuse to mix `what` it holds, made with other settings."""
    if not manifest.is_file():
        write_json(manifest, attrs)
        return
    old = read_json(manifest)
    diff = sorted(k for k in set(old) | set(attrs) if old.get(k) != attrs.get(k))
    if diff:
        raise SemsumError(
            f"{manifest.parent}: {what} were made with other settings ({', '.join(diff)}); "
            "rerun with the same settings or delete that folder"
        )


def report_path(out: str | os.PathLike[str]) -> Path:
    """The JSON report beside `out` (`x.h5` -> `x.report.json`): what was computed, skipped and failed."""
    return Path(out).with_suffix(".report.json")


@dataclass
class _Tally:
    """What a `run_videos` call did so far: the videos it computed, those that failed, the frames it sampled."""

    computed: list[str] = field(default_factory=list)
    failures: list[Outcome] = field(default_factory=list)
    steps: int = 0
    start: float = field(default_factory=time.monotonic)

    def line(self, skipped: int) -> str:
        rate = self.steps / max(time.monotonic() - self.start, 1e-9)
        done = len(self.computed) + skipped
        return f"videos ({done} done, {len(self.failures)} failed, {rate:.1f} frames/s)"


def _write_report(
    report: Path,
    out: str | os.PathLike[str],
    executor: Executor,
    jobs: Sequence[Job],
    good: list[str],
    skipped: list[str],
    tally: _Tally,
) -> None:
    """The JSON `report` on the output `out`: what was written, skipped, computed and failed, and how fast."""
    seconds = time.monotonic() - tally.start
    write_json(
        report,
        {
            "output": str(out),
            "executor": executor.name,
            "videos": len(jobs),
            "written": good,
            "skipped": skipped,
            "computed": tally.computed,
            "failures": [{"file": str(f.job.path), "key": f.job.key, "problem": f.problem} for f in tally.failures],
            "worker_restarts": getattr(executor, "retries", 0),
            "seconds": round(seconds, 3),
            "sampled_frames": tally.steps,
            "frames_per_second": round(tally.steps / seconds, 3) if seconds > 0 else None,
        },
    )


@dataclass(frozen=True)
class Driven:
    """What `drive` did: the keys finished at the end (in job order), those it computed, the videos that failed, and
    the report."""

    good: list[str]
    computed: list[str]
    failures: list[Outcome]
    report: Path


def drive(
    jobs: Sequence[Job],
    work: Work,
    executor: Executor,
    done: Callable[[str], bool],
    keep: Callable[[Outcome], None],
    out: str | os.PathLike[str],
    report: Path,
    show_progress: bool = True,
) -> Driven:
    """Run `work` on every job that `done(key)` does not call finished, `keep` each good outcome as it comes, with
    one progress bar over the videos, then write the JSON `report` on the output `out`."""
    finished = {j.key for j in jobs if done(j.key)}
    skipped = [j.key for j in jobs if j.key in finished]
    todo = [j for j in jobs if j.key not in finished]
    tally = _Tally()
    with progress_bars(show_progress) as bar, contextlib.closing(executor.run(todo, work)) as outcomes:
        task = bar.add_task("videos", total=len(jobs), completed=len(skipped))
        for outcome in outcomes:
            if outcome.video is None:
                tally.failures.append(outcome)
            else:
                keep(outcome)
                tally.computed.append(outcome.job.key)
                tally.steps += outcome.video.n_steps
            bar.update(task, advance=1, description=tally.line(len(skipped)))
    good = [j.key for j in jobs if done(j.key)]
    _write_report(report, out, executor, jobs, good, skipped, tally)
    return Driven(good, tally.computed, tally.failures, report)


def run_videos(
    jobs: Sequence[Job],
    work: Work,
    out: str | os.PathLike[str],
    executor: Executor,
    attrs: dict[str, Any] | None = None,
    show_progress: bool = True,
    manifest: str = RUN_MANIFEST,
    merge: Merge | None = None,
) -> Dataset | None:
    """Run `work` on every job not finished yet, one part per video, then merge the parts into `out`.

    The file gets `attrs` and the work's own attributes (these win); `manifest` names the file in the parts folder
    that keeps them between runs. `merge(parts, keys, attrs, keep)` writes `out` from the parts (default: the eccv16
    file, `PartsWriter.finish`). Returns the dataset; raises `VideosFailed` after writing the good videos if any
    video failed.
    """
    parts = PartsWriter(out)
    settings = parts.parts / manifest

    def keep(outcome: Outcome) -> None:
        check_settings(settings, outcome.attrs)
        parts.put(outcome.video, {"seconds": outcome.seconds})

    driven = drive(jobs, work, executor, parts.done, keep, out, report_path(out), show_progress)
    made = read_json(settings) if settings.is_file() else {}  # parts from before manifests: no attributes
    # With failures the parts stay: the re-run (bad files fixed or removed) computes only what is missing.
    merge = merge or PartsWriter.finish
    dataset = merge(parts, driven.good, {**(attrs or {}), **made}, bool(driven.failures)) if driven.good else None
    if driven.failures:
        raise VideosFailed(driven.failures, driven.report, dataset)
    return dataset
