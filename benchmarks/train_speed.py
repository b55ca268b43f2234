"""Seconds per training epoch for CSTA and VASNet at each input width, on SumMe- and TVSum-sized data.

    PYTHONPATH=src SEMSUM_DATA=../shared/data python benchmarks/train_speed.py --sample 3 [--device cuda]

The synthetic videos have the benchmarks' real n_steps (n_frames / 15 from the annotations). A full epoch
over all 25 / 50 videos is measured when --sample is 0; otherwise `--sample` videos spread over the
length range are timed (forward, MSE, backward, Adam step) and the epoch time is extrapolated by the total
number of steps (cost is close to linear in T for both models at these lengths). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from semsum.data.annotations import load_annotations
from semsum.models import count_parameters, get_model
from semsum.testing import STRIDE


def video_steps(dataset: str) -> list[int]:
    return [int(np.ceil(a.n_frames / STRIDE)) for a in load_annotations(dataset).values()]


def time_epoch(name: str, width: int, steps: list[int], sample: int, device: torch.device) -> tuple[float, int]:
    torch.manual_seed(0)
    kwargs = {"cnn_weights": "random"} if name == "csta" else {}
    model = get_model(name, width, **kwargs).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-7)
    ordered = sorted(steps)
    chosen = ordered if sample == 0 else [ordered[i] for i in np.linspace(0, len(steps) - 1, sample).astype(int)]
    warm = torch.randn(20, width, device=device)
    model(warm).sum().backward()
    opt.zero_grad()
    elapsed = 0.0
    for n in chosen:
        x, y = torch.randn(n, width, device=device), torch.rand(n, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed += time.perf_counter() - t0
    return elapsed * sum(steps) / sum(chosen), count_parameters(model)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=3, help="videos timed per configuration (0 = the full epoch)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"| dataset | videos | steps | model | width | parameters | s/epoch ({device.type}) |")
    print("|---|---|---|---|---|---|---|")
    for dataset in ("summe", "tvsum"):
        steps = video_steps(dataset)
        for name in ("csta", "vasnet"):
            for width in (1024, 4096, 5120):
                secs, params = time_epoch(name, width, steps, args.sample, device)
                print(
                    f"| {dataset} | {len(steps)} | {sum(steps)} | {name} | {width} | {params:,} | {secs:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
