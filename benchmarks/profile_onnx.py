"""PyTorch against ONNX Runtime on the CPU, for the two networks `summarize` runs on every video.

GoogLeNet pool5 (random weights: the same work as ImageNet's) on 224x224 frames in batches of 8, and TransNetV2
(its shipped weights) on windows of 100 frames at 48x27, each timed in alternating rounds so that both runtimes see
the same load; medians of the rounds, their ratio, the one-off export time, and the largest difference between the
two runtimes' outputs.

    python benchmarks/profile_onnx.py [--rounds 5] [--frames 64] [--windows 4]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np


def _timed(fn: Callable[[], np.ndarray], rounds: list[float]) -> np.ndarray:
    """`fn()`, its seconds appended to `rounds`."""
    start = time.perf_counter()
    out = fn()
    rounds.append(time.perf_counter() - start)
    return out


def compare(name: str, torch_fn: Callable[[], np.ndarray], onnx_fn: Callable[[], np.ndarray], rounds: int) -> dict:
    """Alternating timed rounds of both (after one warm-up each): medians, ratio, max |difference|."""
    torch_fn(), onnx_fn()
    times: dict[str, list[float]] = {"torch": [], "onnx": []}
    for _ in range(rounds):
        expected = _timed(torch_fn, times["torch"])
        got = _timed(onnx_fn, times["onnx"])
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {
        "network": name,
        "torch_s": round(medians["torch"], 3),
        "onnx_s": round(medians["onnx"], 3),
        "torch_over_onnx": round(medians["torch"] / medians["onnx"], 2),
        "max_abs_diff": float(np.abs(got - expected).max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=64, help="GoogLeNet frames per round")
    parser.add_argument("--windows", type=int, default=4, help="TransNetV2 windows of 100 frames per round")
    args = parser.parse_args()
    os.environ.setdefault("SEMSUM_ONNX_CACHE", tempfile.mkdtemp(prefix="semsum_onnx_"))  # a first use: export too
    import torch

    from semsum.features.pool5 import build_extractor
    from semsum.summary import transnetv2 as tn

    rng = np.random.default_rng(0)
    rows = []
    frames = rng.integers(0, 256, size=(args.frames, 224, 224, 3), dtype=np.uint8)
    reference = build_extractor(random_init=True, device="cpu", runtime="torch")
    start = time.perf_counter()
    fast = build_extractor(random_init=True, device="cpu", runtime="onnx")
    export = time.perf_counter() - start
    rows.append(compare("googlenet", lambda: reference(frames), lambda: fast(frames), args.rounds))
    rows[-1]["first_use_s"] = round(export, 1)
    windows = rng.integers(0, 256, size=(args.windows * tn.STRIDE, 27, 48, 3), dtype=np.uint8)
    reference = tn.TransNetV2Detector(tn.TransNetV2Options(runtime="torch"))
    start = time.perf_counter()
    fast = tn.TransNetV2Detector(tn.TransNetV2Options(runtime="onnx"))
    export = time.perf_counter() - start
    slow_fn, fast_fn = (lambda: reference.predict_frames(windows)), (lambda: fast.predict_frames(windows))
    rows.append(compare("transnetv2", slow_fn, fast_fn, args.rounds))
    rows[-1]["first_use_s"] = round(export, 1)
    print(json.dumps({"threads": torch.get_num_threads(), "load": os.getloadavg()[0], "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
