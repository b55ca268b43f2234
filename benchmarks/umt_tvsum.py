"""CSTA, VASNet and PGL-SUM on real TVSum features (UMT's I3D/audio/title), beside the ridge probe. Run by hand.

    nohup .venv/bin/python benchmarks/umt_tvsum.py --out runs/umt > runs/umt.log 2>&1 &

Every setting is trained with `semsum train`'s own code on CSTA's five disjoint TVSum folds, `--select val`: in
each fold a validation set (20 % of the training videos, drawn by the seed) picks the epoch, and where several
`--model NAME:EPOCHS:LR` settings of one model are given, the one with the best mean validation tau (over folds
and seeds) is marked chosen and used for the control and the modalities - no number is selected on a test
fold. Reported: the out-of-fold Otani and CSTA-protocol tau/rho and F1 against the real annotations,
mean ± std over seeds; a shuffled-label control (gtscore permuted within each video); the ridge probe
(`semsum baseline ridge`); with `--modalities`, each model at its chosen learning rate with audio, the title
and both added to RGB || flow (the trainer's `--features-key` concatenation). A killed run resumes: finished
runs are read back from their results.json, unfinished folds resume from their checkpoints; rows of earlier
invocations with the same --out are kept in OUT/table.json and OUT/table.md.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from semsum.atomic import write_json
from semsum.features.umt import import_umt_tvsum
from semsum.training import TrainConfig, train
from semsum.training.control import shuffle_labels
from semsum.training.ridge import ridge_baseline

FEATURE_SETS = {
    "visual": ("features",),
    "visual+audio": ("features", "features_audio"),
    "visual+title": ("features", "features_title"),
    "visual+audio+title": ("features", "features_audio", "features_title"),
}
#: Options of a --model setting: flags, and NAME=VALUE ones, as TrainConfig fields.
FLAGS = {"std": "standardize", "refit": "refit"}
VALUES = {
    "wd": ("weight_decay", float),
    "drop": ("dropout", float),
    "every": ("val_every", int),
    "proj": ("project", int),
    "idrop": ("input_dropout", float),
}
METRICS = (("otani", "kendall_tau"), ("otani", "spearman_rho"), ("csta", "kendall_tau"), ("csta", "spearman_rho"))


@dataclass(frozen=True)
class Setting:
    """One training setting: NAME:EPOCHS:LR[:OPTION,...], LR one rate or a per-fold grid `1e-4/3e-5`; options
    `std` (standardised inputs), `wd=X` (weight decay), `drop=X` (dropout), `refit` (retrain on all training videos
    after selection), `every=K` (validation every K training videos), `proj=P` (input projection to P dimensions),
    `idrop=X` (dropout on the input). E.g. vasnet:6:1e-4/3e-5:std,wd=1e-3 or vasnet:2:3e-5:every=8,proj=128,refit."""

    model: str
    epochs: int
    lrs: tuple[float, ...]
    options: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: str) -> Setting:
        name, epochs, lrs, *rest = spec.split(":")
        options = tuple(o for o in (rest[0].split(",") if rest else []) if o)
        unknown = [o for o in options if o not in FLAGS and o.split("=")[0] not in VALUES]
        if unknown or len(rest) > 1:
            raise argparse.ArgumentTypeError(f"{spec}: options are std, refit, wd=X, drop=X, every=K, proj=P, idrop=X")
        return cls(name, int(epochs), tuple(float(lr) for lr in lrs.split("/")), options)

    def label(self) -> str:
        lr = "/".join(f"{x:g}" for x in self.lrs)
        return f"{self.epochs} epochs, lr {lr}" + "".join(f", {o}" for o in self.options)

    def name(self, tag: str, seed: int) -> str:
        """The run directory (names of earlier runs without options unchanged)."""
        lr = "-".join(f"{x:g}" for x in self.lrs)
        extra = "".join(f"_{o.replace('=', '')}" for o in self.options)
        return f"{self.model}{tag}_e{self.epochs}_lr{lr}{extra}_s{seed}"

    def config(self, seed: int, keys: tuple[str, ...]) -> TrainConfig:
        opts = dict(o.split("=") if "=" in o else (o, "1") for o in self.options)
        extra = {field: kind(opts[o]) for o, (field, kind) in VALUES.items() if o in opts}
        extra |= {field: True for o, field in FLAGS.items() if o in opts and field != "standardize"}
        return TrainConfig(
            model=self.model,
            feature_keys=keys,
            epochs=self.epochs,
            lr=self.lrs[0],
            lr_grid=self.lrs if len(self.lrs) > 1 else (),
            standardize="std" in opts,
            seed=seed,
            select="val",
            device="cpu",
            model_kwargs={"cnn_weights": "random"} if self.model == "csta" else {},
            **extra,
        )


def run(args, setting: Setting, tag: str, h5: Path, seed: int, keys: tuple[str, ...]) -> dict:
    """One 5-fold run (read back when finished)."""
    name = setting.name(tag, seed)
    out = args.out / name
    if (out / "results.json").is_file():
        return json.loads((out / "results.json").read_text())
    t0 = time.perf_counter()
    results = train(h5, args.splits, out, setting.config(seed, keys), show_progress=False, data_dir=args.data_dir)
    print(
        f"{name}: {time.perf_counter() - t0:.0f} s, otani tau {results['out_of_fold']['otani']['kendall_tau']:.3f}",
        flush=True,
    )
    return results


def summary(results: list[dict]) -> dict:
    """Mean and std over seeds of the out-of-fold metrics, and the mean validation tau (the selection criterion)."""
    row = {"n_seeds": len(results), "val_tau": float(np.mean([f["val_tau"] for r in results for f in r["folds"]]))}
    for p, m in (*METRICS, ("otani", "f_score")):
        values = [r["out_of_fold"][p][m] for r in results]
        row[f"{p}_{m}"], row[f"{p}_{m}_std"] = float(np.mean(values)), float(np.std(values))
    row["seconds"] = float(np.mean([r["train_seconds"] for r in results]))
    return row


def shuffled_file(h5: Path, out: Path) -> Path:
    """The same file with gtscore permuted within every video: what a model learns from here is no signal."""
    if not out.is_file():
        shuffle_labels(h5, out, seed=0)
    return out


def ridge_row(args, h5: Path, keys: tuple[str, ...], name: str) -> dict:
    path = args.out / f"{name}.json"
    if not path.is_file():
        r = ridge_baseline(h5, args.splits, keys, data_dir=args.data_dir)
        write_json(path, {k: r[k] for k in ("out_of_fold", "folds", "train_seconds")})
    r = json.loads(path.read_text())
    row = {"n_seeds": 1, "val_tau": None, "seconds": r["train_seconds"]}
    for p, m in (*METRICS, ("otani", "f_score")):
        row[f"{p}_{m}"], row[f"{p}_{m}_std"] = r["out_of_fold"][p][m], 0.0
    row["alphas"] = [f["alpha"] for f in r["folds"]]
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("runs/umt"))
    p.add_argument("--h5", type=Path, default=None, help="imported file (default: OUT/tvsum_i3d.h5, imported)")
    p.add_argument("--splits", type=Path, default=Path("../shared/data/splits/csta/TVSum_splits.txt"))
    p.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    p.add_argument(
        "--model",
        action="append",
        type=Setting.parse,
        help="NAME:EPOCHS:LR[:std,wd=X,drop=X] (repeat; several settings of one model are chosen between by "
        "validation tau)",
        default=None,
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--control", nargs="*", default=[], help="models of the shuffled-label control (among --model)")
    p.add_argument("--control-seeds", nargs="+", type=int, default=[1])
    p.add_argument("--modalities", nargs="*", default=[], help="models also trained with audio / title (among --model)")
    p.add_argument("--modality-seeds", nargs="+", type=int, default=[1])
    p.add_argument("--ridge", action=argparse.BooleanOptionalAction, default=True, help="the ridge row (visual)")
    p.add_argument("--ridge-modalities", action="store_true", help="ridge on every feature set, not only visual")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    specs = args.model or [Setting("vasnet", 4, (1e-4,)), Setting("pgl-sum", 3, (1e-3,)), Setting("csta", 3, (1e-3,))]
    unknown = set(args.control + args.modalities) - {s.model for s in specs}
    if unknown:
        p.error(f"--control/--modalities name models this run does not train (add them with --model): {unknown}")
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    h5 = args.h5 or args.out / "tvsum_i3d.h5"
    if not h5.is_file():
        import_umt_tvsum(h5, data_dir=args.data_dir)
    table = args.out / "table.json"  # rows of earlier invocations (other models or seeds) are kept
    rows: dict[str, dict] = json.loads(table.read_text()) if table.is_file() else {}

    def add(name: str, row: dict) -> None:
        rows[name] = row
        write_json(table, rows)
        (args.out / "table.md").write_text(markdown(rows))

    def seeds(setting: Setting, tag: str, file: Path, keys: tuple[str, ...], seed_list: list[int]) -> dict:
        return summary([run(args, setting, tag, file, s, keys) for s in seed_list])

    if args.ridge:
        add("ridge, visual", ridge_row(args, h5, FEATURE_SETS["visual"], "ridge_visual"))
    chosen = {}
    for model in dict.fromkeys(s.model for s in specs):
        by_setting = {s: seeds(s, "", h5, FEATURE_SETS["visual"], args.seeds) for s in specs if s.model == model}
        chosen[model] = max(by_setting, key=lambda k: by_setting[k]["val_tau"])
        for setting, row in by_setting.items():
            mark = " (chosen on validation)" if len(by_setting) > 1 and setting == chosen[model] else ""
            add(f"{model}, visual, {setting.label()}{mark}", row)
    control = shuffled_file(h5, args.out / "tvsum_i3d_shuffled.h5")
    for model in args.control:
        add(f"{model}, shuffled labels", seeds(chosen[model], "_shuffled", control, ("features",), args.control_seeds))
    for name, keys in list(FEATURE_SETS.items())[1:]:
        if args.ridge_modalities:
            add(f"ridge, {name}", ridge_row(args, h5, keys, f"ridge_{name}"))
        for model in args.modalities:
            add(f"{model}, {name}", seeds(chosen[model], f"_{name}", h5, keys, args.modality_seeds))
    print(markdown(rows))


def markdown(rows: dict[str, dict]) -> str:
    lines = ["| row | seeds | val τ | τ Otani | ρ Otani | τ CSTA | ρ CSTA | F1 | s / run |", "|---" * 9 + "|"]
    for name, r in rows.items():
        cells = [f"{r[f'{p}_{m}']:.3f} ± {r[f'{p}_{m}_std']:.3f}" for p, m in (*METRICS, ("otani", "f_score"))]
        val = "-" if r["val_tau"] is None else f"{r['val_tau']:.3f}"
        lines.append(f"| {name} | {r['n_seeds']} | {val} | " + " | ".join(cells) + f" | {r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
