"""Human leave-one-out baseline on SumMe + TVSum: vectorised semsum vs a naive scipy per-pair loop.

Run on one core, from the repo root:
    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python benchmarks/eval_human.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from semsum.data.annotations import load_annotations
from semsum.evaluation.baselines import human


def naive_human(annotations) -> tuple[float, float]:
    """The textbook loop: scipy kendalltau/spearmanr for every ordered annotator pair."""
    video_t, video_r = [], []
    for ann in annotations.values():
        u = ann.user_scores
        per_t, per_r = [], []
        for a in range(len(u)):
            others = [b for b in range(len(u)) if b != a]
            per_t.append(np.mean([np.nan_to_num(stats.kendalltau(u[a], u[b]).statistic) for b in others]))
            per_r.append(np.mean([np.nan_to_num(stats.spearmanr(u[a], u[b]).statistic) for b in others]))
        video_t.append(np.mean(per_t))
        video_r.append(np.mean(per_r))
    return float(np.mean(video_t)), float(np.mean(video_r))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    total_fast = total_naive = 0.0
    for dataset in ("summe", "tvsum"):
        ann = load_annotations(dataset, args.data_dir)
        t0 = time.perf_counter()
        fast = human(ann)
        t1 = time.perf_counter()
        slow = naive_human(ann)
        t2 = time.perf_counter()
        total_fast, total_naive = total_fast + t1 - t0, total_naive + t2 - t1
        assert abs(fast.kendall_tau - slow[0]) < 1e-9 and abs(fast.spearman_rho - slow[1]) < 1e-9
        print(
            f"{dataset}: tau {fast.kendall_tau:.4f} rho {fast.spearman_rho:.4f} | "
            f"semsum {t1 - t0:.2f} s, naive scipy {t2 - t1:.2f} s"
        )
    print(f"both: semsum {total_fast:.2f} s, naive {total_naive:.2f} s, speed-up x{total_naive / total_fast:.0f}")


if __name__ == "__main__":
    main()
