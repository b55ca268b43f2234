"""Streamed training at Mr.HiSum scale: seconds per epoch and peak memory on a synthetic file in the official schema.

    # 1. the file (once): 2,500 videos of 120-300 s at 1024-d, about 2 GB
    PYTHONPATH=src python benchmarks/mrhisum_stream.py make --h5 /tmp/mrhisum_2500.h5 --videos 2500
    # 2. one epoch, measured from outside (peak resident memory of the trainer and its reader processes)
    /usr/bin/time -v env PYTHONPATH=src python benchmarks/mrhisum_stream.py train --h5 /tmp/mrhisum_2500.h5 \\
        --out /tmp/mrhisum_run --model pgl-sum --batch-size 64 [--device cuda]

`/usr/bin/time -v` reports the largest single process's peak; the script also samples, every 0.5 s, the total
proportional set size (PSS: shared pages split between the processes that share them) of itself and its reader
processes, and prints that peak too.

The split keeps 20 validation and 20 test videos (the rest train), so the epoch is the training pass plus a small
validation pass; the extrapolation to the 27,892 official training videos is linear in seconds of video. Prints one
markdown row for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time
from pathlib import Path

from semsum.data.mrhisum import MrHiSumFile
from semsum.testing import make_mrhisum_file, write_mrhisum_split
from semsum.training.stream import StreamConfig, train_stream

OFFICIAL_TRAIN = 27_892


def make(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    keys = make_mrhisum_file(args.h5, n_videos=args.videos, seconds=(120, 300), dim=1024, seed=0)
    write_mrhisum_split(Path(args.h5).with_suffix(".split.json"), keys, val=20, test=20)
    size = Path(args.h5).stat().st_size / 1e9
    print(f"{args.h5}: {len(keys)} videos, {size:.2f} GB in {time.perf_counter() - t0:.0f} s")


def _descendants(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        children += [int(c) for c in task.read_text().split()]
    return children + [d for c in children for d in _descendants(c)]


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:  # the process ended meanwhile
        pass
    return 0


class PeakPss:
    """Peak total PSS (MB) of this process and its descendants, sampled by a daemon thread."""

    def __init__(self, every: float = 0.5):
        self.peak_mb, self.every = 0.0, every
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        me = os.getpid()
        while True:
            total = sum(_pss_kb(p) for p in [me, *_descendants(me)])
            self.peak_mb = max(self.peak_mb, total / 1024)
            time.sleep(self.every)


def train(args: argparse.Namespace) -> None:
    peak = PeakPss()
    split = Path(args.h5).with_suffix(".split.json")
    shutil.rmtree(args.out, ignore_errors=True)
    cfg = StreamConfig(
        model=args.model,
        epochs=1,
        batch_size=args.batch_size,
        pass_frames=args.pass_frames,
        workers=args.workers,
        prefetch=args.prefetch,
        float16=args.float16,
        device=args.device,
        model_kwargs={"cnn_weights": "random"} if args.model == "csta" else {},
    )
    results = train_stream(args.h5, split, args.out, cfg, show_progress=False)
    train_keys = json.loads(split.read_text())["train_keys"]
    with MrHiSumFile(args.h5) as f:
        seconds_of_video = sum(f.length(k) for k in train_keys)
    epoch = results["history"][0]["seconds"]
    per_video_second = epoch / seconds_of_video
    mean_length = seconds_of_video / len(train_keys)
    print(
        f"| {args.model} | {len(train_keys)} | {args.batch_size} | {args.pass_frames} | {args.workers} | "
        f"{'fp16' if args.float16 else 'fp32'} | {args.device} | {epoch:.0f} | "
        f"{per_video_second * mean_length * OFFICIAL_TRAIN / 3600:.1f} | total PSS peak {peak.peak_mb:.0f} MB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("--h5", required=True)
    m.add_argument("--videos", type=int, default=2500)
    t = sub.add_parser("train")
    t.add_argument("--h5", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--model", default="pgl-sum")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--pass-frames", type=int, default=2048)
    t.add_argument("--workers", type=int, default=2)
    t.add_argument("--prefetch", type=int, default=2)
    t.add_argument("--float16", action="store_true")
    t.add_argument("--device", default="cpu")
    args = parser.parse_args()
    make(args) if args.command == "make" else train(args)


if __name__ == "__main__":
    main()
