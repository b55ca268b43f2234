"""Shot boundaries of KTS and TransNetV2 against known hard cuts, and the time each takes.

Detectors, as `semsum summarize` would run them on a CPU:

* KTS: GoogLeNet pool5 features of every 15th frame (224x224; `build_extractor(random_init=True)`: the ImageNet
  weights are not on this machine), `semsum.summary.kts.kts`, step boundaries turned into frame shots with
  `semsum.summary.shots.boundaries_to_shots`. Its boundaries can only fall on sampled frames (every 15th).
* TransNetV2: `semsum.summary.transnetv2.TransNetV2Detector` at its default threshold 0.5, on every frame at 48x27.

Videos: (a) the real clips of ../shared/media, with the hard cuts determined below (and four clips of a single shot,
where every boundary is false); (b) joins of 2-6 s pieces of different real clips, each inside one shot (bikes has
none longer than 2.4 s), resampled to 25 fps and 320x180 and written as mp4, whose cuts are known by construction.

Scores per video and detector, a boundary being the first frame of every shot after the first: predicted boundaries
are matched one-to-one to true cuts, closest pairs first, within a tolerance; recall within 2 frames and within 1 s
(round(fps) frames); mean absolute error in frames of the pairs matched within 1 s; false boundaries: those matched
to no cut within 1 s. Time: wall and CPU seconds (all threads) of decoding plus inference, model loading excluded
(reported once); "of which": for KTS the dynamic programme alone, all that KTS adds to `semsum summarize` (which
computes the GoogLeNet features for its scorer anyway); for TransNetV2 the decoding alone (every frame at 48x27,
timed in a separate pass), the rest being the network. Another user's jobs may share the CPU: the load average is
printed before and after, and CPU seconds are less affected by sharing than wall seconds.

Last, a speed measurement robust to a shared CPU: on one thread, the least CPU seconds of `--repeats` runs of each
detector on bikes.mp4 and Big Buck Bunny.

Run: .venv/bin/python benchmarks/shots_bench.py [--media DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from semsum.features.pool5 import build_extractor
from semsum.summary.kts import kts
from semsum.summary.shots import boundaries_to_shots
from semsum.summary.transnetv2 import FRAME_SIZE, TransNetV2Detector
from semsum.video.decode import iter_sampled_frames, probe
from semsum.video.write import Mp4Writer

ROOT = Path(__file__).resolve().parents[1]
KTS_STRIDE = 15
JOIN_FPS, JOIN_SIZE = 25.0, (320, 180)

# True hard cuts (first frame of each new shot) of the real clips. Found by the mean absolute RGB difference of
# consecutive frames decoded at 160x90: isolated peaks of 50-100 against a median of 1-4, then every candidate
# confirmed by looking at the frames on both sides. Not cuts: bikes' frames 72-75 (a fast move inside the taxi shot,
# differences ~20 each), Big Buck Bunny's fade-in from black (frames ~14-60) and its title fading in (~600-612).
# The other four clips are one shot each (largest differences 3.5-18: people walking, the car park's flicker).
REAL_CUTS = {
    "bikes.mp4": [30, 76, 137, 187, 242],
    "big_buck_bunny_0_30.webm": [283, 376, 551],
    "vtest.avi": [],
    "one-by-one-person-detection.mp4": [],
    "bottle-detection.mp4": [],
    "car-detection.mp4": [],
}

# Joins of (clip, start s, seconds) pieces, each inside one shot of its clip. The last join cuts between two moments
# of the same fixed camera (jump cuts); the third includes the car park's flicker and the title fading in.
BBB = "big_buck_bunny_0_30.webm"
JOINS = {
    "join1": [
        (BBB, 4.0, 4.0),
        ("vtest.avi", 10.0, 4.0),
        ("bottle-detection.mp4", 5.0, 5.0),
        ("car-detection.mp4", 8.0, 4.0),
    ],
    "join2": [
        ("one-by-one-person-detection.mp4", 20.0, 5.0),
        (BBB, 16.0, 5.0),
        ("car-detection.mp4", 1.0, 3.0),
        ("vtest.avi", 30.0, 6.0),
        ("bottle-detection.mp4", 20.0, 3.0),
    ],
    "join3": [
        ("car-detection.mp4", 3.0, 5.0),
        ("one-by-one-person-detection.mp4", 60.0, 4.0),
        ("bottle-detection.mp4", 30.0, 5.0),
        (BBB, 24.0, 4.0),
        ("bikes.mp4", 7.6, 2.0),  # the shot between the cuts at 7.5 s and 9.7 s
        ("vtest.avi", 50.0, 3.0),
    ],
    "join4 (jump cuts)": [
        ("vtest.avi", 0.0, 4.0),
        ("vtest.avi", 40.0, 5.0),
        ("one-by-one-person-detection.mp4", 10.0, 4.0),
        ("one-by-one-person-detection.mp4", 90.0, 5.0),
    ],
}


def piece(path: Path, start: float, seconds: float) -> np.ndarray:
    """`seconds` of `path` from `start`, at JOIN_SIZE, resampled to JOIN_FPS by taking the nearest earlier frame."""
    fps = probe(path).fps
    wanted = np.floor(start * fps + np.arange(round(seconds * JOIN_FPS)) * fps / JOIN_FPS).astype(np.int64)
    keep, frames = set(wanted.tolist()), {}
    for picks, batch in iter_sampled_frames(path, stride=1, batch_size=64, size=JOIN_SIZE):
        for i, frame in zip(picks.tolist(), batch, strict=True):
            if i in keep:
                frames[i] = frame
        if picks[-1] >= wanted[-1]:
            break
    return np.stack([frames[i] for i in wanted])


def write_join(path: Path, media: Path, pieces: list[tuple[str, float, float]]) -> list[int]:
    """Write the pieces one after another to `path` (mp4); return the true cuts."""
    parts = [piece(media / name, start, seconds) for name, start, seconds in pieces]
    writer = Mp4Writer(path, JOIN_FPS, *JOIN_SIZE)
    try:
        for frame in np.concatenate(parts):
            writer.add_frame(frame)
        writer.close()
    finally:
        writer.container.close()
    return np.cumsum([len(p) for p in parts])[:-1].tolist()


def timed(fn: Callable, *args):
    """fn(*args), its wall seconds and its CPU seconds (all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def kts_shots(extractor, path: Path) -> tuple[np.ndarray, int, float]:
    """KTS shots of `path` as the pipeline makes them, the number of decoded frames, and the seconds of the KTS
    dynamic programme alone (what KTS adds to `semsum summarize`, which computes the features anyway)."""
    sampler = iter_sampled_frames(path, stride=KTS_STRIDE, batch_size=32, size=(224, 224))
    picks, feats = [], []
    for batch_picks, frames in sampler:
        picks.append(batch_picks)
        feats.append(extractor(frames))
    picks = np.concatenate(picks)
    boundaries, dp_seconds, _ = timed(kts, np.concatenate(feats))
    return boundaries_to_shots(boundaries, picks, sampler.n_decoded), sampler.n_decoded, dp_seconds


def decode_only(path: Path) -> int:
    """Decode every frame at TransNetV2's 48x27 and nothing else (the part of its time that is not the network)."""
    return sum(len(frames) for _, frames in iter_sampled_frames(path, stride=1, batch_size=50, size=FRAME_SIZE))


def match(predicted: np.ndarray, truth: list[int], tolerance: int) -> list[tuple[int, int]]:
    """One-to-one (predicted, true) pairs within `tolerance` frames, closest pairs first."""
    pairs = sorted((abs(int(p) - t), int(p), t) for p in predicted for t in truth if abs(int(p) - t) <= tolerance)
    used_p, used_t, out = set(), set(), []
    for _, p, t in pairs:
        if p not in used_p and t not in used_t:
            used_p.add(p), used_t.add(t), out.append((p, t))
    return out


def scores(boundaries: np.ndarray, truth: list[int], fps: float) -> dict[str, float | int | str]:
    near, loose = match(boundaries, truth, 2), match(boundaries, truth, round(fps))
    n, errors = len(truth), [abs(p - t) for p, t in loose]
    return {
        "recall2": f"{len(near)}/{n}" if n else "-",
        "recall1s": f"{len(loose)}/{n}" if n else "-",
        "mae": f"{np.mean(errors):.1f}" if errors else "-",
        "false": len(boundaries) - len(loose),
        "n_near": len(near),
        "n_loose": len(loose),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_media = Path(os.environ.get("SEMSUM_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
    parser.add_argument("--media", type=Path, default=default_media)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the one-thread speed measurement")
    args = parser.parse_args()

    extractor, t_googlenet, _ = timed(lambda: build_extractor(random_init=True, device="cpu"))
    detector, t_transnet, _ = timed(lambda: TransNetV2Detector(device="cpu"))
    print(f"torch threads: {torch.get_num_threads()}; load average before: {os.getloadavg()[0]:.2f}")
    print(f"model loading: GoogLeNet (random init) {t_googlenet:.1f} s, TransNetV2 {t_transnet:.1f} s\n")

    with tempfile.TemporaryDirectory() as tmp:
        videos = [(name, args.media / name, cuts) for name, cuts in REAL_CUTS.items()]
        for name, pieces in JOINS.items():
            path = Path(tmp) / f"{name.split()[0]}.mp4"
            videos.append((name, path, write_join(path, args.media, pieces)))
        print(
            "| video | frames | fps | true cuts | detector | boundaries | recall ≤2 f | recall ≤1 s | MAE (f) | false "
            "| wall s | CPU s | frames/s | of which |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        totals = {"KTS": [], "TransNetV2": []}
        for name, path, truth in videos:
            fps = probe(path).fps
            (shots_k, n_frames, dp), wall_k, cpu_k = timed(kts_shots, extractor, path)
            video = SimpleNamespace(path=path, n_frames=n_frames, picks=np.arange(0, n_frames, KTS_STRIDE))
            shots_t, wall_t, cpu_t = timed(detector, video)
            _, decode, _ = timed(decode_only, path)
            runs = (
                ("KTS", shots_k, wall_k, cpu_k, f"DP {dp:.2f} s"),
                ("TransNetV2", shots_t, wall_t, cpu_t, f"decoding {decode:.1f} s"),
            )
            for label, shots, wall, cpu, part in runs:
                bounds = shots[1:, 0]
                s = scores(bounds, truth, fps)
                totals[label].append((len(truth), s, wall, cpu, n_frames))
                print(
                    f"| {name} | {n_frames} | {fps:.2f} | {truth} | {label} | {bounds.tolist()} | {s['recall2']} | "
                    f"{s['recall1s']} | {s['mae']} | {s['false']} | {wall:.1f} | {cpu:.1f} | {n_frames / wall:.0f} "
                    f"| {part} |"
                )
        print("\n| detector | cuts | recall ≤2 f | recall ≤1 s | MAE (f) | false | wall s | CPU s | frames/s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for label, rows in totals.items():
            n = sum(r[0] for r in rows)
            near, loose, false = (sum(r[1][k] for r in rows) for k in ("n_near", "n_loose", "false"))
            errors = [e for r in rows for e in r[1]["errors"]]
            mae = np.mean(errors) if errors else float("nan")
            wall, cpu, frames = (sum(r[i] for r in rows) for i in (2, 3, 4))
            print(
                f"| {label} | {n} | {near}/{n} | {loose}/{n} | {mae:.1f} | {false} | {wall:.1f} | {cpu:.1f} "
                f"| {frames / wall:.0f} |"
            )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    speed(extractor, detector, args.media, args.repeats)


def speed(extractor, detector: TransNetV2Detector, media: Path, repeats: int) -> None:
    """Work per frame on one thread: CPU seconds, the least of `repeats` runs (robust to other jobs on the CPU)."""
    torch.set_num_threads(1)
    print(f"\none thread, least CPU seconds of {repeats} runs; load average before: {os.getloadavg()[0]:.2f}\n")
    print("| video | frames | KTS CPU s | KTS frames/CPU s | TransNetV2 CPU s | TransNetV2 frames/CPU s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name in ("bikes.mp4", "big_buck_bunny_0_30.webm"):
        path = media / name
        (_, n_frames, _), _, _ = timed(kts_shots, extractor, path)
        video = SimpleNamespace(path=path, n_frames=n_frames, picks=np.arange(0, n_frames, KTS_STRIDE))
        k = min(timed(kts_shots, extractor, path)[2] for _ in range(repeats))
        t = min(timed(detector, video)[2] for _ in range(repeats))
        print(f"| {name} | {n_frames} | {k:.1f} | {n_frames / k:.0f} | {t:.1f} | {n_frames / t:.0f} | {t / k:.1f} |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
