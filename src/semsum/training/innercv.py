"""Inner cross-validation (`select = "inner-cv"`): how long to train, chosen on a fold's training videos alone.

`--select val` holds one share of a fold's training videos out and keeps the weights of the epoch that share liked
best: one noisy choice read off a few videos, and a model that never trained on them. Inner cross-validation splits
the fold's training videos into `inner_folds` groups (drawn by the seed and the fold), trains a freshly seeded model
on all groups but one for `epochs` epochs, once per group, scoring the held-out group after every epoch (mean Kendall
tau against gtscore, as `val` does), averages those curves and keeps the epoch (and, with `lr_grid`, the learning
rate) whose mean is highest, the earliest on a tie. The fold's model is then trained afresh on all its training
videos for that many epochs, or as many updates as an inner run made (`refit_by`, `semsum.training.refit`). The
test videos are never read: the ridge probe chooses its alpha the same way (`semsum.training.ridge`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from semsum.errors import SemsumError
from semsum.nn.loop import EpochLoop

if TYPE_CHECKING:
    from semsum.training.trainer import Trainer


def inner_groups(keys: Sequence[str], k: int, seed: int, fold: int) -> list[list[str]]:
    """`k` disjoint groups covering `keys`, sizes within one of each other, drawn by `seed` and `fold`."""
    if not 2 <= k <= len(keys):
        raise SemsumError(f"inner cross-validation: {k} groups of {len(keys)} training videos (need 2 to {len(keys)})")
    order = np.random.default_rng([seed, fold, 11]).permutation(len(keys))
    return [[keys[i] for i in part] for part in np.array_split(order, k)]


def mean_curve(histories: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Epoch rows averaged over the inner runs: mean train loss and validation tau, seconds summed."""
    rows = []
    for epoch, runs in enumerate(zip(*histories, strict=True)):
        row = {"epoch": epoch, **{m: float(np.mean([r[m] for r in runs])) for m in ("train_loss", "val_tau")}}
        row["seconds"] = sum(r["seconds"] for r in runs)
        rows.append(row | ({"lr": runs[0]["lr"]} if "lr" in runs[0] else {}))
    return rows


@dataclass
class Choice:
    """What a fold's selection chose: the rate, the point (`best`: epoch, videos seen into it, weights unless a refit
    makes them), the history the results report, the selection runs' training videos (`n_fit`, a mean for inner
    runs), the keys to record beside the fold's, the loops whose checkpoints to clear."""

    lr: float
    best: dict[str, Any]
    history: list[dict[str, Any]]
    n_fit: float
    cnn_init: str | None
    keys: dict[str, Any] = field(default_factory=dict)
    loops: list[EpochLoop] = field(default_factory=list)


def choose_inner(trainer: Trainer, fold: int, train_keys: Sequence[str], writer: Any = None) -> Choice:
    """Train every inner run of fold `fold` (resuming) and choose the learning rate and epoch count on them."""
    cfg, keys = trainer.cfg, list(train_keys)
    groups = inner_groups(keys, cfg.inner_folds, cfg.seed, fold)
    lrs = cfg.learning_rates()
    curves, loops, model = {}, [], None
    for lr in lrs:
        histories = []
        for i, held in enumerate(groups):
            fit = [k for k in keys if k not in set(held)]
            name = f"fold_{fold}/inner_{i}" + ("" if len(lrs) == 1 else f"/lr_{lr:g}")
            model, _, history, loop = trainer.train_run(fold, lr, fit, held, (), writer, len(lrs) > 1, name)
            histories.append(history)
            loops.append(loop)
        curves[lr] = mean_curve(histories)
    lr, epoch = max(((r, e) for r in lrs for e in range(cfg.epochs)), key=lambda p: curves[p[0]][p[1]]["val_tau"])
    n_fit = len(keys) * (1 - 1 / len(groups))  # the inner runs' mean training set, for `refit_by = "steps"`
    return Choice(
        lr,
        {"epoch": epoch, "seen": n_fit},
        curves[lr],
        n_fit,
        getattr(model, "cnn_init", None),
        {"inner_val_keys": groups},
        loops,
    )
