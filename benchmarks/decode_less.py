"""Decode less (issue 26 item 3): does decoding only the reference frames pay, and what does it change in a summary?

For each video (the six clips of ../shared/media, then any given), at the stride `summarize` chooses for it:
1. the sampling pass's decoding alone (`FrameSampler` at 224x224 with one decoding thread, as beside GoogLeNet on a
   CPU), every frame against reference frames only, alternated `--runs` times: medians, and how far picks moved;
2. with `--overlap`: `summarize(..., --shots kts, --random-googlenet)` with the picks of a full decode and as it
   decides now (reference frames where they pay: `SamplingConfig.for_shots`), separate caches: whether it skipped,
   units equal or not, and the overlap of the two selections (frames selected by both / frames selected from the
   full decode's picks).

    python benchmarks/decode_less.py [--runs 3] [--overlap] [--out rows.json] [VIDEO ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from semsum.pipeline.sampling import SamplingConfig
from semsum.pipeline.stages import StageConfig
from semsum.pipeline.summarize import auto_sampling, summarize
from semsum.video.decode import FrameSampler, probe

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
CLIPS = ["big_buck_bunny_0_30.webm", "bikes.mp4", "bottle-detection.mp4", "car-detection.mp4",
         "one-by-one-person-detection.mp4", "vtest.avi"]  # fmt: skip


def decode_pass(video: Path, stride: int, reference_only: bool) -> tuple[float, np.ndarray, bool]:
    """Seconds of one sampling pass (no network), its picks, and whether frames were skipped."""
    start = time.perf_counter()
    sampler = FrameSampler(video, stride=stride, size=(224, 224), threads=1, reference_only=reference_only)
    picks = np.concatenate([p for p, _ in sampler])
    return time.perf_counter() - start, picks, sampler.skips


def decoding(video: Path, stride: int, runs: int) -> dict:
    """Both passes alternated `runs` times after one untimed (the file in the page cache): median seconds, their
    ratio, picks moved."""
    seconds: dict[bool, list[float]] = {False: [], True: []}
    picks: dict[bool, np.ndarray] = {}
    decode_pass(video, stride, False)
    for _ in range(runs):
        for ref in (False, True):
            took, picks[ref], skips = decode_pass(video, stride, ref)
            seconds[ref].append(took)
    exact = picks[False]
    moved = np.abs(picks[True] - exact) if len(picks[True]) == len(exact) else None
    full, less = statistics.median(seconds[False]), statistics.median(seconds[True])
    return {
        "video": video.name,
        "stride": stride,
        "every frame s": round(full, 2),
        "reference frames s": round(less, 2),
        "ratio": round(full / less, 2),
        "skips": skips,
        "picks moved": int((moved > 0).sum()) if moved is not None else "count differs",
        "most moved": int(moved.max()) if moved is not None else None,
        "picks": len(exact),
    }


def selection(video: Path, reference_only: bool | None, work: Path) -> tuple[np.ndarray, np.ndarray, bool]:
    """Units and selected frames of `summarize` with KTS shots, from the picks of a full decode (False) or as
    `summarize` decides (None), and whether it decoded reference frames only."""
    sampling = SamplingConfig(stride=None, reference_only=reference_only)
    config = StageConfig("googlenet", "kts", "coverage", sampling, "cpu", {"random_googlenet": True})
    encoder, detector = config.build()
    name = f"{video.stem}_{'all' if reference_only is False else 'now'}"
    r = summarize(video, work / name, config.build_scorer(), encoder, detector, sampling, show_progress=False,
                  cache_dir=work / f"cache_{name}")  # fmt: skip
    frames = np.zeros(r.video.n_frames, dtype=bool)
    for a, b in r.units[r.selected]:
        frames[a : b + 1] = True
    return r.units, frames, bool(r.video.sampling.reference_only)


def overlap(video: Path, work: Path) -> dict:
    units_all, all_frames, _ = selection(video, False, work)
    units_now, now_frames, skipped = selection(video, None, work)
    same = units_all.shape == units_now.shape and bool((units_all == units_now).all())
    both = int((all_frames & now_frames).sum())
    return {"summarize skips": skipped, "same units": same, "overlap": round(both / max(1, int(all_frames.sum())), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--overlap", action="store_true", help="also the summaries' overlap (--shots kts)")
    parser.add_argument("--no-clips", action="store_true", help="only the videos given")
    parser.add_argument("--out", type=Path, help="write the rows as JSON")
    args = parser.parse_args()
    videos = ([] if args.no_clips else [MEDIA / c for c in CLIPS]) + args.videos
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for video in videos:
            stride = auto_sampling(SamplingConfig(stride=None), object(), probe(video)).stride
            row = decoding(video, stride, args.runs)
            if args.overlap:
                row.update(overlap(video, Path(tmp)))
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
