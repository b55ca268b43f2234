"""K-fold training of any registered summarizer on eccv16-schema files, resumable after a kill.

The paper's setup (the official CSTA code's defaults): MSE between the predicted step scores and the
video's `gtscore` (min-max normalised per video), Adam (lr 1e-3, weight decay 1e-7), batch 1 (the loss of
`batch_size` videos is averaged before a step, as the official code does), seed 123456.

Model selection, stated in every result:
- `last` (default): the weights after the last epoch; nothing about the test fold is used.
- `val`: a validation set of `val_fraction` of each fold's training videos is held out (chosen by the seed)
  and the epoch with the best mean Kendall tau against `gtscore` on it is kept.
- `inner-cv`: the number of epochs is chosen by cross-validation inside each fold's training videos, and the model
  is retrained on all of them for that many (`semsum.training.innercv`).
- `test-best`: the published CSTA protocol - the epoch whose test-fold Kendall tau and Spearman rho (CSTA
  protocol) both improve last is kept. It selects on the test fold, so it leaks test information.
With `val`, `val_every` also checks the validation videos inside an epoch, and `refit` retrains on all the fold's
training videos for the chosen number of passes (`semsum.training.refit`). The settings: `semsum.training.config`.

Layout of a run directory: `config.json`; `fold_K/checkpoint.pt` (written atomically after every epoch,
removed when the fold is done); `fold_K/model.safetensors` and `fold_K/model.json` (the selected weights and
how they were made: `semsum.training.saved`); `tb/` (TensorBoard);
`scores.json` (out-of-fold frame scores); `results.json` and `results.md`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from semsum.atomic import write_json
from semsum.data.h5 import Dataset, VideoData, load_dataset
from semsum.data.splits import Split, hold_out, load_splits
from semsum.device import resolve_device
from semsum.errors import SemsumError
from semsum.models import get_model
from semsum.models.inputs import fit_input_stats
from semsum.nn.loop import EpochLoop
from semsum.training.config import RunConfig, TrainConfig
from semsum.training.innercv import Choice, choose_inner
from semsum.training.refit import refit_fold
from semsum.training.saved import has_model, read_record, save_model

#: Called after every optimiser step as hook(fold, epoch, step); raising from it interrupts training.
StepHook = Callable[[int, int, int], None]


def set_determinism(seed: int, deterministic: bool) -> None:
    """Seed every generator; in deterministic mode also force deterministic kernels."""
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(deterministic, warn_only=False)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = deterministic
    if deterministic and torch.cuda.is_available():
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def normalized_target(video: VideoData, normalize: bool, source: str = "") -> np.ndarray:
    """The training target: `gtscore`, min-max normalised per video when `normalize`."""
    if video.gtscore is None:
        raise SemsumError(f"{source}: {video.key} has no gtscore (needed for training)")
    y = np.asarray(video.gtscore, dtype=np.float32)
    if normalize:
        span = float(y.max() - y.min())
        y = (y - y.min()) / span if span > 0 else np.zeros_like(y)
    return y


def pearson_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - Pearson's correlation of a video's predicted scores with its target (0 for a perfect linear fit, 2 for a
    reversed one); a constant prediction or target correlates 0."""
    p, t = pred.flatten() - pred.mean(), target.flatten() - target.mean()
    return 1 - (p * t).sum() / (p.norm() * t.norm()).clamp_min(1e-12)


def rank_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """RankNet's pairwise logistic loss on a video's standardised predicted scores z: for every pair of steps whose
    targets differ, log(1 + exp(-(z_i - z_j))), i being the step rated higher, weighted by t_i - t_j (pairs the
    annotators barely separate count little), averaged over the weights. Like Kendall's tau it reads the order of the
    predictions only (standardising makes it free of their scale and offset); a constant target gives 0."""
    p, t = pred.flatten(), target.flatten()
    z = (p - p.mean()) / p.std(correction=0).clamp_min(1e-6)
    weight = (t[:, None] - t[None, :]).clamp_min(0)
    pairs = nn.functional.softplus(z[None, :] - z[:, None])  # [i, j]: log(1 + exp(-(z_i - z_j)))
    return (weight * pairs).sum() / weight.sum().clamp_min(1e-12)


LOSS_FUNCTIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": nn.functional.mse_loss,
    "pearson": pearson_loss,
    "rank": rank_loss,
}


