"""Real-data comparison: ridge probe vs CSTA vs VASNet on caption features, CSTA splits, out-of-fold.

    PYTHONPATH=src python benchmarks/train_real.py --h5 summe_captions.h5 --splits SumMe_splits.txt \
        --out runs/summe --model csta:4 --model vasnet:20

Each `--model NAME:EPOCHS[:LR[:WEIGHT_DECAY[:DROPOUT]]]` is trained 5-fold with leakage-free selection (last
epoch by default); the ridge probe (lambda 100, closed form, fitted on each fold's training videos) is scored
the same way. Prints and writes `summary.json` in --out: tau/rho under both protocols, out-of-fold over all
videos, and seconds. With `--select val`, each entry also gets `val_tau`, the mean over folds of the selected
epoch's validation tau: the leakage-free criterion for choosing among several settings (never the test folds).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from semsum.training import TrainConfig, train
from semsum.training.run import PROTOCOLS, evaluate_scores, gtscore_correlation, run_annotations
from semsum.training.trainer import load_split_file, load_training_data, normalized_target


def ridge_probe(h5: Path, splits: Path, lam: float) -> tuple[dict, float]:
    """Out-of-fold ridge regression (with intercept) from step features to normalised gtscore."""
    t0 = time.perf_counter()
    cfg = TrainConfig()
    ds = load_training_data(h5, cfg)
    anns = run_annotations(ds).annotations
    oof = {}
    for split in load_split_file(splits, ds):
        x = np.concatenate([ds[k].features["features"] for k in split.train_keys]).astype(np.float64)
        y = np.concatenate([normalized_target(ds[k], True) for k in split.train_keys]).astype(np.float64)
        mu, ym = x.mean(0), y.mean()
        xc = x - mu
        w = np.linalg.solve(xc.T @ xc + lam * np.eye(x.shape[1]), xc.T @ (y - ym))
        for k in split.test_keys:
            oof[k] = (ds[k].features["features"] - mu) @ w + ym
    results = [evaluate_scores(ds, anns, oof, p) for p in PROTOCOLS]
    out = {r["protocol"]: {m: v for m, v in r.items() if m != "per_video"} for r in results}
    out["gtscore"] = gtscore_correlation(ds, oof)
    return out, time.perf_counter() - t0


def val_tau(res: dict) -> float:
    """Mean over folds of the validation tau at each fold's selected epoch."""
    return float(np.mean([f["val_tau"] for f in res["folds"]]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--h5", type=Path, required=True)
    ap.add_argument("--splits", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", action="append", default=[], help="NAME:EPOCHS[:LR[:WEIGHT_DECAY[:DROPOUT]]]")
    ap.add_argument("--select", default="last")
    ap.add_argument("--lam", type=float, default=100.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    summary: dict = {"h5": str(args.h5), "splits": str(args.splits), "select": args.select}
    summary["ridge"], secs = ridge_probe(args.h5, args.splits, args.lam)
    summary["ridge"]["seconds"] = secs
    print("ridge", json.dumps(summary["ridge"]), flush=True)
    for spec in args.model:
        name, epochs, *opt = spec.split(":")
        hyper = dict(zip(("lr", "weight_decay"), map(float, opt[:2]), strict=False))
        kwargs = {"dropout": float(opt[2])} if len(opt) > 2 else {}
        t0 = time.perf_counter()
        res = train(
            args.h5,
            args.splits,
            args.out / spec.replace(":", "_"),
            TrainConfig(model=name, epochs=int(epochs), select=args.select, model_kwargs=kwargs, **hyper),
            show_progress=False,
        )
        summary[spec] = {
            **res["out_of_fold"],
            "mean_over_folds": res["mean_over_folds"],
            "val_tau": val_tau(res) if args.select == "val" else None,
            "epochs": int(epochs),
            **hyper,
            **kwargs,
            "train_seconds": res["train_seconds"],
            "wall_seconds": time.perf_counter() - t0,
            "cnn_init": res["cnn_init"],
            "parameters": res["parameters"],
        }
        print(spec, json.dumps(summary[spec]), flush=True)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
