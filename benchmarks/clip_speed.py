"""Issue 26's short-clip acceptance: `semsum summarize` on real clips against one plain PyAV decode of the same file.

For each clip: the plain decode, a first run with a fresh features cache and a re-run with another budget on that
cache, each the median of `--runs` (the runs as wall seconds and peak memory under `/usr/bin/time -v`), and the
ratios to the plain decode. The plain decode is timed before every run (median of 2 x `--runs`), so the ratios divide
times measured under the same conditions (since session 12; before, 3 decodes before all the runs). The ONNX Runtime
exports are made once before timing (a user pays them once per machine, not per video); say so beside the numbers.
semsum's modules are byte-compiled first (`make bytecode`), as an installed package's are: the dev VM's shell sets
PYTHONDONTWRITEBYTECODE, under which every run before session 12 compiled them from source.

    python benchmarks/clip_speed.py CLIP [CLIP ...] [--runs 3] [--work /tmp/clip_speed] [--extra "SUMMARIZE ARGS"]
        [--no-warm-up (the exports are cached already: skip the untimed first run, which is long on long videos)]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summarize_speed import timed
from write_speed import plain_decode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/clip_speed"))
    parser.add_argument("--extra", default="--random-googlenet", help="More summarize arguments (one string).")
    parser.add_argument("--no-warm-up", action="store_true", help="The ONNX exports are cached already.")
    args = parser.parse_args()
    semsum = str(Path(sys.executable).with_name("semsum"))
    compileall.compile_dir(Path(__file__).resolve().parents[1] / "src", quiet=1)
    shutil.rmtree(args.work, ignore_errors=True)
    for clip in args.clips:
        base = [semsum, "summarize", str(clip), "-o", str(args.work / "out"), *args.extra.split()]
        env = {**os.environ, "SEMSUM_CACHE": str(args.work / "warm")}
        if not args.no_warm_up:
            timed(base, env)  # exports the ONNX networks once (kept in the user cache), outside the timing
        decodes, first, rerun = [], [], []
        for i in range(args.runs):
            env = {**os.environ, "SEMSUM_CACHE": str(args.work / f"cache_{clip.stem}_{i}")}
            for runs, cmd in ((first, base), (rerun, [*base, "--budget", "0.2"])):
                decodes.append(plain_decode(clip))
                runs.append(timed(cmd, env))
        decode = statistics.median(decodes)
        row = {"clip": clip.name, "plain_decode_s": round(decode, 3), "decodes_s": [round(d, 3) for d in decodes]}
        row["load"] = os.getloadavg()[0]
        for name, runs in (("first", first), ("rerun", rerun)):
            assert all(r["status"] == 0 for r in runs), runs
            wall = statistics.median(r["seconds"] for r in runs)
            row[name] = {"runs_s": [r["seconds"] for r in runs], "median_s": wall}
            row[name] |= {"over_decode": round(wall / decode, 2), "peak_mb": max(r["peak_mb"] for r in runs)}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