def check_splits(ds: Dataset, splits: Sequence[Split], source: str) -> None:
    """Every split key must be in the file, and no video may be both trained and tested in one fold."""
    for i, s in enumerate(splits):
        missing = [k for k in (*s.train_keys, *s.test_keys) if k not in ds.videos]
        if missing:
            raise SemsumError(f"{source}: split {i} names {missing[0]!r}, which {ds.path} does not contain")
        if set(s.train_keys) & set(s.test_keys):
            raise SemsumError(f"{source}: split {i} trains and tests on the same video")


def validation_keys(train_keys: Sequence[str], fraction: float, seed: int, fold: int) -> list[str]:
    """The training videos held out for `--select val` (at least one, at most all but one)."""
    return hold_out(train_keys, fraction, [seed, fold, 7], minimum=1)[1]


def predict_steps(model: nn.Module, features: np.ndarray, device: torch.device) -> np.ndarray:
    """One video's step scores from a model in eval mode."""
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).to(device)
        return model(x).float().cpu().numpy().reshape(-1)


class Tensors:
    """Features and targets of a dataset as CPU tensors, built once per run."""

    def __init__(self, ds: Dataset, cfg: TrainConfig, source: str):
        self.x = {v.key: torch.from_numpy(v.feature_matrix(cfg.feature_keys, source)) for v in ds}
        self.y = {v.key: torch.from_numpy(normalized_target(v, cfg.normalize, source)) for v in ds}
        widths = {x.shape[1] for x in self.x.values()}
        if len(widths) != 1:
            raise SemsumError(f"{source}: feature widths differ between videos: {sorted(widths)}")
        self.in_dim = widths.pop()


@dataclass
class FoldResult:
    fold: int
    epochs_run: int
    selected_epoch: int
    seconds: float
    history: list[dict[str, float]]


