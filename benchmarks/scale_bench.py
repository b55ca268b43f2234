"""Ray's overhead and scaling for `semsum dataset build` (issue 14): local executor vs Ray, 1 and 2 CPU actors.

Builds the same eccv16 file from `--videos` generated two-scene videos with random-init GoogLeNet (224 px, pool5)
and KTS, once per executor, and prints a Markdown table: wall time, sampled frames/s, and the ratio to local.
Ray's start-up (`ray.init`, a fresh local instance limited to `--cpus`) is timed on its own; actors start inside
each timed run (each loads its own model), as in a real run.

Run: .venv/bin/python benchmarks/scale_bench.py [--videos 20] [--seconds 6] [--cpus 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import ray

from semsum.pipeline.build import build_dataset
from semsum.pipeline.executors import Executor, LocalExecutor, RayExecutor, report_path
from semsum.pipeline.stages import StageConfig
from semsum.video.synthetic import make_scene_video


def timed_build(videos: Path, out: Path, stages: StageConfig, executor: Executor) -> tuple[float, int]:
    """Wall seconds of one build, and the sampled frames it encoded."""
    start = time.perf_counter()
    build_dataset(videos, out, stages=stages, executor=executor, show_progress=False)
    seconds = time.perf_counter() - start
    return seconds, json.loads(report_path(out).read_text())["sampled_frames"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each video (two scenes)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    args = parser.parse_args()
    stages = StageConfig(shots="kts", device="cpu", options={"random_googlenet": True})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        videos = root / "videos"
        for i in range(args.videos):
            half = args.seconds / 2
            make_scene_video(videos / f"v{i:02d}.mp4", (half, half + (i % 3) / 3), fps=30, size=(160, 120), audio=False)
        rows = [("local (in process)", *timed_build(videos, root / "local.h5", stages, LocalExecutor()))]
        start = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - start
        try:
            for actors in (1, 2):
                seconds, frames = timed_build(videos, root / f"ray{actors}.h5", stages, RayExecutor(actors=actors))
                rows.append((f"ray, {actors} CPU actor{'s' if actors > 1 else ''}", seconds, frames))
        finally:
            ray.shutdown()
    local = rows[0][1]
    print(
        f"{args.videos} videos of {args.seconds:g}-{args.seconds + 2 / 3:.1f} s (160x120, 30 fps, step 15); "
        f"ray.init of a local instance with {args.cpus} CPUs: {ray_start:.1f} s (not in the rows)\n"
    )
    print("| executor | wall s | sampled frames/s | videos/s | wall / local |")
    print("|---|---|---|---|---|")
    for name, seconds, frames in rows:
        print(
            f"| {name} | {seconds:.1f} | {frames / seconds:.1f} | {args.videos / seconds:.2f} | {seconds / local:.2f} |"
        )


if __name__ == "__main__":
    main()
