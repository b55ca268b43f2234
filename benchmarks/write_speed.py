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

With `--clips CLIP ...`, instead: the data the writer's cost check (`semsum.video.cutcost`) is calibrated on. For each
clip, its selections: the default summary's (`semsum summarize CLIP --random-googlenet`), the re-run's with
`--budget 0.3`, and (H.264 only) three 2-second units starting on IDRs and `--random` random selections (2-4 units
of 1-3 s); each written `--runs` times by the full re-encode, the smart cut and the automatic choice, alternated, with
the sampling's picks as anchors (as `summarize` writes): median seconds, the estimated work of both writers, and
whether the choice was the faster writer.

With `--encoders CLIP ...`: the full re-encode of each clip's default selection under x264 settings (`SETTINGS`,
through `semsum.video.write.SUMMARY_X264`), alternated `--runs` times: median wall and CPU seconds, output size and
the PSNR of the output's frames against the source's (mean and lowest, 4:2:0 planes).
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
from unittest import mock

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from semsum.video import write
from semsum.video.smartcut import GopIndex, index_gops
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


def write_once(video: Path, units: list[tuple[int, int]], out: Path, smart: bool | None, anchors=None) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    written = write_summary(video, out, units, smart_cut=smart, anchors=anchors)
    row = {"seconds": round(time.perf_counter() - start, 2), "cpu_seconds": round(time.process_time() - cpu, 2)}
    return row | {"frames": written.n_frames, "copied": written.copied, "report": written.report()}


SETTINGS = {  # session 11's comparison (session 8's, from veryfast crf 23 on: benchmarks/RESULTS.md)
    "superfast, crf 25 (sessions 8-10)": {"preset": "superfast", "crf": "25"},
    "ultrafast, crf 25": {"preset": "ultrafast", "crf": "25"},
    "ultrafast, crf 25, deblock, cabac, 8x8dct": {
        "preset": "ultrafast",
        "crf": "25",
        "x264-params": "deblock=1:cabac=1:8x8dct=1",
    },
    "ultrafast, crf 25, deblock, cabac, 8x8dct, scenecut (SUMMARY_X264 now)": write.SUMMARY_X264,
}


def psnr(out: Path, source: list[np.ndarray]) -> tuple[float, float]:
    """Mean and lowest PSNR (dB) of `out`'s frames against the `source` frames (yuv420p arrays, in order)."""
    with av.open(str(out)) as c:
        got = [f.to_ndarray(format="yuv420p") for f in c.decode(video=0)]
    assert len(got) == len(source), (len(got), len(source))
    mse = [np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(got, source, strict=True)]
    db = [10 * np.log10(255**2 / max(m, 1e-10)) for m in mse]
    return round(float(np.mean(db)), 2), round(float(np.min(db)), 2)


def encoder_settings(clips: list[Path], work: Path, runs: int) -> None:
    """One JSON line per clip and x264 setting: median seconds of the full re-encode, size, PSNR."""
    for clip in clips:
        found, anchors = selections(clip, work)
        units = found["default"]
        wanted = {i for s, e in units for i in range(s, e + 1)}
        with av.open(str(clip)) as c:
            source = [f.to_ndarray(format="yuv420p") for i, f in enumerate(c.decode(video=0)) if i in wanted]
        times: dict[str, list[dict]] = {name: [] for name in SETTINGS}
        out, quality = work / "encoders.mp4", {}
        for _ in range(runs):
            for name, options in SETTINGS.items():
                with mock.patch.dict(write.SUMMARY_X264, options, clear=True):
                    times[name].append(write_once(clip, units, out, False, anchors))
                quality[name] = (out.stat().st_size, psnr(out, source))
        for name, (size, db) in quality.items():
            row = {"clip": clip.name, "setting": name, "runs_s": [t["seconds"] for t in times[name]]}
            row |= {k: statistics.median(t[k] for t in times[name]) for k in ("seconds", "cpu_seconds")}
            row |= {"bytes": size, "psnr_mean_min": db}
            print(json.dumps(row | {"frames": len(source), "load": os.getloadavg()[0]}), flush=True)


