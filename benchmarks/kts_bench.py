"""KTS: semsum.summary.kts against the reference cpd_auto (benchmarks/kts_reference.py).

1. Identity: on benchmark-sized sequences (n = 100 ... 1000 steps of 1024-d features with shots of 2 to 60 s
   at 2 fps, like SumMe/TVSum), the default (bounded) kts returns exactly the reference's change points;
   the unbounded variant too. Times of both, measured in the same run.
2. Speed: 7,200 steps x 1024-d (a 1-hour video at 2 fps) with the default bound, and the number of DP
   layers the exact pruning needed.

Run: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=src python benchmarks/kts_bench.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from kts_reference import reference_kts
from semsum.summary.kts import MAX_SEGMENT, kts


def video_like(
    n: int, dim: int = 1024, seed: int = 0, longest: int = 120, drift: float = 0.05, noise: float | None = None
) -> np.ndarray:
    """pool5-like features: non-negative, one random centre per shot (4..longest steps), frame noise, drift."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(4, longest + 1, size=n)
    labels = np.repeat(np.arange(n), lengths)[:n]
    centres = np.abs(rng.normal(size=(labels.max() + 1, dim)))
    walk = np.cumsum(rng.normal(scale=drift, size=(n, dim)), axis=0) if drift else 0.0
    noise = rng.uniform(0.3, 1.0) if noise is None else noise
    return np.abs(centres[labels] + walk + noise * np.abs(rng.normal(size=(n, dim))))


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    print(f"default max_segment = {MAX_SEGMENT} steps")
    header = "| n steps | shots of (steps) | seed | cps | reference (s) | unbounded (s) | default (s) | identical |"
    print(header)
    print("|---|---|---|---|---|---|---|---|")
    for n in (100, 250, 500, 750, 1000):
        for longest, seed in ((30, 0), (100, 1)):
            x = video_like(n, seed=seed, longest=longest)
            ref, t_ref = timed(reference_kts, x)
            unb, t_unb = timed(kts, x, max_segment=None)
            dflt, t_dflt = timed(kts, x)
            same = np.array_equal(ref, unb) and np.array_equal(ref, dflt)
            print(f"| {n} | 4-{longest} | {seed} | {len(ref)} | {t_ref:.2f} | {t_unb:.3f} | {t_dflt:.3f} | {same} |")
            assert same, (n, seed)
    for longest, noise in ((30, 0.5), (30, 1.0), (60, 1.5)):  # ~200-430 shots in an hour, no drift
        x = video_like(7200, longest=longest, drift=0.0, noise=noise)
        for bound in (MAX_SEGMENT, 2 * MAX_SEGMENT):
            cps, t = timed(kts, x, max_segment=bound)
            print(
                f"n = 7200, D = 1024, shots of 4-{longest} steps, noise {noise}, max_segment = {bound}: "
                f"{len(cps) + 1} shots in {t:.2f} s"
            )
    if "--worst" in sys.argv:  # features with no shared direction: the pruning cannot stop early
        x = np.random.default_rng(0).normal(size=(7200, 1024))
        cps, t = timed(kts, x)
        print(f"worst case, n = 7200 centred Gaussian noise: {len(cps)} cps in {t:.1f} s")


if __name__ == "__main__":
    main()
