"""Training that streams a Mr.HiSum-schema file: padded batches with masks, one split with validation, official metrics.

The k-fold trainer (`semsum.training.trainer`) reads whole files into memory and steps one video at a time; Mr.HiSum's
27,892 training videos (over 20 GB of features) need neither. Here:

- **Streaming**: a `torch.utils.data.DataLoader` reads each batch's videos from the HDF5 file in `workers` processes,
  at most `prefetch` batches ahead per worker; with `float16` the features travel as float16 (half the memory of
  the batches in flight) and become float32 on the device. Only the labels of the validation and test videos
  (small) are kept in memory.
- **Padded batches with masks**: a batch of `batch_size` videos (shuffled per epoch from (seed, epoch)) is sorted
  by length and cut into passes of at most `pass_frames` padded steps; each pass is one forward/backward
  `[b, T, D]` with a mask `[b, T]`, and the batch's gradient is the sum over passes of the squared errors over real
  steps divided by the batch's real steps: the official loss `MSELoss(score[mask], gtscore[mask]).mean()` of the
  whole batch, with the memory of one pass. One optimiser step per batch.
- **One split** (`train_keys`, `val_keys`, `test_keys`): trains on train; after every epoch computes F1, mAP@50 and
  mAP@15 on val (`semsum.evaluation.mrhisum`) and keeps the best epoch of each, later epochs winning ties as the
  official `<=` does; at the end reports the test metrics of the model chosen by each criterion and of the last
  epoch. `select` names the one saved (`model.safetensors`, `model.json`), whose test scores are `scores.json`.
  Nothing about the test set is used before the end.
- The shared epoch loop (`semsum.nn.loop.EpochLoop`): resume after a kill to the same weights, RNG state, TensorBoard
  (`RUN/tb`), progress.

Defaults are the official Mr.HiSum setting (`main.py`, `model/solver.py`): Adam lr 5e-5, weight decay 1e-4, batch 256,
200 epochs, raw `gtscore` (no per-video normalisation). The official PGL-SUM and VASNet solvers create an exponential
learning-rate scheduler but never step it, so the rate stays constant, as here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, get_worker_info

from semsum.atomic import write_json
from semsum.data.mrhisum import MrHiSumFile, MrHiSumVideo, load_split
from semsum.device import resolve_device
from semsum.errors import SemsumError
from semsum.evaluation.mrhisum import METRICS, evaluate
from semsum.models import count_parameters, get_model
from semsum.nn.loop import EpochLoop
from semsum.training.results import record_run, results_markdown
from semsum.training.run import TrainedRun
from semsum.training.saved import has_model, save_model
from semsum.training.trainer import RunConfig, StepHook, cpu_state, prepare_run_dir, set_determinism

SELECT = ("last", *METRICS)


@dataclass
class StreamConfig(RunConfig):
    """Everything that decides a streamed run's result (the official Mr.HiSum defaults)."""

    SELECTIONS: ClassVar[tuple[str, ...]] = SELECT

    model: str = "pgl-sum"
    features_key: str = "features"
    # the official schedule and optimiser (model/solver.py): Adam, one step per batch of videos
    epochs: int = 200
    batch_size: int = 256
    lr: float = 5e-5
    weight_decay: float = 1e-4
    # streaming: padded steps per forward pass, loader processes and batches read ahead, float16 in flight
    pass_frames: int = 2048
    workers: int = 2
    prefetch: int = 2
    float16: bool = False
    # the official target and selection: raw gtscore, the best validation mAP@50
    normalize: bool = False
    select: str = "map50"
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.epochs, self.batch_size, self.pass_frames, self.prefetch) < 1 or self.workers < 0:
            raise SemsumError("epochs, batch size, pass frames and prefetch must be at least 1, workers at least 0")


class StreamedVideos(Dataset):
    """Videos of a Mr.HiSum file by index: (key, features [n, D] float32 or float16, target [n] float32)."""

    def __init__(self, path: Path, keys: Sequence[str], cfg: StreamConfig, dim: int):
        self.file = MrHiSumFile(path, cfg.features_key)
        self.keys, self.dim = list(keys), dim
        self.dtype = np.float16 if cfg.float16 else np.float32
        self.normalize = cfg.normalize

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int) -> tuple[str, np.ndarray, np.ndarray]:
        video = self.file.read(self.keys[i], features=True, dim=self.dim)
        y = video.gtscore
        if self.normalize:
            span = float(y.max() - y.min())
            y = (y - y.min()) / span if span > 0 else np.zeros_like(y)
        return video.key, video.features.astype(self.dtype, copy=False), y