Selections = dict[str, list[tuple[int, int]]]


def selections(clip: Path, work: Path, randoms: int = 0) -> tuple[Selections, tuple[np.ndarray, np.ndarray]]:
    """The clip's selections to write (see the module's docstring), and the sampling's picks with their times."""
    out, env = work / f"out_{clip.stem}", {**os.environ, "SEMSUM_CACHE": str(work / "cache_clips")}
    semsum = [sys.executable, "-m", "semsum", "summarize", str(clip), "--random-googlenet", "-o", str(out)]
    found = {}
    for name, extra in (("default", []), ("budget 0.3", ["--budget", "0.3"])):
        subprocess.run([*semsum, *extra], env=env, check=True, capture_output=True)
        doc = json.loads((out / "scores.json").read_text())
        found[name] = [(u["start_frame"], u["end_frame"]) for u in doc["units"] if u["selected"]]
    with av.open(str(clip)) as c:
        v = c.streams.video[0]
        index = index_gops(c, v)
        start = float((v.start_time or 0) * v.time_base)
    if isinstance(index, GopIndex):
        seconds = round(2 * doc["fps"])
        cuts = [int(x) for x in index.cuts[:-1] if x + seconds <= index.n_frames]
        chosen = [cuts[round(i * (len(cuts) - 1) / 2)] for i in range(3)]
        found["on IDRs"] = [(c, c + seconds - 1) for c in sorted(set(chosen))]
        rng = np.random.default_rng(0)
        for k in range(randoms):  # 2-4 units of 1-3 s anywhere (cut short before the next one)
            starts = np.sort(rng.choice(index.n_frames - 2 * seconds, rng.integers(2, 5), replace=False))
            ends = starts + rng.integers(seconds // 2, 3 * seconds // 2, len(starts))
            ends = np.minimum(ends, np.append(starts[1:], index.n_frames) - 1)
            found[f"random {k}"] = [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
    picks = np.asarray(doc["picks"], np.int64)
    return found, (picks, start + picks / doc["fps"])


def calibrate(clips: list[Path], work: Path, runs: int, extra: int) -> None:
    """One JSON line per clip and selection: median seconds of each writer, estimates, the choice's speed."""
    for clip in clips:
        decode = statistics.median(plain_decode(clip) for _ in range(runs))
        found, anchors = selections(clip, work, extra)
        for name, units in found.items():
            rows: dict[str, list[dict]] = {"full": [], "smart": [], "auto": []}
            for _ in range(runs):
                for mode, smart in (("full", False), ("smart", True), ("auto", None)):
                    rows[mode].append(write_once(clip, units, work / "calibrate.mp4", smart, anchors))
            median = {k: statistics.median(r["seconds"] for r in v) for k, v in rows.items()}
            cpu = {k: statistics.median(r["cpu_seconds"] for r in v) for k, v in rows.items()}
            faster = "smart cut" if median["smart"] < median["full"] else "full re-encode"
            chose = rows["auto"][0]["report"]["writer"]
            print(json.dumps({
                "clip": clip.name, "selection": name, "units": units, "plain_decode_s": round(decode, 3),
                "seconds": median, "cpu_seconds": cpu, "estimates": rows["smart"][0]["report"]["estimates"],
                "chose": chose, "faster": faster, "right": chose == faster, "load": os.getloadavg()[0],
            }), flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/semsum_bench"))
    parser.add_argument("--video", type=Path, help="measure this video instead of the generated 10-minute one")
    parser.add_argument("--minutes", type=float, default=10.0, help="the generated video's first scenes only")
    parser.add_argument("--clips", type=Path, nargs="+", help="calibrate the writer's cost check on these clips")
    parser.add_argument("--random", type=int, default=0, help="with --clips: this many random selections more")
    parser.add_argument("--encoders", type=Path, nargs="+", help="compare x264 settings of the full re-encode")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.encoders:
        encoder_settings(args.encoders, args.work, args.runs)
        return
    if args.clips:
        calibrate(args.clips, args.work, args.runs, args.random)
        return
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
