"""F(x): the residual MLP that maps GoogLeNet features into the MLLM embedding space (paper Sec. 3.3).

A `Mapper` bundles the network with the per-dimension normalisation of its input and output and the
feature keys it was trained on, and saves all of it in one safetensors file (the weights and normalisation as
tensors, the config as JSON in its metadata), so that applying a mapper needs nothing but the file and opening
it unpickles nothing. A mapper of semsum 0.1 (a torch pickle) is refused: `semsum run convert OLD NEW --trust`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from semsum.atomic import atomic_path
from semsum.data.h5 import Dataset
from semsum.data.hub import local_path
from semsum.errors import SemsumError

FORMAT = "semsum-mapper/2"
MAPPED_KEY = "features_mapped"


@dataclass(frozen=True)
class MapperConfig:
    """Shape of F(x). `depth=0` is a single linear layer (the ridge baseline stored as a mapper)."""

    in_dim: int = 1024
    out_dim: int = 4096
    depth: int = 1
    width: int = 1024
    dropout: float = 0.0
    mode: str = "regression"
    source: str = "features"
    target: str = "features_mllm"
    # `align train --mode auto`: held-out cosine of each candidate ({"ridge": ..., "regression": ...}); the
    # kept one is `mode`. Empty for every other mode.
    candidates: dict[str, float] = field(default_factory=dict)


class ResidualBlock(nn.Module):
    """Pre-norm residual block: x + Linear(SiLU(Linear(LayerNorm(x))))."""

    def __init__(self, width: int, dropout: float = 0.0):
        super().__init__()
        self.body = nn.Sequential(
            nn.LayerNorm(width),
            nn.Linear(width, width),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(width, width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualMLP(nn.Module):
    """Linear stem, `depth` residual blocks (LayerNorm, SiLU), LayerNorm and a linear head."""

    def __init__(self, in_dim: int, out_dim: int, depth: int, width: int, dropout: float = 0.0):
        super().__init__()
        if depth == 0:
            self.net: nn.Module = nn.Linear(in_dim, out_dim)
        else:
            self.net = nn.Sequential(
                nn.Linear(in_dim, width),
                *[ResidualBlock(width, dropout) for _ in range(depth)],
                nn.LayerNorm(width),
                nn.Linear(width, out_dim),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclass
class Normalization:
    """Per-dimension mean and std of the training inputs and targets; the net works on z-scores."""

    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: np.ndarray
    y_std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, eps: float = 1e-6) -> Normalization:
        return cls(
            x.mean(0).astype(np.float32),
            (x.std(0) + eps).astype(np.float32),
            y.mean(0).astype(np.float32),
            (y.std(0) + eps).astype(np.float32),
        )


class Mapper(nn.Module):
    """F(x) on raw features: normalise x, run the net, de-normalise to the target space."""

    def __init__(self, config: MapperConfig, norm: Normalization):
        super().__init__()
        self.config = config
        self.net = ResidualMLP(config.in_dim, config.out_dim, config.depth, config.width, config.dropout)
        for name in ("x_mean", "x_std", "y_mean", "y_std"):
            self.register_buffer(name, torch.as_tensor(np.asarray(getattr(norm, name), dtype=np.float32)))

    def normalize_x(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.x_mean) / self.x_std

    def normalize_y(self, y: torch.Tensor) -> torch.Tensor:
        return (y - self.y_mean) / self.y_std

    def denormalize_y(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.y_std + self.y_mean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw [n, in_dim] features -> raw [n, out_dim] embeddings."""
        return self.denormalize_y(self.net(self.normalize_x(x)))


def save_mapper(mapper: Mapper, path: str | os.PathLike[str]) -> None:
    """Write the mapper (config, normalisation and weights) atomically as one safetensors file."""
    write_mapper(path, asdict(mapper.config), mapper.state_dict())


def write_mapper(path: str | os.PathLike[str], config: dict, state: Mapping[str, torch.Tensor]) -> None:
    """A mapper's config and state_dict as one safetensors file (the config as JSON metadata)."""
    tensors = {k: v.detach().cpu().clone().contiguous() for k, v in state.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"format": FORMAT, "config": json.dumps(config)})


def load_mapper(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Mapper:
    """Read a mapper written by `save_mapper` (a file, or `hf://OWNER/NAME[@REV]/FILE`); nothing is unpickled.

    A missing or foreign file, or a pickled mapper of semsum 0.1 (refused unopened), is a SemsumError.
    """
    path = local_path(path)
    if not path.is_file():
        raise SemsumError(f"{path}: no such mapper file")
    with path.open("rb") as f:
        if f.read(4) == b"PK\x03\x04":  # a torch zip: pickled
            raise SemsumError(
                f"{path}: a pickled mapper (semsum 0.1 format), not opened because unpickling can run code; "
                f"if you trust its source: semsum run convert {path} NEW.safetensors --trust"
            )
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a mapping)
    except (SafetensorError, OSError) as e:
        raise SemsumError(f"{path}: not a mapper file ({e.__class__.__name__})") from None
    if meta.get("format") != FORMAT:
        raise SemsumError(f"{path}: not a semsum mapper (expected format {FORMAT})")
    try:
        config = MapperConfig(**json.loads(meta["config"]))
        norm = Normalization(*(state[k].numpy() for k in ("x_mean", "x_std", "y_mean", "y_std")))
        mapper = Mapper(config, norm)
        mapper.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise SemsumError(f"{path}: a mapper whose config and weights do not match ({e.__class__.__name__})") from None
    return mapper.to(device).eval()


@torch.no_grad()
def apply_mapper(mapper: Mapper, features: np.ndarray, batch_size: int = 4096, where: str = "") -> np.ndarray:
    """Map a [n_steps, in_dim] feature array to float32 [n_steps, out_dim] (what `summarize` should call).

    `where` (file and video) prefixes the error when the width does not match the mapper.
    """
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[1] != mapper.config.in_dim:
        prefix = f"{where}: " if where else ""
        raise SemsumError(
            f"{prefix}features have shape {features.shape}, but the mapper expects "
            f"[n_steps, {mapper.config.in_dim}] ({mapper.config.source!r} features)"
        )
    mapper.eval()
    device = mapper.x_mean.device
    out = [
        mapper(torch.as_tensor(features[i : i + batch_size], dtype=torch.float32, device=device)).cpu().numpy()
        for i in range(0, len(features), batch_size)
    ]
    return np.concatenate(out, axis=0) if out else np.zeros((0, mapper.config.out_dim), np.float32)


def map_dataset(dataset: Dataset, mapper: Mapper, source: str | None = None, key: str = MAPPED_KEY) -> Dataset:
    """Add `key` = F(source features) [n_steps, out_dim] to every video, in place; returns the dataset."""
    source = source or mapper.config.source
    where = str(dataset.path or "dataset")
    for video in dataset:
        x = video.feature_matrix([source], where)
        video.features[key] = apply_mapper(mapper, x, where=f"{where}: {video.key}/{source}")
    return dataset