class Trainer:
    """Trains one fold at a time; `run` trains all folds of a split file and evaluates them."""

    def __init__(
        self,
        cfg: TrainConfig,
        ds: Dataset,
        splits: Sequence[Split],
        out: str | os.PathLike[str],
        evaluator: Callable[[dict[str, np.ndarray], Sequence[str], str], dict[str, float]] | None = None,
        hook: StepHook | None = None,
        progress: Any = None,
    ):
        self.cfg, self.ds, self.splits, self.out = cfg, ds, list(splits), Path(out)
        self.device = resolve_device(cfg.device)
        self.data = Tensors(ds, cfg, str(ds.path))
        self.evaluator = evaluator
        self.hook = hook
        self.progress = progress

    def new_model(self) -> nn.Module:
        return get_model(self.cfg.model, self.data.in_dim, **self.cfg.model_kwargs).to(self.device)

    def start(self, fold: int, lr: float, keys: Sequence[str]) -> tuple[nn.Module, torch.optim.Optimizer]:
        """A freshly seeded model (its input statistics fitted on `keys` when standardising) and its optimiser."""
        set_determinism(self.cfg.seed + fold, self.cfg.deterministic)
        model = self.new_model()
        if self.cfg.standardize:
            fit_input_stats(model, torch.cat([self.data.x[k] for k in keys]))
        return model, torch.optim.Adam(model.parameters(), lr=lr, weight_decay=self.cfg.weight_decay)

    def epoch(self, model, optimizer, keys, fold: int, epoch: int, limit: int | None = None, check=None) -> float:
        """One pass over `keys` (the first `limit` of its shuffled order); `check(seen)` every `val_every` videos."""
        model.train()
        order = np.random.default_rng([self.cfg.seed, fold, epoch]).permutation(len(keys))[:limit]
        criterion = LOSS_FUNCTIONS[self.cfg.loss]
        total, pending, n_pending = 0.0, 0.0, 0
        for step, i in enumerate(order):
            key = keys[i]
            pred = model(self.data.x[key].to(self.device))
            loss = criterion(pred, self.data.y[key].to(self.device))
            total += float(loss.detach())
            pending, n_pending = pending + loss, n_pending + 1
            if n_pending == self.cfg.batch_size or step == len(order) - 1:
                optimizer.zero_grad()
                (pending / n_pending).backward()
                optimizer.step()
                pending, n_pending = 0.0, 0
            if check is not None and (step + 1) % self.cfg.val_every == 0 and step < len(order) - 1:
                check(step + 1)
                model.train()
            if self.hook is not None:
                self.hook(fold, epoch, step)
        return total / len(order)

    def _score(self, model, keys: Sequence[str]) -> dict[str, np.ndarray]:
        return {k: predict_steps(model, self.data.x[k].numpy(), self.device) for k in keys}

    def train_fold(self, fold: int, writer: Any = None) -> FoldResult:
        """Train fold `fold` (resuming from its checkpoints) and save its selected weights (`saved.save_model`)."""
        cfg, split = self.cfg, self.splits[fold]
        fold_dir = self.out / f"fold_{fold}"
        if has_model(fold_dir):
            state = read_record(fold_dir)
            return FoldResult(fold, state["epochs_run"], state["selected_epoch"], state["seconds"], state["history"])
        train_keys = list(split.train_keys)
        if cfg.select == "inner-cv":
            choice = choose_inner(self, fold, train_keys, writer)
        else:
            choice = self._choose_held_out(fold, train_keys, split.test_keys, writer)
        best, loops = choice.best, choice.loops
        if cfg.refit or cfg.select == "inner-cv":
            best, refit_loop = refit_fold(self, fold, choice.lr, best, choice.n_fit, train_keys, writer)
            loops.append(refit_loop)
        keys = {"train_keys": train_keys, **choice.keys, "test_keys": list(split.test_keys)}
        result = self._save_fold(fold_dir, choice.cnn_init, best, keys, choice.history)
        for loop in loops:
            loop.clear()
        for folder in sorted((p for p in fold_dir.rglob("*") if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):  # a rate's, an inner run's or the refit's, emptied of its checkpoint
                folder.rmdir()
        return FoldResult(fold, cfg.epochs, best["epoch"], result["seconds"], choice.history)

    def _choose_held_out(self, fold: int, train_keys: list[str], test_keys: Sequence[str], writer: Any) -> Choice:
        """Selection `last`, `val` (on a held-out share of the training videos) or `test-best`, at every rate."""
        cfg = self.cfg
        val_keys = validation_keys(train_keys, cfg.val_fraction, cfg.seed, fold) if cfg.select == "val" else []
        fit_keys = [k for k in train_keys if k not in set(val_keys)]
        lrs = cfg.learning_rates()
        grid = len(lrs) > 1
        names = [f"fold_{fold}" + (f"/lr_{lr:g}" if grid else "") for lr in lrs]
        trials = [
            self.train_run(fold, lr, fit_keys, val_keys, test_keys, writer, grid, name)
            for lr, name in zip(lrs, names, strict=True)
        ]
        chosen = max(range(len(lrs)), key=lambda i: trials[i][1]["tau"])  # the first lr wins ties
        model, best, history, _ = trials[chosen]
        if cfg.select == "last" or best["state"] is None:
            best = {"epoch": cfg.epochs - 1, "seen": len(fit_keys), "state": model.state_dict()}
        loops = [loop for _, _, _, loop in trials]
        cnn_init = getattr(model, "cnn_init", None)
        return Choice(lrs[chosen], best, history, len(fit_keys), cnn_init, {"val_keys": val_keys}, loops)

    def train_run(
        self, fold: int, lr: float, fit_keys: list[str], val_keys, test_keys, writer, grid: bool, name: str
    ) -> tuple[nn.Module, dict[str, Any], list[dict[str, float]], EpochLoop]:
        """Train on `fit_keys` at rate `lr`, resuming from the checkpoint in folder `name`; the model, its best epoch
        on `val_keys` (or on the test keys, for test-best), history and loop. In an lr grid (`grid`) the rows record
        the rate."""
        cfg = self.cfg
        model, optimizer = self.start(fold, lr, fit_keys)
        best: dict[str, Any] = {"epoch": cfg.epochs - 1, "seen": len(fit_keys), "state": None, "tau": -np.inf}
        best["rho"] = -np.inf

        def epoch_fn(epoch: int) -> dict[str, float]:
            row: dict[str, float] = {}

            def check(seen: int) -> None:
                best.update(self._select(model, epoch, seen, row, best, val_keys, test_keys))

            inner = check if cfg.val_every else None
            row["train_loss"] = self.epoch(model, optimizer, fit_keys, fold, epoch, check=inner)
            row |= {"lr": lr} if grid else {}
            check(len(fit_keys))
            return row

        loop = EpochLoop(
            self.out / name / "checkpoint.pt",
            cfg.to_dict(),
            lambda: {"model": model, "optimizer": optimizer},
            extra=lambda: {"best": best},
            restore=lambda extra: best.update(extra["best"]),
            writer=writer,
            tag=name,
            progress=self.progress,
            description=name.replace("_", " "),
        )
        history = loop.run(cfg.epochs, epoch_fn, describe=lambda row: f"{name} loss {row['train_loss']:.4f}")
        return model, best, history, loop

    def _select(
        self, model: nn.Module, epoch: int, seen: int, row: dict[str, float], best: dict[str, Any], val_keys, test_keys
    ) -> dict[str, Any]:
        """Add the selection's numbers to `row` (`seen` training videos into `epoch`); return the new best if the
        model now beats `best`, else {}. With in-epoch checks, the row keeps the epoch's best tau and where it was."""
        cfg = self.cfg
        if cfg.select in ("val", "inner-cv"):
            tau = self._val_tau(model, val_keys)
            if "val_tau" not in row or tau > row["val_tau"]:
                row["val_tau"] = tau
                row |= {"val_seen": seen} if cfg.val_every else {}
            if tau > best["tau"]:
                return {"epoch": epoch, "seen": seen, "state": cpu_state(model), "tau": tau, "rho": -np.inf}
        elif cfg.select == "test-best":
            m = self.evaluator(self._score(model, test_keys), test_keys, "csta")
            row["test_tau"], row["test_rho"] = m["kendall_tau"], m["spearman_rho"]
            if row["test_tau"] > best["tau"] and row["test_rho"] > best["rho"]:
                return {"epoch": epoch, "state": cpu_state(model), "tau": row["test_tau"], "rho": row["test_rho"]}
        return {}

    def _save_fold(
        self, fold_dir: Path, cnn_init: str | None, best: dict[str, Any], keys: dict[str, Any], history: list[dict]
    ) -> dict[str, Any]:
        """Write the fold's model: the selected weights with everything that says how they were made."""
        cfg = self.cfg
        record = {
            "model": cfg.model,
            "model_kwargs": cfg.model_kwargs,
            "in_dim": self.data.in_dim,
            "feature_keys": list(cfg.feature_keys),
            "state_dict": {k: v.cpu() for k, v in best["state"].items()},
            **keys,
            "selected_epoch": best["epoch"],
            **({"refit_videos": best["refit_videos"]} if "refit_videos" in best else {}),
            "epochs_run": cfg.epochs,
            "seconds": sum(row["seconds"] for row in history) + best.get("refit_seconds", 0.0),
            "history": history,
            "cnn_init": cnn_init,
        }
        save_model(fold_dir, record)
        return record

    def _val_tau(self, model, keys: Sequence[str]) -> float:
        from semsum.evaluation.metrics import rank_correlations

        taus = []
        for k in keys:
            pred = predict_steps(model, self.data.x[k].numpy(), self.device)
            tau, _ = rank_correlations(pred, self.data.y[k].numpy()[None])
            taus.append(float(tau[0]))
        return float(np.nanmean(taus))


def cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's weights on the CPU (kept as a candidate while training goes on)."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def feature_provenance(ds: Dataset) -> dict[str, Any]:
    """The training file's record of how its MLLM features were made (`mllm_*` attributes), JSON-ready.

    A run keeps it so that `semsum summarize --run` computes the same embeddings (model, prompt) for new videos.
    """
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in ds.attrs.items() if k.startswith("mllm_")}


def prepare_run_dir(
    out: Path, cfg: RunConfig, h5: Path, splits_path: Path, provenance: dict[str, Any] | None = None
) -> None:
    """Write config.json, or check that an existing run directory was started with the same settings."""
    record = {"config": cfg.to_dict(), "h5": str(h5), "splits": str(splits_path), "features": provenance or {}}
    path = out / "config.json"
    if path.is_file():
        old = json.loads(path.read_text())
        old_config = {**type(cfg)().to_dict(), **old.get("config", {})}  # fields added since: their defaults
        if old_config != record["config"]:
            changed = sorted(k for k in record["config"] if old_config.get(k) != record["config"][k])
            raise SemsumError(f"{out}: holds a run with different settings ({', '.join(changed)}); use a new --out")
        return
    write_json(path, record)


def load_training_data(h5: str | os.PathLike[str], cfg: TrainConfig) -> Dataset:
    """The HDF5 file with every key training needs (features and gtscore) checked up front."""
    return load_dataset(h5, require=("n_frames", "picks", "gtscore", *cfg.feature_keys))


def load_split_file(path: str | os.PathLike[str], ds: Dataset) -> list[Split]:
    splits = load_splits(path)
    check_splits(ds, splits, str(path))
    return splits
