"""Where a warm re-run of `semsum summarize` spends its wall time, stage by stage, and A/B rounds of two installs.

Issue 26's re-run (`semsum summarize CLIP --random-googlenet --budget 0.2` on a features cache a first run left) is
mostly start-up and writing. `--stages` runs it in this interpreter with wall clocks around the stages (no cProfile,
which inflates Python-heavy parts): the imports of `semsum.cli`, then of the timed modules (numpy, PyAV, the
pipeline: the run would import them as it parses its options), the CLI up to `summarize` (checking the input,
building the options and the stages), the video's check and plan, the cache key (hashing the file), reading the
cache, shots (cached), units, scores, writing summary.mp4, timeline.png (with its imports) and scores.json. Without
`--stages` it alternates whole re-runs of each `--semsum` executable (A, B, A, B, ...) on the same warm cache and
prints every round's wall and CPU seconds and peak memory, the medians, B/A, and the load average.

    python benchmarks/rerun_stages.py CLIP --stages [--cache DIR]
    python benchmarks/rerun_stages.py CLIP --semsum A/bin/semsum --semsum B/bin/semsum [--rounds 5] [--cache DIR]

The cache must be warm (run `SEMSUM_CACHE=DIR semsum summarize CLIP --random-googlenet` once before).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ARGS = ("--random-googlenet", "--budget", "0.2")
# stage: "module:attribute", the callables timed by --stages; where one calls another, both are shown.
TIMED = {
    "cli: parse the arguments (options made: stage modules imported)": "semsum.cli.video:_Summarize.parse_args",
    "cli: check the input (twice)": "semsum.video.probe:check_input",
    "cli: the command (its imports, the check, the stages, summarize)": "semsum.cli.declared:DeclaredCommand.invoke",
    "cli: build the stages": "semsum.pipeline.stages:StageConfig.build",
    "summarize: check and plan": "semsum.pipeline.summarize:_plan",
    "summarize: cache key (hash of the file)": "semsum.pipeline.cache:content_hash",
    "summarize: read the features cache": "semsum.pipeline.summarize:_sample",
    "summarize: shots (cached)": "semsum.pipeline.summarize:cached_shots",
    "summarize: units": "semsum.pipeline.summarize:make_units",
    "summarize: scores": "semsum.pipeline.summarize:score_video",
    "summarize: summary.mp4 (writer)": "semsum.pipeline.summarize:_write_summary",
    "summarize: timeline.png (with imports)": "semsum.summary.timeline:plot_timeline",
    "summarize: scores.json": "semsum.pipeline.summarize:write_json",
    "summarize (all)": "semsum.pipeline.summarize:summarize",
}


def timed_stage(seconds: dict[str, float], stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn`, adding its wall seconds to `seconds[stage]` (also used by write_stages.py)."""

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - start

    return timed


def stages(clip: Path, out: Path) -> dict[str, float]:
    """One re-run in this interpreter, wall seconds per stage (stages missing from this install are left out)."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    from semsum.cli import app

    seconds["import semsum.cli"] = time.perf_counter() - start
    imported = time.perf_counter()
    for stage, where in TIMED.items():
        module, attr = where.split(":")
        owner: Any = importlib.import_module(module)
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        if hasattr(owner, name):
            setattr(owner, name, timed_stage(seconds, stage, getattr(owner, name)))
    import semsum.pipeline as pipeline  # the CLI calls `semsum.pipeline.summarize`, re-exported there

    pipeline.summarize = importlib.import_module("semsum.pipeline.summarize").summarize
    # the run would import these itself, as it parses its options and starts `summarize`
    seconds["import the timed modules (numpy, PyAV, the pipeline)"] = time.perf_counter() - imported
    try:
        app(["summarize", str(clip), "-o", str(out), *ARGS], prog_name="semsum")
    except SystemExit as e:
        assert not e.code, e.code
    seconds["in this interpreter (after start-up)"] = time.perf_counter() - start
    return {k: round(v, 3) for k, v in seconds.items()}


def alternate(clip: Path, out: Path, executables: list[str], rounds: int) -> dict[str, Any]:
    """Whole re-runs of each executable in turn, `rounds` times: wall and CPU (user + system) seconds and peak
    memory, their medians, and the medians' ratios to the first executable's (CPU time is the steadier under load)."""
    runs: dict[str, dict[str, list[float]]] = {e: {"wall": [], "cpu": [], "peak_mb": []} for e in executables}
    loads = []
    for _ in range(rounds):
        for exe in executables:
            loads.append(os.getloadavg()[0])
            start = time.perf_counter()
            cmd = [exe, "summarize", str(clip), "-o", str(out), *ARGS]
            child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(child.pid, 0)
            assert status == 0, (cmd, status)
            runs[exe]["wall"].append(round(time.perf_counter() - start, 2))
            runs[exe]["cpu"].append(round(usage.ru_utime + usage.ru_stime, 2))
            runs[exe]["peak_mb"].append(round(usage.ru_maxrss / 1024))
    medians = {e: {k: statistics.median(v) for k, v in r.items()} for e, r in runs.items()}
    base = medians[executables[0]]
    ratios = {e: {k: round(v / base[k], 3) for k, v in m.items()} for e, m in medians.items()}
    return {"clip": clip.name, "runs": runs, "medians": medians, "over_first": ratios, "load": [min(loads), max(loads)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", type=Path)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rerun_stages/cache"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/rerun_stages/out"))
    parser.add_argument("--stages", action="store_true", help="Time the stages of one re-run in this interpreter.")
    parser.add_argument("--semsum", action="append", default=[], help="An executable to alternate (give two).")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ["SEMSUM_CACHE"] = str(args.cache)
    if args.stages:
        row = {"clip": args.clip.name, "load": os.getloadavg()[0], **stages(args.clip, args.out)}
    else:
        row = alternate(args.clip, args.out, args.semsum, args.rounds)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    sys.exit(main())
