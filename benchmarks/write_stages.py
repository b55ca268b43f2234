"""Where the summary writer's seconds go, and what the smart cut's edge settings cost, for one selection.

The selection is a re-run's `scores.json` (its selected units; its picks as the seek anchors, as `summarize` passes
them). Each run is one `write_summary` call in this process, every stage timed by wrapping the writer's functions
(wall seconds inside each; decoding in the full re-encode's prefetch thread overlaps `add_frame` and is not
counted apart), one JSON line per run. Run it with each checkout's Python to compare them stage by stage.

    python benchmarks/write_stages.py VIDEO SCORES_JSON [--mode auto|full|smart] [--runs 3]
        [--settings '{"name": {"preset": "superfast", "crf": 18}, ...}']

With `--settings`, the smart cut is written under each setting of its edges (smartcut.PRESET, EDGE_CRF;
`"smart": false` for a full re-encode), alternated `--runs` times, with the PSNR of the re-encoded frames against
the source's (mean, lowest; 4:2:0 planes), whether the copied frames are bit-exact, and the file's size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import av
import numpy as np

from semsum.video import smartcut, write
from semsum.video.write import write_summary

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rerun_stages import timed_stage

STAGES = [  # (module or class, function, stage name)
    (write, "copy_audio", "audio"),
    (write, "_gop_index", "GOP index"),
    (smartcut.Edge, "feed", "edges: decode and encode"),
    (smartcut.Edge, "finish", "edges: drain"),
    (smartcut.PacketSink, "put", "packets copied and muxed"),
    (write.Mp4Writer, "add_frame", "full re-encode: encode and mux"),
]
KNOBS = {"preset": "PRESET", "crf": "EDGE_CRF"}


def timed_stages(stack: ExitStack, seconds: dict[str, float]) -> None:
    """Wrap each stage's function so that its wall seconds add up in `seconds`."""
    for owner, name, stage in STAGES:
        if hasattr(owner, name):
            stack.enter_context(mock.patch.object(owner, name, timed_stage(seconds, stage, getattr(owner, name))))


def write_once(video: Path, units: list, anchors: tuple, out: Path, smart: bool | None, stages: bool) -> dict:
    seconds: dict[str, float] = {}
    with ExitStack() as stack:
        if stages:
            timed_stages(stack, seconds)
        start, cpu = time.perf_counter(), time.process_time()
        written = write_summary(video, out, units, anchors=anchors, smart_cut=smart)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    report = written.report()
    return {"seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "frames": written.n_frames,
            "copied": written.copied, "writer": report["writer"], "estimates": report["estimates"],
            "stages": {k: round(v, 2) for k, v in seconds.items()}, "bytes": out.stat().st_size,
            "load": round(os.getloadavg()[0], 2)}  # fmt: skip


def quality(video: Path, units: list, out: Path, copied: set[int]) -> dict:
    """PSNR of the re-encoded frames of `out` against the source's; whether the copied ones are bit-exact."""
    wanted = [i for s, e in units for i in range(s, e + 1)]
    keep = set(wanted)
    with av.open(str(video)) as c:
        source = {i: f.to_ndarray(format="yuv420p") for i, f in enumerate(c.decode(video=0)) if i in keep}
    with av.open(str(out)) as c:
        got = [f.to_ndarray(format="yuv420p") for f in c.decode(video=0)]
    db, exact = [], True
    for frame, i in zip(got, wanted, strict=True):
        if i in copied:
            exact &= bool(np.array_equal(frame, source[i]))
        else:
            mse = np.mean((frame.astype(np.float64) - source[i]) ** 2)
            db.append(10 * np.log10(255**2 / max(float(mse), 1e-10)))
    return {"psnr_mean_min": [round(float(np.mean(db)), 2), round(float(np.min(db)), 2)], "copied_exact": exact}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("scores", type=Path)
    parser.add_argument("--mode", choices=("auto", "full", "smart"), default="auto")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settings", type=json.loads)
    parser.add_argument("--out", type=Path, default=Path("/tmp/semsum_write_stages.mp4"))
    args = parser.parse_args()
    doc = json.loads(args.scores.read_text())
    units = [(u["start_frame"], u["end_frame"]) for u in doc["units"] if u["selected"]]
    with av.open(str(args.video)) as c:
        v = c.streams.video[0]
        start = float((v.start_time or 0) * v.time_base)
    picks = np.asarray(doc["picks"], np.int64)
    anchors = (picks, start + picks / doc["fps"])
    if not args.settings:
        smart = {"auto": None, "full": False, "smart": True}[args.mode]
        for _ in range(args.runs):
            print(json.dumps(write_once(args.video, units, anchors, args.out, smart, True)), flush=True)
        return
    index = write._gop_index(args.video)
    copied = {i for s, e in units for i in range(*smartcut.copy_range(index, s, e))}
    rows: dict[str, list[dict]] = {name: [] for name in args.settings}
    for k in range(args.runs):
        for name, setting in args.settings.items():
            with ExitStack() as stack:
                for key, attr in KNOBS.items():
                    if key in setting:
                        stack.enter_context(mock.patch.object(smartcut, attr, setting[key]))
                smart = setting.get("smart", True)
                rows[name].append(write_once(args.video, units, anchors, args.out, smart, False))
            if k == 0:
                rows[name][0] |= quality(args.video, units, args.out, copied if smart else set())
    for name, runs in rows.items():
        median = {key: statistics.median(r[key] for r in runs) for key in ("seconds", "cpu_seconds")}
        first = {k: runs[0][k] for k in ("psnr_mean_min", "copied_exact", "bytes", "copied")}
        loads = [r["load"] for r in runs]
        print(json.dumps({"setting": name, **median, **first, "runs_s": [r["seconds"] for r in runs], "load": loads}))


if __name__ == "__main__":
    main()
