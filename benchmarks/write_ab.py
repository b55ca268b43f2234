"""The summary writer of two checkouts, alternated: `write_summary` of one selection per clip, in a fresh process of
each checkout's Python, A then B then B then A..., so that both meet the same machine load.

The selection is a re-run's (`scores.json` of `semsum summarize CLIP --budget B`: its selected units, and its picks
as the seek anchors, as `summarize` passes them), made once with the first interpreter and then written by both.
Each process times `write_summary` alone (imports excluded): wall and CPU seconds (its threads included) and its peak
memory; one JSON line per clip with the medians, B / A, and the load average before each round.

    python benchmarks/write_ab.py --python A=/work/main/.venv/bin/python --python B=.venv/bin/python
        [--runs 5] [--budget 0.2] [--work /tmp/semsum_ab] CLIP...
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

# Run inside each checkout's interpreter: write the units of a scores.json and report the time it took.
WRITE = """
import json, os, resource, sys, time
import numpy as np
from semsum.video.write import write_summary
doc = json.loads(open(sys.argv[2]).read())
units = [(u["start_frame"], u["end_frame"]) for u in doc["units"] if u["selected"]]
picks = np.asarray(doc["picks"], np.int64)
start, cpu = time.perf_counter(), time.process_time()
w = write_summary(sys.argv[1], sys.argv[3], units, anchors=(picks, float(sys.argv[4]) + picks / doc["fps"]))
print(json.dumps({"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "frames": w.n_frames,
                  "copied": w.copied, "bytes": os.path.getsize(sys.argv[3])}))
"""


def selection(python: str, clip: Path, work: Path, budget: float) -> tuple[Path, float]:
    """The re-run's scores.json (a first run fills the cache), and the video stream's start second."""
    env = {**os.environ, "SEMSUM_CACHE": str(work / "cache")}
    out = work / f"select_{clip.stem}"
    cmd = [python, "-m", "semsum", "summarize", str(clip), "--random-googlenet", "-o"]
    subprocess.run([*cmd, str(work / f"first_{clip.stem}")], env=env, check=True, capture_output=True)
    subprocess.run([*cmd, str(out), "--budget", str(budget)], env=env, check=True, capture_output=True)
    probe = "import av, sys; v = av.open(sys.argv[1]).streams.video[0]; print(float((v.start_time or 0) * v.time_base))"
    start = subprocess.run([python, "-c", probe, str(clip)], check=True, capture_output=True, text=True).stdout
    return out / "scores.json", float(start)


def write_once(python: str, clip: Path, scores: Path, out: Path, start: float) -> dict:
    done = subprocess.run(
        [python, "-c", WRITE, str(clip), str(scores), str(out), str(start)], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", type=Path, nargs="+")
    parser.add_argument("--python", action="append", required=True, help="NAME=INTERPRETER, twice")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budget", type=float, default=0.2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/semsum_ab"))
    args = parser.parse_args()
    pythons = dict(p.split("=", 1) for p in args.python)
    if len(pythons) != 2:
        sys.exit("give --python twice: NAME=INTERPRETER")
    args.work.mkdir(parents=True, exist_ok=True)
    for clip in args.clips:
        scores, start = selection(next(iter(pythons.values())), clip, args.work, args.budget)
        rows: dict[str, list[dict]] = {name: [] for name in pythons}
        loads = []
        for k in range(args.runs):
            loads.append(round(os.getloadavg()[0], 2))
            for name in list(pythons)[:: 1 if k % 2 == 0 else -1]:  # A B, B A, A B ...
                rows[name].append(write_once(pythons[name], clip, scores, args.work / f"{name}.mp4", start))
        med = {n: {k: round(statistics.median(r[k] for r in v), 3) for k in v[0]} for n, v in rows.items()}
        a, b = list(pythons)
        print(json.dumps({
            "clip": clip.name, "runs_s": {n: [round(r["seconds"], 2) for r in v] for n, v in rows.items()},
            "median": med, f"{b}/{a} wall": round(med[b]["seconds"] / med[a]["seconds"], 3),
            f"{b}/{a} cpu": round(med[b]["cpu_seconds"] / med[a]["cpu_seconds"], 3), "load": loads,
        }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