@dataclass
class Pass:
    """One forward pass: keys, features [b, T, D], targets [b, T] and mask [b, T] (True = a real step)."""

    keys: list[str]
    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor


class Passes:
    """Collate a batch into passes of at most `pass_frames` padded steps, longest videos first (less padding)."""

    def __init__(self, pass_frames: int):
        self.pass_frames = pass_frames

    def __call__(self, items: list[tuple[str, np.ndarray, np.ndarray]]) -> list[Pass]:
        items = sorted(items, key=lambda item: -len(item[2]))
        groups: list[list] = []
        for item in items:  # lengths decrease, so a group's padded size is its first video's length x its size
            if groups and len(groups[-1][0][2]) * (len(groups[-1]) + 1) <= self.pass_frames:
                groups[-1].append(item)
            else:
                groups.append([item])
        return [self._pad(g) for g in groups]

    @staticmethod
    def _pad(group: list[tuple[str, np.ndarray, np.ndarray]]) -> Pass:
        n = len(group[0][2])
        x = np.zeros((len(group), n, group[0][1].shape[1]), dtype=group[0][1].dtype)
        y = np.zeros((len(group), n), dtype=np.float32)
        mask = np.zeros((len(group), n), dtype=bool)
        for b, (_, features, target) in enumerate(group):
            x[b, : len(target)], y[b, : len(target)], mask[b, : len(target)] = features, target, True
        return Pass([key for key, _, _ in group], torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(mask))


def _forget_parent_file(_: int) -> None:
    """In a forked worker: drop the parent's HDF5 handle so the worker opens its own."""
    info = get_worker_info()
    if info is not None:
        info.dataset.file.detach()


def batches(path: Path, keys: Sequence[str], cfg: StreamConfig, dim: int, order: Sequence[int]) -> Iterator[list[Pass]]:
    """The videos `keys[i]` for i in `order`, `batch_size` at a time, read by worker processes as passes."""
    order = list(order)
    groups = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
    loader = DataLoader(
        StreamedVideos(path, keys, cfg, dim),
        batch_sampler=groups,
        num_workers=cfg.workers,
        prefetch_factor=cfg.prefetch if cfg.workers else None,
        collate_fn=Passes(cfg.pass_frames),
        worker_init_fn=_forget_parent_file,
    )
    yield from loader


def predict(
    model: nn.Module, path: Path, keys: Sequence[str], cfg: StreamConfig, dim: int, device: torch.device
) -> dict[str, np.ndarray]:
    """Per-second scores of `keys` (eval mode, padded passes), float32 arrays by key."""
    model.eval()
    out = {}
    with torch.no_grad():
        for passes in batches(path, keys, cfg, dim, range(len(keys))):
            for p in passes:
                mask = p.mask.to(device)
                scores = model(p.x.to(device).float(), mask).float().cpu().numpy()
                for b, key in enumerate(p.keys):
                    out[key] = scores[b, : int(p.mask[b].sum())]
    return out


