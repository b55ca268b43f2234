"""One progress-bar factory for every long job (extraction, dataset builds, training, F(x)).

On a terminal: rich bars on stderr that vanish when done (stdout stays for results and one-line errors). When
stderr is not a terminal (a log file, a pipe, a job scheduler): plain lines, one per task when it starts moving,
then at most every few seconds, and when it completes, so a long job never looks dead.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

PLAIN_EVERY_SECONDS = 10.0


class PlainProgress(Progress):
    """A rich Progress that draws nothing live and instead prints `description: done/total` lines to stderr."""

    def __init__(self, every: float = PLAIN_EVERY_SECONDS):
        super().__init__(disable=True)
        self.every = every
        self._said: dict[TaskID, tuple[float, bool]] = {}  # last line's time, and whether it said "done"

    def update(self, task_id: TaskID, **kwargs: Any) -> None:
        super().update(task_id, **kwargs)
        self._say(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._say(task_id)

    def _say(self, task_id: TaskID) -> None:
        task = self._tasks[task_id]
        last, finished = self._said.get(task_id, (None, False))
        now = time.monotonic()
        if finished or (not task.finished and last is not None and now - last < self.every) or not task.completed:
            return
        total = f"/{task.total:g}" if task.total else ""
        print(f"{task.description}: {task.completed:g}{total}", file=sys.stderr, flush=True)
        self._said[task_id] = (now, task.finished)


def progress_bars(show: bool = True) -> Progress:
    """A Progress for long jobs (a context manager): rich bars on a terminal, plain lines otherwise, or silent."""
    if show and not sys.stderr.isatty():
        return PlainProgress()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=Console(stderr=True), transient=True, disable=not show)
