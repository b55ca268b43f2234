"""Refit after selection: retrain a fold on all its training videos, validation ones included (`TrainConfig.refit`).

`--select val` trains on the fold's training videos less its validation share and keeps the epoch (or, with
`val_every`, the point inside an epoch) where the validation videos' tau peaked. The refit then trains a fresh model,
seeded as the selection run was, at the chosen learning rate on every training video, and saves those weights: what
the ridge probe does when it refits its chosen alpha on all training videos. How long: `refit_by = "passes"` (the
default) for the same number of passes over the data (the chosen point as a fraction of passes, times the number of
training videos, rounded), `"steps"` for the same number of optimiser updates (the training videos the selection run
had seen at that point), the rule of Goodfellow, Bengio and Courville's *Deep Learning* (algorithm 7.2), which notes
that neither is known to be better. No test video is read; the selection itself is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from semsum.nn.loop import EpochLoop

if TYPE_CHECKING:
    from semsum.training.trainer import Trainer


def refit_videos(best: dict[str, Any], n_fit: float, n_train: int, by: str = "passes") -> int:
    """Training videos the refit sees, at least one: the chosen passes (`epoch` full ones and `seen` of `n_fit` videos
    into the next) over the `n_train` training videos, or with `by="steps"` as many videos as the selection run saw."""
    return max(1, round((best["epoch"] + best["seen"] / n_fit) * (n_fit if by == "steps" else n_train)))


def refit_fold(
    trainer: Trainer,
    fold: int,
    lr: float,
    best: dict[str, Any],
    n_fit: float,
    train_keys: Sequence[str],
    writer: Any = None,
) -> tuple[dict[str, Any], EpochLoop]:
    """Retrain fold `fold` on `train_keys` for the passes chosen in `best` (resuming from its own checkpoint);
    returns `best` with the refitted weights, `refit_videos` and `refit_seconds`, and the loop whose checkpoint to
    clear."""
    from semsum.training.trainer import cpu_state

    keys = list(train_keys)
    videos = refit_videos(best, n_fit, len(keys), trainer.cfg.refit_by)
    model, optimizer = trainer.start(fold, lr, keys)

    def epoch_fn(epoch: int) -> dict[str, float]:
        limit = min(len(keys), videos - epoch * len(keys))
        return {"train_loss": trainer.epoch(model, optimizer, keys, fold, epoch, limit=limit)}

    name = f"fold_{fold}/refit"
    loop = EpochLoop(
        trainer.out / name / "checkpoint.pt",
        {**trainer.cfg.to_dict(), "lr": lr, "refit_videos": videos},
        lambda: {"model": model, "optimizer": optimizer},
        writer=writer,
        tag=name,
        progress=trainer.progress,
        description=name.replace("_", " "),
    )
    seconds = sum(row["seconds"] for row in loop.run(-(-videos // len(keys)), epoch_fn))
    return {**best, "state": cpu_state(model), "refit_videos": videos, "refit_seconds": seconds}, loop
