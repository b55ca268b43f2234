"""Downstream check of F(x) with a real summarizer: how much of the target-space gain survives the mapping?

The sweep's synthetic teacher (128 -> 512, see align_sweep.py) plays the MLLM. On 25 synthetic videos whose
gtscore is a nonlinear function of the teacher's embedding (`make_synthetic_dataset(embed=teacher)`), a
summarizer is trained 5-fold with `semsum.training.train` on each input: the source features, the teacher's
embeddings (`features_mllm`, the "real MLLM"), and F(source) (`features_mapped`) from a regression mapper fitted
on i.i.d. teacher pairs (none from these videos). Out-of-fold Kendall tau / Spearman rho against gtscore.

    PYTHONPATH=src python benchmarks/align_downstream.py --out /tmp/align_downstream --model vasnet:20
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from align_sweep import N_TEST, N_TRAIN, NET, TEACHER
from semsum.align import TrainConfig as MapperTrainConfig
from semsum.align import map_dataset, train_mapper
from semsum.data.h5 import load_dataset, save_dataset
from semsum.evaluation.metrics import rank_correlations
from semsum.testing import make_synthetic_dataset, make_teacher, teacher_pairs
from semsum.training import TrainConfig, load_run, train

KEYS = ("features", "features_mllm", "features_mapped")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", default="vasnet:20", help="NAME:EPOCHS")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    teacher = make_teacher(**TEACHER)
    x, y = teacher_pairs(teacher, N_TRAIN + N_TEST, seed=100)
    mapper = train_mapper(
        x[:N_TRAIN], y[:N_TRAIN], MapperTrainConfig(**NET, mode="regression", epochs=20), x[N_TRAIN:], y[N_TRAIN:]
    ).mapper
    h5 = args.out / "videos.h5"
    make_synthetic_dataset(h5, n_videos=25, dim=TEACHER["in_dim"], seed=7, embed=teacher)
    ds = map_dataset(load_dataset(h5), mapper, "features")
    save_dataset(h5, ds)
    keys = ds.keys()
    folds = [keys[i::5] for i in range(5)]
    lines = [f"Synthetic/split{i}/{','.join(k for k in keys if k not in t)}/{','.join(t)}" for i, t in enumerate(folds)]
    (args.out / "splits.txt").write_text("\n".join(lines) + "\n")
    name, epochs = args.model.split(":")
    results = {}
    for key in KEYS:
        cfg = TrainConfig(model=name, feature_keys=(key,), epochs=int(epochs))
        run_dir = args.out / f"{name}_{key}"
        res = train(h5, args.out / "splits.txt", run_dir, cfg, show_progress=False)
        run = load_run(run_dir)
        pairs = [rank_correlations(run.predict_video(v.key, v.features[key]), v.gtscore[None]) for v in ds]
        results[key] = {
            "tau": float(np.mean([t[0] for t, _ in pairs])),
            "rho": float(np.mean([r[0] for _, r in pairs])),
            "train_seconds": res["train_seconds"],
        }
        print(key, results[key], flush=True)
    gain = results["features_mllm"]["tau"] - results["features"]["tau"]
    kept = (results["features_mapped"]["tau"] - results["features"]["tau"]) / gain if gain else float("nan")
    print(json.dumps({"model": args.model, **results, "mllm_gain_kept": kept}), flush=True)


if __name__ == "__main__":
    main()
