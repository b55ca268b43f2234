"""First runs of `semsum summarize` by two installs, alternated (A, B, A, B, ...): the cost of start-up and networks.

Issue 26's first run on a short clip: no features cached, the networks' ONNX Runtime exports already cached (each
install warms its own once before the rounds: it may name them differently). Every run gets a fresh, empty features
cache (`SEMSUM_CACHE`) and its own output folder; each round runs every executable once, so that load changes fall
on both sides. Printed as JSON: every run's wall and CPU (user + system) seconds and peak RSS (`os.wait4`) with the
load average before it, each side's medians and their ratios to the first executable's, and whether the runs' step
scores and shots agree with the first executable's first run.

    python benchmarks/first_run_ab.py CLIP --semsum A/bin/semsum --semsum B/bin/semsum [--rounds 3] [ARGS...]

ARGS (summarize's options) default to `--random-googlenet --shots kts`; `--random-googlenet` alone runs the default
shots (TransNetV2 on a short clip).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def first_run(exe: str, clip: Path, args: list[str], work: Path) -> dict[str, Any]:
    """One `exe summarize CLIP ARGS` on an empty features cache in `work`: seconds, peak, load, what it chose."""
    env = os.environ | {"SEMSUM_CACHE": str(work / "features")}
    load = os.getloadavg()[0]
    start = time.perf_counter()
    cmd = [exe, "summarize", str(clip), "-o", str(work / "out"), *args]
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit status {status}")
    doc = json.loads((work / "out" / "scores.json").read_text())
    return {
        "wall": round(wall, 2),
        "cpu": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_mb": round(usage.ru_maxrss / 1024),
        "load": round(load, 2),
        "result": [doc["step_scores"], doc["shot_boundaries"], doc["selected_units"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", type=Path)
    parser.add_argument("--semsum", action="append", required=True, help="An executable to alternate (give two).")
    parser.add_argument("--rounds", type=int, default=3)
    options, args = parser.parse_known_args()  # the rest: summarize's own options
    options.args = args or ["--random-googlenet", "--shots", "kts"]
    runs: dict[str, list[dict[str, Any]]] = {exe: [] for exe in options.semsum}
    with tempfile.TemporaryDirectory(prefix="first_run_ab_") as tmp:
        for exe in options.semsum:  # each install exports its networks if they are not cached yet
            first_run(exe, options.clip, options.args, Path(tmp) / "warm")
        for r in range(options.rounds):
            for i, exe in enumerate(options.semsum):
                runs[exe].append(first_run(exe, options.clip, options.args, Path(tmp) / f"{r}-{i}"))
    reference = runs[options.semsum[0]][0]["result"]
    medians = {
        e: {k: statistics.median(run[k] for run in rs) for k in ("wall", "cpu", "peak_mb")} for e, rs in runs.items()
    }
    base = medians[options.semsum[0]]
    print(json.dumps({
        "clip": options.clip.name,
        "args": options.args,
        "runs": {e: [{k: v for k, v in run.items() if k != "result"} for run in rs] for e, rs in runs.items()},
        "same_result": {e: all(run["result"] == reference for run in rs) for e, rs in runs.items()},
        "medians": medians,
        "over_first": {e: {k: round(v / base[k], 3) for k, v in m.items()} for e, m in medians.items()},
    }))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
