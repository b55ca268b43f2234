"""How fast `semsum summarize` is on a long video: first run, re-run with another budget, and resume after Ctrl-C.

On the generated 10-minute 1280x720 30 fps video of `benchmarks/summary_units.py --ten-minutes` (made there, then
reused), each run under `/usr/bin/time -v` (wall seconds and peak memory), with a fresh features cache for every
first run:
- first run: `semsum summarize VIDEO --random-googlenet` (n times; median);
- re-run: the same with `--budget 0.2` on the cache the first run left (n times; median);
- interrupted: Ctrl-C (SIGINT) `--interrupt-after` seconds into a first run, then the same command again; the
  re-run's time against a run from zero.

    python benchmarks/summarize_speed.py [--runs 3] [--interrupt-after 30] [--work /tmp/semsum_bench]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_units import TEN_MINUTE_SCENES, generated


def timed(cmd: list[str], env: dict[str, str], interrupt_after: float | None = None) -> dict:
    """Wall seconds, peak RSS (MB) and exit status of `cmd` under /usr/bin/time -v (SIGINT after a delay)."""
    start = time.perf_counter()
    # A job started in the background of a non-interactive shell inherits SIGINT ignored, and so would the command
    # (Python then installs no KeyboardInterrupt handler): restore the default, as a terminal's foreground job has.
    proc = subprocess.Popen(["/usr/bin/time", "-v", *cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    if interrupt_after is not None:
        time.sleep(interrupt_after)
        subprocess.run(["pkill", "-INT", "-f", "semsum summarize"], check=False)
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    status = re.search(r"Exit status: (\d+)", err)
    return {
        "seconds": round(wall, 2),
        "peak_mb": round(int(rss.group(1)) / 1024) if rss else None,
        "status": int(status.group(1)) if status else proc.returncode,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--interrupt-after", type=float, default=30.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/semsum_bench"))
    parser.add_argument("--interrupt-only", action="store_true", help="Only the Ctrl-C and resume runs.")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    scale = 600 / sum(TEN_MINUTE_SCENES)
    video = args.work / "ten_minutes.mp4"
    generated(video, [round(s * scale, 2) for s in TEN_MINUTE_SCENES], 30.0, (1280, 720))
    semsum = [sys.executable, "-m", "semsum", "summarize", str(video), "--random-googlenet"]
    rows: dict[str, list[dict]] = {"first": [], "rerun": [], "interrupted": [], "resumed": []}
    for i in range(0 if args.interrupt_only else args.runs):
        cache = args.work / f"cache_{i}"
        shutil.rmtree(cache, ignore_errors=True)
        env = {"SEMSUM_CACHE": str(cache), "PATH": "/usr/bin:/bin"}
        rows["first"].append(timed([*semsum, "-o", str(args.work / f"speed_{i}")], env))
        rows["rerun"].append(timed([*semsum, "-o", str(args.work / f"speed_{i}b"), "--budget", "0.2"], env))
    cache = args.work / "cache_interrupted"
    shutil.rmtree(cache, ignore_errors=True)
    env = {"SEMSUM_CACHE": str(cache), "PATH": "/usr/bin:/bin"}
    out = ["-o", str(args.work / "speed_interrupted")]
    rows["interrupted"].append(timed([*semsum, *out], env, interrupt_after=args.interrupt_after))
    rows["resumed"].append(timed([*semsum, *out], env))
    summary = {
        k: {"median_seconds": statistics.median(r["seconds"] for r in v), "runs": v} for k, v in rows.items() if v
    }
    if "first" in summary:
        saved = summary["first"]["median_seconds"] - summary["resumed"]["median_seconds"]
        summary["resume_saves_seconds"] = round(saved, 1)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
