"""Shot boundaries of KTS, TransNetV2 and content against known hard cuts, and the time each takes.

Detectors, as `semsum summarize` would run them on a CPU:

* KTS: GoogLeNet pool5 features of every 15th frame (224x224; `build_extractor(random_init=True)`: the ImageNet
  weights are not on this machine), `semsum.summary.kts.kts`, step boundaries turned into frame shots with
  `semsum.summary.shots.boundaries_to_shots`. Its boundaries can only fall on sampled frames (every 15th).
* TransNetV2: `semsum.summary.transnetv2.TransNetV2Detector` at its default threshold 0.5, on every frame at 48x27.
* content: `semsum.summary.content.ContentDetector` (PySceneDetect's ContentDetector, threshold 27, min_scene_len 15)
  on every frame at each of `--sizes`: WxH, or "psd", PySceneDetect's own rule (frames at least 256 wide shrunk to
  256 wide, the height in proportion; narrower ones at full size).

Videos: (a) the real clips of ../shared/media, with the hard cuts determined below (and four clips of a single shot,
where every boundary is false); (b) joins of 2-6 s pieces of different real clips, each inside one shot (bikes has
none longer than 2.4 s), resampled to 25 fps and 320x180 and written as mp4, whose cuts are known by construction.

Scores per video and detector, a boundary being the first frame of every shot after the first: predicted boundaries
are matched one-to-one to true cuts, closest pairs first, within a tolerance; recall within 2 frames and within 1 s
(round(fps) frames); mean absolute error in frames of the pairs matched within 1 s; false boundaries: those matched
to no cut within 1 s. Time: wall and CPU seconds (all threads) of decoding plus inference, model loading excluded
(reported once); "of which": for KTS the dynamic programme alone, all that KTS adds to `semsum summarize` (which
computes the GoogLeNet features for its scorer anyway); for TransNetV2 and content the decoding alone (every frame at
their size, timed in a separate pass), the rest being the network or the HSV differences. Another user's jobs may
share the CPU: the load average is printed before and after, and CPU seconds are less affected by sharing than wall
seconds.

Last, a speed measurement robust to a shared CPU: on one thread, the least CPU seconds of `--repeats` runs of each
detector on bikes.mp4 and Big Buck Bunny (the detectors alternate within each repeat).

Run: .venv/bin/python benchmarks/shots_bench.py [--media DIR] [--repeats 3] [--detectors kts,transnetv2,content]
     [--sizes 48x27,96x54,128x72,psd] [--speed-only]
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
from semsum.summary.content import ContentDetector, ContentOptions, cuts_from_values, cuts_to_shots
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


def decode_only(path: Path, size: tuple[int, int] = FRAME_SIZE) -> int:
    """Decode every frame at `size` (TransNetV2's 48x27 by default) and nothing else: the part of a frame-reading
    detector's time that is not its own work. Returns the number of frames."""
    return sum(len(frames) for _, frames in iter_sampled_frames(path, stride=1, batch_size=50, size=size))


def psd_size(path: Path) -> tuple[int, int]:
    """PySceneDetect's default analysis size of `path`: frames at least 256 wide shrunk to 256 wide, else as is."""
    info = probe(path, count=False)
    if info.width < 256:
        return info.width, info.height
    return 256, max(1, round(info.height * 256 / info.width))


def margins(values: np.ndarray | None, truth: list[int]) -> str:
    """For content: its lowest value on a true cut and its highest on other frames, to set against its threshold."""
    if values is None:
        return ""
    others = f"others ≤ {np.delete(values, truth).max():.0f}"
    return f"; values: cuts ≥ {values[truth].min():.0f}, {others}" if truth else f"; values: {others}"


def parse_size(text: str) -> tuple[int, int] | str:
    """A `--sizes` entry: (width, height) from "WxH", or "psd" (PySceneDetect's rule, per video)."""
    if text == "psd":
        return text
    width, height = text.split("x")
    return int(width), int(height)


# (path, n_frames) -> shots, and a note on what the run's time is made of given the true cuts (a function: called
# after timing the run)
Runner = Callable[[Path, int], tuple[np.ndarray, Callable[[list[int]], str]]]


def runners(names: list[str], sizes: list[tuple[int, int] | str], extractor, transnet) -> dict[str, Runner]:
    """The detectors to compare, by label: each returns a video's shots and a note on what its time is made of."""

    def run_kts(path: Path, n_frames: int) -> tuple[np.ndarray, Callable[[list[int]], str]]:
        shots, _, dp = kts_shots(extractor, path)
        return shots, lambda truth: f"DP {dp:.2f} s"

    def run_frames(detector, size: tuple[int, int] | str) -> Runner:
        def run(path: Path, n_frames: int) -> tuple[np.ndarray, Callable[[list[int]], str]]:
            at = psd_size(path) if size == "psd" else size
            video, values = SimpleNamespace(path=path, n_frames=n_frames), None
            if detector is None:  # content, built for this size; its values kept to show the threshold's margins
                values = ContentDetector(ContentOptions(size=at)).values(video)
                shots = cuts_to_shots(cuts_from_values(values), n_frames)
            else:
                shots = detector(video)
            where = f" at {at[0]}x{at[1]}" if size == "psd" else ""

            def decoding(truth: list[int]) -> str:
                return f"decoding {timed(decode_only, path, at)[1]:.1f} s{where}{margins(values, truth)}"

            return shots, decoding

        return run

    found: dict[str, Runner] = {}
    for name in names:
        if name == "kts":
            found["KTS"] = run_kts
        elif name == "transnetv2":
            found["TransNetV2"] = run_frames(transnet, FRAME_SIZE)
        elif name == "content":
            for size in sizes:
                label = "psd" if size == "psd" else f"{size[0]}x{size[1]}"
                found[f"content {label}"] = run_frames(None, size)
        else:
            raise SystemExit(f"unknown detector {name!r} (kts, transnetv2, content)")
    return found


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
    parser.add_argument("--detectors", default="kts,transnetv2,content", help="comma-separated, of those three")
    parser.add_argument("--sizes", default="48x27,96x54,128x72,psd", help="content's analysis sizes: WxH or psd")
    parser.add_argument("--speed-only", action="store_true", help="only the one-thread speed measurement")
    args = parser.parse_args()
    names, sizes = args.detectors.split(","), [parse_size(s) for s in args.sizes.split(",")]

    extractor, t_googlenet, _ = timed(lambda: build_extractor(random_init=True, device="cpu"))
    detector, t_transnet, _ = timed(lambda: TransNetV2Detector(device="cpu"))
    print(f"torch threads: {torch.get_num_threads()}; load average before: {os.getloadavg()[0]:.2f}")
    print(f"model loading: GoogLeNet (random init) {t_googlenet:.1f} s, TransNetV2 {t_transnet:.1f} s\n")
    found = runners(names, sizes, extractor, detector)
    if not args.speed_only:
        accuracy(found, args.media)
    speed(found, args.media, args.repeats)


def accuracy(found: dict[str, Runner], media: Path) -> None:
    """The per-video and total tables: boundaries against the true cuts, and time, on both cores."""
    with tempfile.TemporaryDirectory() as tmp:
        videos = [(name, media / name, cuts) for name, cuts in REAL_CUTS.items()]
        for name, pieces in JOINS.items():
            path = Path(tmp) / f"{name.split()[0]}.mp4"
            videos.append((name, path, write_join(path, media, pieces)))
        print(
            "| video | frames | fps | true cuts | detector | boundaries | recall ≤2 f | recall ≤1 s | MAE (f) | false "
            "| wall s | CPU s | frames/s | of which |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        totals = {label: [] for label in found}
        for name, path, truth in videos:
            fps, n_frames = probe(path).fps, decode_only(path)
            for label, run in found.items():
                (shots, note), wall, cpu = timed(run, path, n_frames)
                bounds = shots[1:, 0]
                s = scores(bounds, truth, fps)
                totals[label].append((len(truth), s, wall, cpu, n_frames))
                print(
                    f"| {name} | {n_frames} | {fps:.2f} | {truth} | {label} | {bounds.tolist()} | {s['recall2']} | "
                    f"{s['recall1s']} | {s['mae']} | {s['false']} | {wall:.1f} | {cpu:.1f} | {n_frames / wall:.0f} "
                    f"| {note(truth)} |"
                )
        print_totals(totals)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


def print_totals(totals: dict[str, list]) -> None:
    """One row per detector over all videos: cuts found, mean error, false boundaries, time."""
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


def speed(found: dict[str, Runner], media: Path, repeats: int) -> None:
    """Work per frame on one thread: CPU seconds, the least of `repeats` runs (robust to other jobs on the CPU); the
    detectors alternate within each repeat."""
    torch.set_num_threads(1)
    print(f"\none thread, least CPU seconds of {repeats} runs; load average before: {os.getloadavg()[0]:.2f}\n")
    print("| video | frames | detector | CPU s | frames/CPU s |")
    print("|---|---|---|---|---|")
    for name in ("bikes.mp4", "big_buck_bunny_0_30.webm"):
        path = media / name
        n_frames = decode_only(path)
        best = {label: float("inf") for label in found}
        for _ in range(repeats):
            for label, run in found.items():
                best[label] = min(best[label], timed(run, path, n_frames)[2])
        for label, cpu in best.items():
            print(f"| {name} | {n_frames} | {label} | {cpu:.2f} | {n_frames / cpu:.0f} |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
