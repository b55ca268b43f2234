"""Decoding speed: semsum's sampler against a plain PyAV decode-everything loop, in the same run.

Inputs: a generated 1080p, 5-minute, 30 fps H.264 video (made once, cached beside this script) and the real
139 s clip one-by-one-person-detection.mp4 (768x432, 10 fps). For each: a plain loop that decodes every frame
and converts it to RGB (what a naive extractor does), the same loop without the RGB conversion, and
semsum.video.decode.iter_sampled_frames at 2 fps (timestamps) and every 15th frame, both scaled to
224x224 in FFmpeg as the pipeline asks.

Run: PYTHONPATH=src python benchmarks/decode_bench.py [--media ../shared/media]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import numpy as np

from semsum.video.decode import iter_sampled_frames, probe
from semsum.video.synthetic import scene_frame
from semsum.video.write import Mp4Writer

CACHE = Path(__file__).parent / ".cache"
REPEATS = 3


def make_1080p(path: Path, minutes: float = 5, fps: int = 30) -> None:
    """5 scenes of equal length; each frame is its scene's image shifted a little (cheap to generate)."""
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(minutes * 60 * fps)
    bases = [scene_frame(s, 0.3, 1920, 1080) for s in range(5)]
    tmp = path.with_suffix(".part.mp4")
    writer = Mp4Writer(tmp, fps, 1920, 1080, preset="ultrafast")
    for i in range(n):
        writer.add_frame(np.roll(bases[i * 5 // n], shift=4 * (i % 240), axis=1))
    writer.close()
    tmp.rename(path)


def plain_loop(path: Path, rgb: bool) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = 0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for frame in c.decode(s):
            if rgb:
                frame.to_ndarray(format="rgb24")
            n += 1
    return n, time.perf_counter() - t0


def sampler(path: Path, **kwargs) -> tuple[int, int, float]:
    t0 = time.perf_counter()
    s = iter_sampled_frames(path, size=(224, 224), **kwargs)
    picked = sum(len(p) for p, _ in s)
    return s.n_decoded, picked, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--media", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "media")
    args = ap.parse_args()
    big = CACHE / "scenes_1080p_5min.mp4"
    t0 = time.perf_counter()
    make_1080p(big)
    print(f"generated/cached {big} in {time.perf_counter() - t0:.0f} s")
    print("| video | method | frames decoded | frames returned | seconds | decoded frames/s | returned frames/s |")
    print("|---|---|---|---|---|---|---|")
    for path in (big, args.media / "one-by-one-person-detection.mp4"):
        info = probe(path)
        label = f"{path.name} ({info.width}x{info.height}, {info.fps:g} fps, {info.duration:.0f} s)"
        methods = [
            ("PyAV loop, every frame to RGB", lambda p=path: (*plain_loop(p, rgb=True)[:1], None)),
            ("PyAV loop, decode only", lambda p=path: (plain_loop(p, rgb=False)[0], 0)),
            ("semsum sampler, 2 fps, 224x224 RGB", lambda p=path: sampler(p, fps=2)[:2]),
            ("semsum sampler, every 15th, 224x224 RGB", lambda p=path: sampler(p, stride=15)[:2]),
        ]
        best: dict[str, float] = {}
        counts: dict[str, tuple[int, int]] = {}
        for _ in range(REPEATS):  # interleaved, best of REPEATS: the machine is shared
            for method, fn in methods:
                t0 = time.perf_counter()
                n, k = fn()
                best[method] = min(best.get(method, np.inf), time.perf_counter() - t0)
                counts[method] = (n, n if k is None else k)
        rows = [(m, *counts[m], best[m]) for m, _ in methods]
        for method, n, k, t in rows:
            print(f"| {label} | {method} | {n} | {k} | {t:.1f} | {n / t:.0f} | {k / t:.1f} |")


if __name__ == "__main__":
    main()
