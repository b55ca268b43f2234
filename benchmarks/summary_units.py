"""What the default summary is made of, on real clips and generated videos: segments, budget fill, scenes hit.

For each video: `semsum summarize` with the default settings (coverage scorer, KTS shots; GoogLeNet with
random weights unless --googlenet-weights is given, since ImageNet weights cannot be downloaded everywhere),
then from scores.json:
- segments: contiguous runs of the summary (adjacent selected units count once);
- fill: summary frames / (budget x n_frames);
- scenes: of the video's true scenes (hand-checked cuts for bikes and big_buck_bunny, the generated cuts for
  the demo and the 10-minute video), the fraction in which a segment starts.

    python benchmarks/summary_units.py [--ten-minutes] [--out units.json] [-- extra summarize options]
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from semsum.video.synthetic import make_scene_video

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
CLIPS = {  # name -> first frame of each true cut (None: one shot); see tests/pipeline/test_summarize.py
    "big_buck_bunny_0_30.webm": [283, 376, 551],
    "bikes.mp4": [30, 76, 137, 187, 242],
    "bottle-detection.mp4": None,
    "car-detection.mp4": None,
    "one-by-one-person-detection.mp4": None,
    "vtest.avi": None,
}
DEMO_SCENES = (6.0, 9.0, 12.0, 15.0, 18.0)  # semsum.pipeline.demo.SCENES
TEN_MINUTE_SCENES = [8, 12, 20, 15, 10, 25, 14, 18, 9, 16, 22, 11, 13, 19, 17, 24, 10, 15, 12, 21,
                     14, 16, 9, 23, 18, 11, 20, 13, 15, 17, 12, 19, 22, 10, 16, 14, 18, 11]  # fmt: skip


def generated(path: Path, scenes: list[float], fps: float, size: tuple[int, int]) -> list[int]:
    """The video (made once, then reused) and its cuts."""
    meta = path.with_suffix(".json")
    if not (path.is_file() and meta.is_file()):
        cuts = make_scene_video(path, scenes, fps, size, audio=True)
        meta.write_text(json.dumps(cuts))
    return json.loads(meta.read_text())


def measure(video: Path, cuts: list[int] | None, out: Path, extra: list[str]) -> dict:
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "semsum", "summarize", str(video), "-o", str(out), *extra]
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        return {"video": video.name, "error": done.stderr.strip().splitlines()[-1]}
    doc = json.loads((out / "scores.json").read_text())
    kept = [u for u in doc["units"] if u["selected"]]
    # A segment starts at a kept unit that does not continue the previous one.
    starts = [
        b["start_frame"]
        for a, b in itertools.pairwise([None, *kept])
        if a is None or b["start_frame"] != a["end_frame"] + 1
    ]
    row = {
        "video": video.name,
        "seconds": round(seconds, 1),
        "duration": round(doc["duration"], 1),
        "units": len(doc["units"]),
        "segments": len(starts),
        "fill": round(doc["summary"]["n_frames"] / (doc["budget"] * doc["n_frames"]), 3),
        "over_budget": doc["summary"]["n_frames"] > doc["budget"] * doc["n_frames"],
    }
    if cuts:
        bounds = np.array([0, *cuts, doc["n_frames"]])
        hit = {int(np.searchsorted(bounds, s, side="right")) - 1 for s in starts}
        row["scenes"] = f"{len(hit)}/{len(bounds) - 1}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ten-minutes", action="store_true", help="also the generated 10-minute 720p video")
    parser.add_argument("--work", type=Path, default=Path("/tmp/semsum_bench"))
    parser.add_argument("--out", type=Path, help="write the rows as JSON")
    parser.add_argument("extra", nargs="*", help="options passed to summarize (after --)")
    args = parser.parse_args()
    extra = args.extra or ["--random-googlenet"]
    args.work.mkdir(parents=True, exist_ok=True)
    videos = [(MEDIA / name, cuts) for name, cuts in CLIPS.items()]
    videos.append((args.work / "demo.mp4", generated(args.work / "demo.mp4", list(DEMO_SCENES), 30.0, (320, 240))))
    if args.ten_minutes:
        scale = 600 / sum(TEN_MINUTE_SCENES)
        scenes = [round(s * scale, 2) for s in TEN_MINUTE_SCENES]
        videos.append(
            (args.work / "ten_minutes.mp4", generated(args.work / "ten_minutes.mp4", scenes, 30.0, (1280, 720)))
        )
    rows = [measure(v, cuts, args.work / f"out_{v.stem}", extra) for v, cuts in videos]
    print("| video | duration s | units | segments | fill | scenes hit | seconds |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['video']} | error: {r['error']} |")
            continue
        over = " (over)" if r["over_budget"] else ""
        print(
            f"| {r['video']} | {r['duration']} | {r['units']} | {r['segments']} | {r['fill']}{over} | "
            f"{r.get('scenes', '-')} | {r['seconds']} |"
        )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
