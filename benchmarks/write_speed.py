"""Summary writer speed: smart cut against a full re-encode, and the re-run of `semsum summarize` it serves.

On the generated 10-minute 1280x720 30 fps video of `benchmarks/summary_units.py --ten-minutes` (made in --work once,
then reused), all in one run so the ratios share the machine's state:
1. a plain PyAV decode of every frame of the file (the unit of issue 26's goals), `--runs` times;
2. `semsum summarize VIDEO --random-googlenet` once (fills the features cache), then the re-run with `--budget 0.2`
   under /usr/bin/time, `--runs` times: wall seconds, and their ratio to the plain decode;
3. `write_summary` of the re-run's selected units (its scores.json), full re-encode and smart cut alternated
   `--runs` times in this process: seconds, frames copied, and the ratio of the medians.

    python benchmarks/write_speed.py [--runs 3] [--work /tmp/semsum_bench] [--video PATH (instead of the generated one)]
        [--minutes M (only the 10-minute video's first scenes, up to M minutes: the same scenes, GOPs and rate)]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from semsum.video.write import write_summary
from summarize_speed import timed
from summary_units import TEN_MINUTE_SCENES, generated


def plain_decode(path: Path) -> float:
    """Seconds to decode every frame with PyAV (FFmpeg's threads), nothing else."""
    start = time.perf_counter()
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in c.decode(stream):
            pass
    return time.perf_counter() - start


def write_once(video: Path, units: list[tuple[int, int]], out: Path, smart: bool) -> dict:
    start = time.perf_counter()
    written = write_summary(video, out, units, smart_cut=smart)
    return {"seconds": round(time.perf_counter() - start, 2), "frames": written.n_frames, "copied": written.copied}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/semsum_bench"))
    parser.add_argument("--video", type=Path, help="measure this video instead of the generated 10-minute one")
    parser.add_argument("--minutes", type=float, default=10.0, help="the generated video's first scenes only")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    video = args.video or args.work / (
        "ten_minutes.mp4" if args.minutes >= 10 else f"first_{args.minutes:g}_minutes.mp4"
    )
    if args.video is None:
        scale = 600 / sum(TEN_MINUTE_SCENES)
        scenes = [round(s * scale, 2) for s in TEN_MINUTE_SCENES]
        scenes = scenes[: int(np.searchsorted(np.cumsum(scenes), args.minutes * 60 + 1e-6, side="right")) or 1]
        generated(video, scenes, 30.0, (1280, 720))
    decode = [round(plain_decode(video), 2) for _ in range(args.runs)]
    cache = args.work / "cache_write_speed"
    shutil.rmtree(cache, ignore_errors=True)
    env = {"SEMSUM_CACHE": str(cache), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    semsum = [sys.executable, "-m", "semsum", "summarize", str(video), "--random-googlenet"]
    subprocess.run([*semsum, "-o", str(args.work / "write_speed_first")], env=env, check=True, capture_output=True)
    out = args.work / "write_speed_rerun"
    reruns = [timed([*semsum, "-o", str(out), "--budget", "0.2"], env) for _ in range(args.runs)]
    doc = json.loads((out / "scores.json").read_text())
    units = [(u["start_frame"], u["end_frame"]) for u in doc["units"] if u["selected"]]
    writes: dict[str, list[dict]] = {"full re-encode": [], "smart cut": []}
    for _ in range(args.runs):
        for name, smart in (("full re-encode", False), ("smart cut", True)):
            writes[name].append(write_once(video, units, args.work / "write_speed.mp4", smart))
    median = {k: statistics.median(r["seconds"] for r in v) for k, v in writes.items()}
    rerun = statistics.median(r["seconds"] for r in reruns)
    summary = {
        "video": str(video),
        "units": len(units),
        "plain_decode_seconds": decode,
        "rerun": reruns,
        "rerun_over_decode": round(rerun / statistics.median(decode), 2),
        "writes": writes,
        "full_over_smart": round(median["full re-encode"] / median["smart cut"], 2),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
