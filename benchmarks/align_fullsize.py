"""Ridge against the residual MLP at the realistic size: 1024 -> 4096, about 30,000 training pairs
(SumMe and TVSum together), in any training mode and over several seeds. Results go to
benchmarks/align_fullsize.json (resumable: finished runs are skipped). Run by hand:

    PYTHONPATH=src python benchmarks/align_fullsize.py [--pairs 30000] [--epochs 6]
    PYTHONPATH=src python benchmarks/align_fullsize.py --mode two-stage --warmup-epochs 10 --epochs 15 \
        --width 1024 --seeds 0 1 2 3 4 --reuse-baselines
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from semsum.align import TrainConfig, apply_mapper, fit_ridge, mean_cosine, mean_target, top1_retrieval, train_mapper
from semsum.atomic import write_json
from semsum.testing import make_teacher, teacher_pairs

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=30000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--mode", default="regression", help="a semsum.align training mode")
    parser.add_argument("--warmup-epochs", type=int, default=None, help="regression epochs before adversarial ones")
    parser.add_argument("--lr-g", type=float, default=None, help="generator lr in adversarial epochs (mode default)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reuse-baselines", action="store_true", help="keep ridge/mean from an earlier run's JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    teacher = make_teacher(in_dim=1024, out_dim=4096, hidden=512, scale=2.0, noise=0.1)
    x, y = teacher_pairs(teacher, args.pairs + args.test, seed=100)
    x_train, y_train, x_test, y_test = x[: args.pairs], y[: args.pairs], x[args.pairs :], y[args.pairs :]
    out: dict = {"teacher": "1024 -> 4096, hidden 512, scale 2, noise 0.1", "n_train": args.pairs, "n_test": args.test}
    earlier = HERE / "align_fullsize.json"
    if args.reuse_baselines and earlier.is_file():
        old = json.loads(earlier.read_text())
        if (old["n_train"], old["n_test"]) == (args.pairs, args.test):
            out.update(old)
    if "ridge" not in out:
        run_baselines(out, x_train, y_train, x_test, y_test)
        write_json(earlier, out)
    lr_g = "" if args.lr_g is None else f" lr_g {args.lr_g:g}"
    for seed in args.seeds:
        name = f"{args.mode}{lr_g} depth {args.depth} width {args.width} seed {seed}"
        if name not in out:
            out[name] = run_mlp(args, seed, x_train, y_train, x_test, y_test)
            print(name, {k: v for k, v in out[name].items() if k != "history"}, flush=True)
            # merge with what runs in other processes wrote meanwhile
            write_json(earlier, {**(json.loads(earlier.read_text()) if earlier.is_file() else {}), **out})


def run_baselines(out: dict, x_train, y_train, x_test, y_test) -> None:
    mean_pred = mean_target(y_train, len(y_test))
    out["mean"] = {"cosine": mean_cosine(mean_pred, y_test), "top1": top1_retrieval(mean_pred, y_test)}
    start = time.perf_counter()
    ridge, alpha = fit_ridge(x_train, y_train)
    pred = apply_mapper(ridge, x_test)
    out["ridge"] = {
        "alpha": alpha,
        "seconds": time.perf_counter() - start,
        "cosine": mean_cosine(pred, y_test),
        "top1": top1_retrieval(pred, y_test),
        "train_cosine": mean_cosine(apply_mapper(ridge, x_train[: len(x_test)]), y_train[: len(x_test)]),
    }
    print("ridge", out["ridge"], flush=True)


def run_mlp(args, seed: int, x_train, y_train, x_test, y_test) -> dict:
    cfg = TrainConfig(
        mode=args.mode,
        warmup_epochs=args.warmup_epochs,
        lr_g=args.lr_g,
        depth=args.depth,
        width=args.width,
        epochs=args.epochs,
        lr=3e-3,
        batch_size=256,
        seed=seed,
    )
    res = train_mapper(x_train, y_train, cfg, x_test, y_test)
    pred = apply_mapper(res.mapper, x_test)
    return {
        "mode": args.mode,
        "seed": seed,
        "warmup_epochs": cfg.warmup,
        "lr_g": args.lr_g,
        "depth": args.depth,
        "width": args.width,
        "epochs": args.epochs,
        "diverged": res.diverged,
        "history": res.history,
        "cosine": mean_cosine(pred, y_test),
        "top1": top1_retrieval(pred, y_test),
        "train_cosine": mean_cosine(apply_mapper(res.mapper, x_train[: args.test]), y_train[: args.test]),
    }


if __name__ == "__main__":
    main()
