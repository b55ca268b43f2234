"""What every trainer writes at the end of a run: `results.json`, `results.md` (one table) and TensorBoard logs."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from semsum.atomic import atomic_path, write_json
from semsum.evaluation.protocols import PROTOCOL_DESCRIPTIONS
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


def fmt_metric(v: float | None) -> str:
    """A metric as results.md and the model card show it (3 decimals, `-` when absent)."""
    return "-" if v is None else f"{v:.3f}"


def _selected(fold: Mapping[str, Any]) -> str:
    """What a fold's model selection chose: its `selected` label (a baseline's), else the 1-based epoch (and the
    learning rate, from an lr grid)."""
    if "selected" in fold:
        return str(fold["selected"])
    epoch = str(fold["selected_epoch"] + 1)
    return f"{epoch}, lr {fold['lr']:g}" if "lr" in fold else epoch


def run_markdown(results: Mapping[str, Any]) -> str:
    """Per-fold and mean tau/rho (both protocols) and F1 as a markdown table, naming the annotations used."""
    names, a = results["protocols"], results["annotations"]
    keys = " + ".join(results["feature_keys"])
    title = f"{results['model']} on {Path(results['h5']).name} ({keys}, {results['in_dim']}-d)"
    notes = [
        f"Model selection: {results['selection_label']}. CNN init: {results['cnn_init'] or 'n/a'}. "
        f"Parameters: {results['parameters']:,}. Training time: {results['train_seconds']:.0f} s.",
        "",
        f"Annotations: {a['source']} ({a['recognised_by']}).",
        *(f"- {n}: {PROTOCOL_DESCRIPTIONS[n]}" for n in names),
        *((f"\nNote: {a['note']}",) if a["note"] else ()),
    ]
    header = [
        "fold",
        results.get("selected_header", "epoch"),
        *(f"{k} ({n})" for n in names for k in ("tau", "rho")),
        "F1",
        "tau vs gtscore",
        "seconds",
    ]

    def row(label: str, epoch: str, m: Mapping[str, Any], seconds: str) -> list[str]:
        cells = [fmt_metric(m[n][k]) for n in names for k in ("kendall_tau", "spearman_rho")]
        return [
            label,
            epoch,
            *cells,
            fmt_metric(m[names[0]]["f_score"]),
            fmt_metric(m["gtscore"]["kendall_tau"]),
            seconds,
        ]

    rows = [row(str(f["fold"]), _selected(f), f, f"{f['seconds']:.0f}") for f in results["folds"]]
    rows.append(row("mean", "", results["mean_over_folds"], ""))
    rows.append(row("all videos, out-of-fold", "", results["out_of_fold"], ""))
    return results_markdown(title, notes, header, rows)
