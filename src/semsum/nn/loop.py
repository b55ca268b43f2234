"""The epoch loop every trainer here shares (summarizers, F(x)): resume after a kill, RNG state, TensorBoard,
progress.

After each epoch the loop saves, atomically, everything a resumed run needs: the state of every module and
optimiser, torch's RNG (and a numpy Generator when the trainer draws from one), the history of epoch rows, the
configuration (a resumed run with another configuration is refused) and whatever `extra` state the trainer
keeps (its best weights so far, its stage). A run killed at any point and started again with the same
arguments ends with the same weights as a run that was never stopped.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from semsum.atomic import atomic_path
from semsum.errors import SemsumError

#: An epoch: called with its index, returns the epoch's row (losses, metrics; numbers are logged).
EpochFn = Callable[[int], dict[str, Any]]


class EpochLoop:
    """Runs epochs `len(history) .. epochs-1` of a trainer, resuming from `state_path` when it exists.

    `modules()` returns the named modules and optimisers whose state is saved (a callable, because a trainer
    may replace its optimiser between stages); `extra()` any further state to save and `restore(extra)` puts
    it back before the modules are loaded. `writer` (TensorBoard) receives every number of every row under
    `tag/`; `progress` (see `semsum.progress`) shows one bar, described by `describe(row)` after each epoch.
    `stop(row)` ends the loop early without saving that epoch (e.g. a non-finite loss).
    """

    def __init__(
        self,
        state_path: str | os.PathLike[str] | None,
        config: Mapping[str, Any],
        modules: Callable[[], Mapping[str, Any]],
        *,
        rng: np.random.Generator | None = None,
        extra: Callable[[], dict[str, Any]] = dict,
        restore: Callable[[dict[str, Any]], None] | None = None,
        writer: Any = None,
        tag: str = "train",
        progress: Any = None,
        description: str = "epochs",
    ):
        self.path = Path(state_path) if state_path is not None else None
        self.config, self.modules, self.rng = dict(config), modules, rng
        self.extra, self.restore = extra, restore
        self.writer, self.tag, self.progress, self.description = writer, tag, progress, description
        self.history: list[dict[str, Any]] = []

    def resume(self) -> list[dict[str, Any]]:
        """Load the saved state if there is one; returns the history of the epochs already run."""
        if self.path is None or not self.path.is_file():
            return self.history
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise SemsumError(f"{self.path}: unreadable training state ({e.__class__.__name__}); delete it") from None
        if state.get("config") != self.config:
            raise SemsumError(f"{self.path}: state of a run with another configuration; delete it to start afresh")
        if self.restore is not None:
            self.restore(state["extra"])
        for name, module in self.modules().items():
            module.load_state_dict(state["modules"][name])
        torch.set_rng_state(state["torch_rng"])
        if self.rng is not None:
            self.rng.bit_generator.state = state["rng"]
        self.history = list(state["history"])
        return self.history

    def save(self) -> None:
        if self.path is None:
            return
        state = {
            "config": self.config,
            "modules": {name: module.state_dict() for name, module in self.modules().items()},
            "torch_rng": torch.get_rng_state(),
            "rng": self.rng.bit_generator.state if self.rng is not None else None,
            "history": self.history,
            "extra": self.extra(),
        }
        with atomic_path(self.path) as tmp:
            torch.save(state, tmp)

    def run(
        self,
        epochs: int,
        epoch_fn: EpochFn,
        describe: Callable[[dict[str, Any]], str] | None = None,
        stop: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Resume, then run the remaining epochs; returns the full history (rows with `epoch` and `seconds`)."""
        self.resume()
        task = None
        if self.progress is not None:
            task = self.progress.add_task(self.description, total=epochs, completed=len(self.history))
        for epoch in range(len(self.history), epochs):
            start = time.perf_counter()
            row = {"epoch": epoch, **epoch_fn(epoch)}
            row["seconds"] = time.perf_counter() - start
            self.history.append(row)
            if self.writer is not None:
                for name, value in row.items():
                    if name != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool):
                        self.writer.add_scalar(f"{self.tag}/{name}", value, epoch + 1)
            if task is not None:
                self.progress.update(task, completed=epoch + 1, description=describe(row) if describe else None)
            if stop is not None and stop(row):
                break
            self.save()
        return self.history

    def clear(self) -> None:
        """Remove the saved state (the run is finished and its result written)."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def finite(row: Mapping[str, Any]) -> bool:
    """Whether every number in an epoch row is finite."""
    return all(math.isfinite(v) for v in row.values() if isinstance(v, (int, float)))
