"""A trained model on disk, safe to share: weights in safetensors, everything else in JSON beside them.

`model.safetensors` holds the tensors of the model's state_dict and nothing else; `model.json` the record of how
they were made (model name and options, `in_dim`, feature keys, fold keys, the selected epoch, the history, the
semsum version, and whatever else the trainer records). Reading both unpickles nothing, so a run downloaded from
anyone cannot run code when it is opened. A `model.pt` (the pickle that semsum 0.1 wrote) is refused here without
being opened: `semsum run convert OLD NEW --trust` converts it (`semsum.training.convert`).

Resume checkpoints (`checkpoint.pt`, `semsum.nn.loop`) stay torch files: they are read with `weights_only=True`,
live only in the run folder that trains, are deleted when training ends and are never pushed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import semsum
from semsum.atomic import atomic_path, read_json, write_json
from semsum.errors import SemsumError

FORMAT = "semsum-model/2"
WEIGHTS, RECORD, LEGACY = "model.safetensors", "model.json", "model.pt"


def save_model(folder: str | Path, record: Mapping[str, Any]) -> None:
    """Write `record["state_dict"]` as `folder/model.safetensors` and the rest of `record` as `folder/model.json`.

    The JSON is written last, so its presence says that the model is complete (a kill between the two leaves
    no model, and training redoes it).
    """
    folder = Path(folder)
    # clone: safetensors refuses tensors that share memory (tied weights); each key gets its own copy
    tensors = {k: v.detach().cpu().clone().contiguous() for k, v in record["state_dict"].items()}
    with atomic_path(folder / WEIGHTS) as tmp:
        save_file(tensors, str(tmp))
    meta = {k: v for k, v in record.items() if k != "state_dict"}
    write_json(folder / RECORD, {"format": FORMAT, "semsum_version": semsum.__version__, **meta})


def has_model(folder: str | Path) -> bool:
    """Whether `folder` holds a finished model, in this format or the old pickle one."""
    folder = Path(folder)
    return (folder / RECORD).is_file() or (folder / LEGACY).is_file()


def read_record(folder: str | Path) -> dict[str, Any]:
    """The JSON record of the model in `folder`; an old `model.pt` is refused unopened, with the command that
    converts it."""
    folder = Path(folder)
    if not (folder / RECORD).is_file() and (folder / LEGACY).is_file():
        raise SemsumError(
            f"{folder / LEGACY}: a pickled model (semsum 0.1 format), not opened because unpickling can run code; "
            f"if you trust its source: semsum run convert {_run_root(folder)} NEW --trust"
        )
    record = read_json(folder / RECORD)
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise SemsumError(f"{folder / RECORD}: not a semsum model record (expected format {FORMAT})")
    return record


def load_model(folder: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The record and the state_dict of the model in `folder`, read without unpickling anything."""
    folder = Path(folder)
    record = read_record(folder)
    try:
        return record, load_file(str(folder / WEIGHTS), device="cpu")
    except FileNotFoundError:
        raise SemsumError(f"{folder / WEIGHTS}: missing (its {RECORD} is there)") from None
    except (SafetensorError, OSError, ValueError) as e:
        raise SemsumError(f"{folder / WEIGHTS}: not a safetensors file ({e})") from None


def _run_root(folder: Path) -> Path:
    """The run folder a model folder belongs to (`RUN/fold_K` -> `RUN`)."""
    return folder.parent if folder.name.startswith("fold_") else folder
