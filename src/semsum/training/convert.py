"""`semsum run convert`: runs and mappers of semsum 0.1 (pickled torch files) rewritten in the safe format.

Reading a pickle can run code, so this is the one place that reads one, and only when the caller says that it
trusts the file (`--trust`); it then reads with torch's restricted unpickler (`weights_only=True`) as well.
Everything else of a run (config, results, scores, TensorBoard logs) is copied as it is; resume checkpoints
(`checkpoint.pt`, local state of an unfinished training) are left behind.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch

from semsum.align.mapper import write_mapper
from semsum.atomic import atomic_folder
from semsum.errors import SemsumError
from semsum.training.saved import LEGACY, save_model


def convert(old: str | os.PathLike[str], new: str | os.PathLike[str], trust: bool = False) -> list[Path]:
    """Convert run folder (or mapper file) `old` into `new`; returns the model files written.

    Refused without `trust`, since it unpickles `old`'s files. `new` must not exist (nothing is overwritten).
    """
    old, new = Path(old), Path(new)
    if not trust:
        raise SemsumError(f"{old}: converting unpickles its torch files, which can run code; add --trust to do it")
    if not old.exists():
        raise SemsumError(f"{old}: no such run folder or mapper file")
    if new.exists():
        raise SemsumError(f"{new}: exists; give a new path")
    if old.is_file():
        state = _unpickle(old)
        if not isinstance(state.get("config"), dict):
            raise SemsumError(f"{old}: not a semsum mapper checkpoint (no config)")
        write_mapper(new, state["config"], state["state_dict"])
        return [new]
    pickled = sorted(old.glob(f"fold_*/{LEGACY}")) + ([old / LEGACY] if (old / LEGACY).is_file() else [])
    if not pickled:
        raise SemsumError(f"{old}: no {LEGACY} to convert (fold_K/{LEGACY} of `train`, {LEGACY} of `train-stream`)")
    with atomic_folder(new) as tmp:
        for path in old.rglob("*"):
            if path.is_file() and path.suffix != ".pt":
                (tmp / path.relative_to(old)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, tmp / path.relative_to(old))
        for path in pickled:
            save_model(tmp / path.parent.relative_to(old), _unpickle(path))
    return [new / p.parent.relative_to(old) for p in pickled]


def _unpickle(path: Path) -> dict[str, Any]:
    """A semsum 0.1 torch file (a dict with a `state_dict`), through torch's restricted unpickler."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a foreign or refused file
        raise SemsumError(f"{path}: not a semsum 0.1 torch file ({e.__class__.__name__})") from None
    if not isinstance(state, dict) or not isinstance(state.get("state_dict"), dict):
        raise SemsumError(f"{path}: not a semsum 0.1 torch file (no state_dict)")
    return state
