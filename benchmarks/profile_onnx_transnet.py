"""TransNetV2 on a CPU: which ONNX Runtime ops take the time, and which way of running the network is fastest.

Variants, each the shipped weights on the same windows of 100 frames (48x27), timed in one process in alternating
rounds (medians), with the largest difference from PyTorch's probabilities:

- `3d`: the package's network as it is (3-D convolutions), exported as semsum did up to session 7;
- `2d`: the same function with 2-D convolutions (`semsum.nn.transnet2d`);
- `2d-bN`: the 2-D export fed N windows per call;
- `2d-seq`, `2d-basic`: the 2-D export with ORT's sequential executor off (parallel) or basic graph optimisation;
- `2d-openvino`: the 2-D export run by OpenVINO, when it is installed.

`--profile` writes ORT's per-op profile of one call of the 3-D and the 2-D export and prints the top ops.

    python benchmarks/profile_onnx_transnet.py [--rounds 5] [--windows 4] [--profile]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def _session(path: Path, **settings: object):
    """An ORT CPU session of `path` with semsum's options (`semsum.nn.onnx`) changed by `settings`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.pop("threads", 2)
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    for key, value in settings.items():
        setattr(options, key, value)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def top_ops(path: Path, windows: np.ndarray, label: str) -> list[tuple[str, float]]:
    """ORT's per-op-type share of one profiled call (after a warm-up call) of the export `path`."""
    session = _session(path, enable_profiling=True, profile_file_prefix=str(path.with_suffix("")) + "-profile")
    name = session.get_inputs()[0].name
    session.run(None, {name: windows[:1]})
    session.run(None, {name: windows[:1]})
    events = json.loads(Path(session.end_profiling()).read_text())
    per_op: dict[str, float] = collections.Counter()
    nodes = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    for e in nodes[len(nodes) // 2 :]:  # the second call's nodes
        per_op[e["args"]["op_name"]] += e["dur"] / 1e6
    total = sum(per_op.values())
    print(f"{label}: {total:.3f} s in {len(nodes) // 2} kernels")
    for op, seconds in sorted(per_op.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {op:24s} {seconds:7.3f} s  {100 * seconds / total:5.1f} %")
    return sorted(per_op.items(), key=lambda kv: -kv[1])


def _batched(session, windows: np.ndarray, per_call: int) -> np.ndarray:
    """Probabilities [n, 100] of windows [n, 100, 27, 48, 3], `per_call` windows per ORT call."""
    name = session.get_inputs()[0].name
    runs = [session.run(None, {name: windows[i : i + per_call]})[0] for i in range(0, len(windows), per_call)]
    return np.concatenate(runs)[..., 0]


def _openvino(path: Path, windows: np.ndarray) -> Callable[[], np.ndarray] | None:
    """OpenVINO's CPU model of `path` over `windows` (2 threads, latency hint, float32: its default on CPUs with
    bfloat16 units is bfloat16, 2e-3 off PyTorch), or None without OpenVINO."""
    try:
        import openvino as ov
    except ImportError:
        return None
    settings = {"INFERENCE_NUM_THREADS": 2, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    compiled = ov.Core().compile_model(str(path), "CPU", settings)
    return lambda: np.concatenate([compiled(w[None])[0] for w in windows])[..., 0]


def _export_all(cache: Path) -> tuple[torch.nn.Module, dict[str, Path]]:
    """The package's network, and its 3-D export and 2-D ones for 1, 2 and 4 windows per call, in `cache`."""
    import torch

    from semsum.nn.onnx import _export
    from semsum.nn.transnet2d import TransNetV2SingleFrame2d
    from semsum.summary import transnetv2 as tn

    net = tn._load_model(torch.device("cpu"))
    exports = {"3d": (tn.single_frame_head(net), 1)} | {
        f"2d-b{n}": (TransNetV2SingleFrame2d(net), n) for n in (1, 2, 4)
    }
    paths = {label: cache / f"transnet{label}.onnx" for label in exports}
    for label, (module, batch) in exports.items():  # each its own batch size: the exporter kept none dynamic here
        start = time.perf_counter()
        _export(module, (torch.zeros(batch, tn.WINDOW, 27, 48, 3, dtype=torch.uint8),), paths[label], False)
        size = paths[label].stat().st_size / 1e6
        print(f"export {label}: {time.perf_counter() - start:.1f} s, {size:.1f} MB", flush=True)
    return net, paths


def variants(windows: np.ndarray, net: torch.nn.Module, paths: dict[str, Path]) -> dict[str, Callable[[], np.ndarray]]:
    """Each variant's function over `windows` [n, 100, 27, 48, 3], PyTorch's as "torch"."""
    import onnxruntime as ort
    import torch

    from semsum.summary import transnetv2 as tn

    def ort_run(label: str, per_call: int = 1, **settings: object) -> Callable[[], np.ndarray]:
        session = _session(paths[label], **settings)
        return lambda: _batched(session, windows, per_call)

    run = {
        "3d": ort_run("3d"),
        "2d": ort_run("2d-b1"),
        "2d-b2": ort_run("2d-b2", 2),
        "2d-b4": ort_run("2d-b4", 4),
        "2d-parallel": ort_run("2d-b1", execution_mode=ort.ExecutionMode.ORT_PARALLEL),
        "2d-basic": ort_run("2d-b1", graph_optimization_level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
        "2d-1thread": ort_run("2d-b1", threads=1),
    }
    for label in ("3d", "2d-b1"):
        openvino = _openvino(paths[label], windows)
        if openvino is not None:
            run[f"{label[:2]}-openvino"] = openvino
    torch.set_num_threads(2)
    head = tn.single_frame_head(net)

    def reference() -> np.ndarray:
        with torch.inference_mode():
            return np.concatenate([head(torch.from_numpy(w[None]))[..., 0].numpy() for w in windows])

    return run | {"torch": reference}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--windows", type=int, default=4, help="windows of 100 frames per round (a multiple of 4)")
    parser.add_argument("--profile", action="store_true", help="per-op profiles of the 3-D and 2-D exports")
    parser.add_argument("--torch", action="store_true", help="time PyTorch too (slow)")
    parser.add_argument("--only", nargs="*", help="these variants alone (e.g. 3d 2d 2d-openvino)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    windows = rng.integers(0, 256, size=(args.windows, 100, 27, 48, 3), dtype=np.uint8)
    net, paths = _export_all(Path(tempfile.mkdtemp(prefix="semsum_transnet_")))
    run = variants(windows, net, paths)
    expected = (run["torch"] if args.torch else run.pop("torch"))()
    run = {k: fn for k, fn in run.items() if not args.only or k in args.only}
    if args.profile:
        for label in ("3d", "2d-b1"):
            top_ops(paths[label], windows, label)
    times: dict[str, list[float]] = {k: [] for k in run}
    diffs = {k: float(np.abs(fn() - expected).max()) for k, fn in run.items()}  # also each one's warm-up
    for _ in range(args.rounds):
        for label, fn in run.items():
            start = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - start)
    rows = {
        k: {"s_per_window": round(statistics.median(v) / args.windows, 3), "max_abs_diff": diffs[k]}
        for k, v in times.items()
    }
    print(json.dumps({"load": os.getloadavg(), "windows": args.windows, "rounds": args.rounds, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