def predict_mrhisum(trained: TrainedRun, h5: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Per-second scores of every video of a Mr.HiSum-schema file from a trained run (`train-stream`'s, or any run on
    one feature key the file holds), read one video at a time; out-of-fold for videos the run knows as test."""
    if len(trained.feature_keys) != 1:
        raise SemsumError(f"{trained.run_dir}: trained on {trained.feature_keys}; Mr.HiSum files give one feature key")
    with MrHiSumFile(h5, features_key=trained.feature_keys[0]) as f:
        return {k: trained.predict_video(k, f.read(k, dim=trained.in_dim).features.astype(np.float32)) for k in f}


def accumulate_gradients(model: nn.Module, passes: Sequence[Pass], device: torch.device) -> float:
    """Backpropagate the batch's loss pass by pass; return it: the official `MSELoss(score[mask], gtscore[mask])`.

    Each pass adds its squared errors over real steps divided by the real steps of the whole batch, so the gradients
    sum to those of the batch in one pass, with the memory of the largest pass.
    """
    real = sum(int(p.mask.sum()) for p in passes)
    total = 0.0
    for p in passes:
        mask, y = p.mask.to(device), p.y.to(device)
        scores = model(p.x.to(device).float(), mask)
        loss = ((scores - y) ** 2)[mask].sum() / real
        loss.backward()
        total += float(loss.detach())
    return total


@dataclass
class StreamData:
    """What a streamed run reads up front: the split, the feature width and the val/test labels."""

    path: Path
    train_keys: list[str]
    val_keys: list[str]
    test_keys: list[str]
    dim: int
    labels: dict[str, MrHiSumVideo]

    @classmethod
    def load(cls, h5: str | os.PathLike[str], split_path: str | os.PathLike[str], cfg: StreamConfig) -> StreamData:
        split = load_split(split_path)
        with MrHiSumFile(h5, cfg.features_key) as f:
            for name in ("train", "val", "test"):
                missing = [k for k in split.keys(name) if k not in f]
                if missing:
                    raise SemsumError(f"{split_path}: {name}_keys names {missing[0]!r}, which {h5} does not contain")
            if not split.train_keys or not split.val_keys:
                raise SemsumError(f"{split_path}: train_keys and val_keys must not be empty")
            dim = f.feature_dim(split.train_keys[0])
            labels = {k: f.read(k, features=False) for k in (*split.val_keys, *split.test_keys)}
        return cls(Path(h5), list(split.train_keys), list(split.val_keys), list(split.test_keys), dim, labels)


class StreamTrainer:
    """Trains one model on a Mr.HiSum split, streaming features; `run` trains (resuming) and writes the results."""

    def __init__(self, cfg: StreamConfig, data: StreamData, out: str | os.PathLike[str], hook: StepHook | None = None):
        self.cfg, self.data, self.out, self.hook = cfg, data, Path(out), hook
        self.device = resolve_device(cfg.device)

    def new_model(self) -> nn.Module:
        return get_model(self.cfg.model, self.data.dim, **self.cfg.model_kwargs).to(self.device)

    def _scores(self, model: nn.Module, keys: Sequence[str]) -> dict[str, np.ndarray]:
        return predict(model, self.data.path, keys, self.cfg, self.data.dim, self.device)

    def _metrics(self, model: nn.Module, keys: Sequence[str]) -> dict[str, float]:
        result = evaluate(self._scores(model, keys), self.data.labels, str(self.data.path))
        return {m: getattr(result, m) for m in METRICS}

    def _epoch(self, model: nn.Module, optimizer: torch.optim.Optimizer, epoch: int, progress: Any) -> float:
        model.train()
        order = np.random.default_rng([self.cfg.seed, epoch]).permutation(len(self.data.train_keys))
        n_batches = -(-len(order) // self.cfg.batch_size)
        task = progress.add_task(f"epoch {epoch} batches", total=n_batches) if progress is not None else None
        losses = []
        for step, passes in enumerate(batches(self.data.path, self.data.train_keys, self.cfg, self.data.dim, order)):
            optimizer.zero_grad()
            losses.append(accumulate_gradients(model, passes, self.device))
            optimizer.step()
            if task is not None:
                progress.update(task, completed=step + 1)
            if self.hook is not None:
                self.hook(0, epoch, step)
        if task is not None:
            progress.remove_task(task)
        return float(np.mean(losses))

    def run(self, writer: Any = None, progress: Any = None) -> dict[str, Any]:
        """Train (resuming from `checkpoint.pt`), pick the epochs on val, evaluate on test, save the selected model."""
        cfg = self.cfg
        set_determinism(cfg.seed, cfg.deterministic)
        model = self.new_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        best: dict[str, dict[str, Any]] = {m: {"epoch": None, "value": -np.inf, "state": None} for m in METRICS}

        def epoch_fn(epoch: int) -> dict[str, float]:
            row = {"train_loss": self._epoch(model, optimizer, epoch, progress)}
            for m, value in self._metrics(model, self.data.val_keys).items():
                row[f"val_{m}"] = value
                if value >= best[m]["value"]:  # the official `best <= val`: later epochs win ties
                    best[m] = {"epoch": epoch, "value": value, "state": cpu_state(model)}
            return row

        def restore(extra: dict[str, Any]) -> None:
            best.update(extra["best"])

        loop = EpochLoop(
            self.out / "checkpoint.pt",
            cfg.to_dict(),
            lambda: {"model": model, "optimizer": optimizer},
            extra=lambda: {"best": best},
            restore=restore,
            writer=writer,
            progress=progress,
            description="epochs",
        )
        history = loop.run(
            cfg.epochs, epoch_fn, describe=lambda r: f"loss {r['train_loss']:.4f} val mAP50 {r['val_map50']:.3f}"
        )
        chosen = {"last": {"epoch": cfg.epochs - 1, "state": cpu_state(model)}}
        chosen.update({m: best[m] for m in METRICS})
        by_selection, test_scores = {}, {}
        for name, pick in chosen.items():
            model.load_state_dict(pick["state"])
            scores = self._scores(model, self.data.test_keys) if self.data.test_keys else {}
            metrics = evaluate(scores, self.data.labels).to_dict(per_video=False) if scores else None
            val = history[pick["epoch"]]
            by_selection[name] = {
                "epoch": pick["epoch"],
                "val": {m: val[f"val_{m}"] for m in METRICS},
                "test": None if metrics is None else {m: metrics[m] for m in METRICS},
            }
            if name == cfg.select:
                test_scores = scores
                self._save_model(pick, history)
        write_json(self.out / "scores.json", {k: v.tolist() for k, v in test_scores.items()})
        loop.clear()
        return self._results(model, history, by_selection)

    def _save_model(self, pick: Mapping[str, Any], history: list[dict[str, Any]]) -> None:
        state = {
            "model": self.cfg.model,
            "model_kwargs": self.cfg.model_kwargs,
            "in_dim": self.data.dim,
            "feature_keys": [self.cfg.features_key],
            "state_dict": pick["state"],
            "selection": self.cfg.select,
            "selected_epoch": pick["epoch"],
            "train_keys": self.data.train_keys,
            "val_keys": self.data.val_keys,
            "test_keys": self.data.test_keys,
            "history": history,
        }
        save_model(self.out, state)

    def _results(self, model: nn.Module, history: list[dict[str, Any]], by_selection: dict) -> dict[str, Any]:
        return {
            "model": self.cfg.model,
            "parameters": count_parameters(model),
            "in_dim": self.data.dim,
            "h5": str(self.data.path),
            "n_videos": {
                "train": len(self.data.train_keys),
                "val": len(self.data.val_keys),
                "test": len(self.data.test_keys),
            },
            "selection": self.cfg.select,
            "selected_epoch": by_selection[self.cfg.select]["epoch"],
            "test": by_selection[self.cfg.select]["test"],
            "by_selection": by_selection,
            "seconds": sum(row["seconds"] for row in history),
            "config": self.cfg.to_dict(),
            "history": history,
        }


def _markdown(results: Mapping[str, Any]) -> str:
    """Test F1 (percent), mAP@50 and mAP@15 of the model chosen by each validation criterion, as a markdown table."""

    def fmt(v: float | None, percent: bool = False) -> str:
        return "-" if v is None else f"{v:.2f}" if percent else f"{v:.4f}"

    n = results["n_videos"]
    notes = [
        f"{n['train']} train / {n['val']} val / {n['test']} test videos; {results['parameters']:,} parameters; "
        f"{results['seconds']:.0f} s of training. Metrics as the official Mr.HiSum evaluation computes them (F1 in "
        "percent, mAP 0-1); epochs chosen on val only."
    ]
    header = ["chosen by", "epoch", *(f"{s} {m}" for s in ("val", "test") for m in ("F1", "mAP@50", "mAP@15"))]
    rows = []
    for name, row in results["by_selection"].items():
        label = "last epoch" if name == "last" else f"best val {name}"
        label += " (saved model)" if name == results["selection"] else ""
        val, test = row["val"], row["test"] or {}
        cells = [fmt(val["f1"], True), fmt(val["map50"]), fmt(val["map15"])]
        cells += [fmt(test.get("f1"), True), fmt(test.get("map50")), fmt(test.get("map15"))]
        rows.append([label, str(row["epoch"]), *cells])
    title = f"{results['model']} on {Path(results['h5']).name} (streamed, one split)"
    return results_markdown(title, notes, header, rows)


def train_stream(
    h5: str | os.PathLike[str],
    split: str | os.PathLike[str],
    out: str | os.PathLike[str],
    cfg: StreamConfig,
    hook: StepHook | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Train `cfg.model` on a Mr.HiSum-schema file and split into run directory `out` (resuming); write the results.

    Returns the results also written to `out/results.json` and `out/results.md`; a finished run returns them again.
    """
    out = Path(out)
    prepare_run_dir(out, cfg, Path(h5), Path(split))  # refuses a directory started with other settings
    if (out / "results.json").is_file() and has_model(out):
        return json.loads((out / "results.json").read_text())
    trainer = StreamTrainer(cfg, StreamData.load(h5, split, cfg), out, hook)
    return record_run(out, trainer.run, _markdown, show_progress)
