"""One progress-bar factory for every long job (extraction, dataset builds, training, F(x)).

Bars go to stderr, so stdout stays for results and one-line errors, and vanish when done.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def progress_bars(show: bool = True) -> Progress:
    """A rich Progress on stderr (disabled when `show` is false); use as a context manager."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=Console(stderr=True), transient=True, disable=not show)
