"""`semsum reproduce`: the paper's Tables 1 and 2 from raw data, every stage kept in one store under its settings.

Per dataset and prompt: MLLM extraction (`extract_dataset`), F(x) per fold on that fold's training videos
(`train_from_h5`, `apply_to_h5`), summarizer training per input, seed and fold (`semsum.training.train`, which
evaluates through `semsum.evaluation.protocols.evaluate`), then DIR/report.md and DIR/report.json. The config
(`config`) becomes a plan, a list of stages (`plan`), run by one `semsum.data.store.Store` in DIR: a stage's
output lives in DIR/KIND/HASH/, HASH covering its settings and those of the stages it reads, so a killed run
continues where it stopped and a changed setting recomputes only what depends on it. `report` renders the result.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from semsum.atomic import atomic_path, write_json
from semsum.data.store import Store
from semsum.pipeline.reproduce.config import (
    DatasetSpec,
    ReproduceConfig,
    check_config,
    load_config,
    template,
    write_template,
)
from semsum.pipeline.reproduce.plan import KINDS, PlanRunner, Stage, build_plan
from semsum.pipeline.reproduce.report import build_report, collect, report_markdown
from semsum.progress import progress_bars

TEMPLATE = template()

__all__ = [
    "KINDS",
    "TEMPLATE",
    "DatasetSpec",
    "ReproduceConfig",
    "Stage",
    "build_plan",
    "check_config",
    "load_config",
    "reproduce",
    "write_template",
]


def reproduce(
    config: str | os.PathLike[str] | ReproduceConfig,
    out: str | os.PathLike[str],
    only: Sequence[str] | None = None,
    progress: bool = True,
) -> tuple[dict[str, Any], list[str]]:
    """Run (or continue) a reproduction; return the report and the labels of the stages computed by this call."""
    cfg = config if isinstance(config, ReproduceConfig) else load_config(config)
    store = Store(out)
    runner = PlanRunner(store, tuple(only or KINDS))
    plan = build_plan(cfg)
    store.root.mkdir(parents=True, exist_ok=True)
    with progress_bars(progress) as bars:
        task = bars.add_task("reproduce", total=len(plan))
        runner.advance = lambda label: bars.update(task, advance=1, description=label)
        runner.run(plan)
    report = build_report(cfg, *collect(plan, store), store)
    if "report" in runner.only:
        write_json(Path(out) / "report.json", report)
        with atomic_path(Path(out) / "report.md") as tmp:
            tmp.write_text(report_markdown(report))
    return report, runner.ran
