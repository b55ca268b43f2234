"""What every trainer writes at the end of a run: `results.json`, `results.md` (one table) and TensorBoard logs."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from semsum.atomic import atomic_path, write_json
from semsum.progress import progress_bars


def results_markdown(title: str, notes: Sequence[str], header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A run's results.md: a title, lines of notes, then one table (`header`, then one row per entry)."""
    lines = [f"# {title}", "", *notes, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def record_run(
    out: Path,
    body: Callable[[Any, Any], dict[str, Any]],
    markdown: Callable[[dict[str, Any]], str],
    show_progress: bool = True,
) -> dict[str, Any]:
    """`body(writer, progress)` with a TensorBoard writer in `out/tb` and progress bars; write its results.

    The results get `wall_seconds_this_call` and are written to `out/results.json` and (as `markdown` renders
    them) `out/results.md`, each atomically.
    """
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(out / "tb"))
    t0 = time.perf_counter()
    try:
        with progress_bars(show_progress) as progress:
            results = body(writer, progress)
    finally:
        writer.close()
    results["wall_seconds_this_call"] = time.perf_counter() - t0
    write_json(out / "results.json", results)
    with atomic_path(out / "results.md") as tmp:
        tmp.write_text(markdown(results))
    return results
