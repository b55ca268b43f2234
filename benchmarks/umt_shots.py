"""How to make shots at 0.5 steps/s for the UMT TVSum import: each `SHOT_METHODS` entry against the annotations.

For every method, over the 50 videos: mean shot length, and three keyshot F1 values (TVSum mode "avg") against
the users' summaries built over those shots: the oracle (the mean annotator score per frame, i.e. the F1
upper bound), random clip scores (mean of 20 seeded trials: what the segmentation alone gives), and the
human leave-one-out F1 (each annotator's summary against the other 19). A useful segmentation leaves a wide
gap between oracle and random; KTS-like long shots give random nearly the oracle's F1 (Otani et al. 2019).

    .venv/bin/python benchmarks/umt_shots.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import time

import h5py
import numpy as np

from semsum.data.annotations import load_annotations
from semsum.evaluation.metrics import f_score
from semsum.features.umt import SHOT_METHODS, STREAMS, clip_picks, default_source, make_shots
from semsum.summary.keyshots import frame_scores, select_keyshots, user_summaries


def measure(method: str, videos: list[tuple], trials: int = 20) -> dict[str, float]:
    rng = np.random.default_rng(0)
    lengths, oracle, chance, human = [], [], [], []
    for ann, feats, picks in videos:
        shots = make_shots(method, feats, picks, ann.n_frames)
        lengths.append(np.mean(shots[:, 1] - shots[:, 0] + 1) / ann.fps)
        users = user_summaries(ann.user_scores, shots, binary=False)
        oracle.append(f_score(select_keyshots(ann.gt_score, shots).summary, users, "avg"))
        rand = [
            select_keyshots(frame_scores(rng.random(len(picks)), picks, ann.n_frames), shots).summary
            for _ in range(trials)
        ]
        chance.append(np.mean([f_score(s, users, "avg") for s in rand]))
        human.append(np.mean([f_score(users[u], np.delete(users, u, 0), "avg") for u in range(len(users))]))
    return {"shot_s": np.mean(lengths), "oracle": np.mean(oracle), "random": np.mean(chance), "human": np.mean(human)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    annotations = load_annotations("tvsum", args.data_dir)
    videos = []
    with h5py.File(default_source(args.data_dir), "r") as f:
        for ann in annotations.values():
            g = f[ann.name]
            n = min(g[s].shape[0] for s in STREAMS.values())
            picks = clip_picks(n, float(g.attrs["fps"]))
            videos.append((ann, np.concatenate([g["i3d_rgb"][:n], g["i3d_flow"][:n]], 1), picks[picks < ann.n_frames]))
    videos = [(a, x[: len(p)], p) for a, x, p in videos]
    print("| shots | mean shot (s) | oracle F1 | random F1 | oracle − random | human LOO F1 | seconds |")
    print("|---|---|---|---|---|---|---|")
    for method in SHOT_METHODS:
        t0 = time.perf_counter()
        m = measure(method, videos)
        print(
            f"| {method} | {m['shot_s']:.1f} | {m['oracle']:.3f} | {m['random']:.3f} | "
            f"{m['oracle'] - m['random']:.3f} | {m['human']:.3f} | {time.perf_counter() - t0:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
