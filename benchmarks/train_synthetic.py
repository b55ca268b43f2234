"""Learning check on synthetic data: 25 videos of 60-160 steps whose gtscore is a nonlinear function of
1024-d features plus noise (semsum.testing), 5 disjoint folds, out-of-fold Kendall tau against gtscore.

    PYTHONPATH=src python benchmarks/train_synthetic.py --out /tmp/syn --model csta:10 --model vasnet:10

Also reports a ridge probe (lambda 100) and, with --control, the same training on within-video shuffled
gtscore (which must stay near tau 0). Prints one JSON line per entry.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from semsum.data.h5 import load_dataset, save_dataset
from semsum.evaluation.metrics import rank_correlations
from semsum.testing import make_synthetic_dataset
from semsum.training import TrainConfig, load_run, train


def oof_tau(run_dir: Path, ds) -> float:
    run = load_run(run_dir)
    return float(
        np.mean(
            [rank_correlations(run.predict_video(v.key, v.features["features"]), v.gtscore[None])[0][0] for v in ds]
        )
    )


def ridge_tau(ds, folds: list[list[str]], lam: float = 100.0) -> float:
    taus, keys = [], ds.keys()
    for test in folds:
        train_keys = [k for k in keys if k not in test]
        x = np.concatenate([ds[k].features["features"] for k in train_keys]).astype(np.float64)
        y = np.concatenate([ds[k].gtscore for k in train_keys]).astype(np.float64)
        mu, ym = x.mean(0), y.mean()
        w = np.linalg.solve((x - mu).T @ (x - mu) + lam * np.eye(x.shape[1]), (x - mu).T @ (y - ym))
        taus += [rank_correlations((ds[k].features["features"] - mu) @ w, ds[k].gtscore[None])[0][0] for k in test]
    return float(np.mean(taus))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", action="append", default=[], help="NAME:EPOCHS[:LR[:WEIGHT_DECAY]]")
    ap.add_argument("--videos", type=int, default=25)
    ap.add_argument("--control", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=TrainConfig.seed, help="training seed (the data stay the same)")
    ap.add_argument("--select", default="last", help="model selection (last, val, test-best: see semsum train)")
    ap.add_argument("--data-seed", type=int, default=0, help="seed of the synthetic videos and their scoring rule")
    ap.add_argument("--noise", type=float, default=0.1, help="label noise; 0.04 makes ridge reach tau 0.70")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    ds = make_synthetic_dataset(
        args.out / "syn.h5", n_videos=args.videos, steps=(60, 160), dim=1024, seed=args.data_seed, noise=args.noise
    )
    keys = ds.keys()
    folds = [keys[i::5] for i in range(5)]
    lines = [f"Synthetic/split{i}/{','.join(k for k in keys if k not in t)}/{','.join(t)}" for i, t in enumerate(folds)]
    (args.out / "splits.txt").write_text("\n".join(lines) + "\n")
    print(json.dumps({"ridge_tau": ridge_tau(ds, folds)}), flush=True)
    shuffled = load_dataset(args.out / "syn.h5")
    rng = np.random.default_rng(0)
    for v in shuffled:
        v.gtscore = rng.permutation(v.gtscore)
    save_dataset(args.out / "shuffled.h5", shuffled)
    for spec in args.model:
        name, epochs, *opt = spec.split(":")
        hyper = dict(zip(("lr", "weight_decay"), map(float, opt), strict=False))
        kwargs = {"cnn_weights": "random"} if name == "csta" else {}
        cfg = TrainConfig(
            model=name, epochs=int(epochs), model_kwargs=kwargs, seed=args.seed, select=args.select, **hyper
        )
        for label, h5 in [("real", "syn.h5")] + ([("shuffled", "shuffled.h5")] if args.control else []):
            t0 = time.perf_counter()
            run = args.out / f"{spec.replace(':', '_')}_{label}"
            res = train(args.out / h5, args.out / "splits.txt", run, cfg, show_progress=False)
            tau = oof_tau(run, ds)
            per_fold = [f["gtscore"]["kendall_tau"] for f in res["folds"]] if label == "real" else None
            print(
                json.dumps(
                    {
                        "model": name,
                        "labels": label,
                        "epochs": int(epochs),
                        "seed": args.seed,
                        "data_seed": args.data_seed,
                        "select": args.select,
                        **hyper,
                        "oof_tau_vs_true_gtscore": tau,
                        "fold_taus": per_fold,
                        "train_seconds": res["train_seconds"],
                        "wall_seconds": time.perf_counter() - t0,
                        "cnn_init": res["cnn_init"],
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
