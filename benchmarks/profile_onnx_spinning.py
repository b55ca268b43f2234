"""TransNetV2 shots of a real clip (decoded in the loop) with PyTorch, ONNX Runtime, and ONNX Runtime whose idle
workers sleep (`session.intra_op.allow_spinning` = 0): alternating rounds in one process, medians.

Measured before `semsum.nn.onnx` turned spinning off for every session (benchmarks/RESULTS.md); since then its
"onnx" and "onnx_nospin" rows are the same setting.

    python benchmarks/profile_onnx_spinning.py [CLIP] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from types import SimpleNamespace

import onnxruntime

from semsum.summary import transnetv2 as tn
from semsum.video.decode import probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", type=Path, nargs="?", default=Path("../shared/media/big_buck_bunny_0_30.webm"))
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    video = SimpleNamespace(path=args.clip, n_frames=probe(args.clip).n_frames)
    detectors = {name: tn.TransNetV2Detector(tn.TransNetV2Options(runtime=name)) for name in ("torch", "onnx")}
    detectors["onnx_nospin"] = nospin = tn.TransNetV2Detector(tn.TransNetV2Options(runtime="onnx"))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    cpu = ["CPUExecutionProvider"]
    nospin.onnx.session = onnxruntime.InferenceSession(str(nospin.onnx.path), options, providers=cpu)
    seconds: dict[str, list[float]] = {name: [] for name in detectors}
    for _ in range(args.rounds):
        for name, detector in detectors.items():
            start = time.perf_counter()
            detector(video)
            seconds[name].append(time.perf_counter() - start)
    medians = {name: round(statistics.median(s), 1) for name, s in seconds.items()}
    print(json.dumps({"seconds": medians, "load": os.getloadavg()[0], "frames": video.n_frames}))


if __name__ == "__main__":
    main()
