"""Summarizers behind one registry: `get_model(name, in_dim)` -> a module mapping [T, in_dim] to scores [T].

Every model also takes a padded batch `[B, T, in_dim]` with a mask `[B, T]` (True = a real step) -> `[B, T]`.

| name      | family                                   | parameters at 1024-d |
|-----------|------------------------------------------|----------------------|
| `csta`    | CNN attention over the T x D feature map  | 9,779,851 (8,754,851 without GoogLeNet's unused fc) |
| `vasnet`  | global soft self-attention + regressor    | 5,249,025 (official class: 7,348,225 with unused kb, kc) |
| `pgl-sum` | global + local multi-head attention       | 9,443,329 (= official, Mr.HiSum's configuration) |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from torch import nn

from semsum.errors import SemsumError
from semsum.registry import SUMMARIZERS, Implementation, declares, option


@dataclass(frozen=True)
class CSTAOptions:
    """CSTA's options: how its attention CNN (GoogLeNet) starts."""

    cnn_weights: str = option("auto", "CSTA's attention CNN: auto (ImageNet if on disk), imagenet, random.")
    googlenet_weights: str | None = option(None, "torchvision GoogLeNet weights file for CSTA's CNN.")


@declares(CSTAOptions)
def _csta(in_dim: int, **kwargs: Any) -> nn.Module:
    from semsum.models.csta import CSTA

    return CSTA(in_dim, **kwargs)


def _vasnet(in_dim: int, **kwargs: Any) -> nn.Module:
    from semsum.models.vasnet import VASNet

    return VASNet(in_dim, **kwargs)


def _pglsum(in_dim: int, **kwargs: Any) -> nn.Module:
    from semsum.models.pglsum import PGLSUM

    return PGLSUM(in_dim, **kwargs)


MODELS: dict[str, Callable[..., nn.Module]] = {"csta": _csta, "vasnet": _vasnet, "pgl-sum": _pglsum}


def summarizer(name: str) -> Implementation:
    """Summarizer `name` of `MODELS` with its declared options (a factory without `Options`: its keyword
    parameters after `in_dim`), or an error listing the registered ones."""
    if name not in MODELS:
        raise SemsumError(f"unknown model {name!r} (available: {', '.join(sorted(MODELS))})")
    return Implementation.of(SUMMARIZERS, name, MODELS[name])


def summarizers() -> list[Implementation]:
    """Every registered summarizer with its declared options."""
    return [summarizer(name) for name in sorted(MODELS)]


def model_kwargs(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor keywords of summarizer `name` from options `given` by name: its declared options with
    their defaults, None ones left out (so a run records them as before); one it does not declare is an error."""
    return {k: v for k, v in asdict(summarizer(name).options(given)).items() if v is not None}


def get_model(
    name: str,
    in_dim: int,
    standardize: bool = False,
    project: int | None = None,
    input_dropout: float = 0.0,
    **kwargs: Any,
) -> nn.Module:
    """A freshly initialised summarizer `name` for `in_dim`-wide features (kwargs go to its constructor); with
    `standardize`, it standardises its input by statistics kept as buffers; with `project` and `input_dropout`, a
    learned linear projection to `project` dimensions, and dropout on its input, come first (`semsum.models.inputs`).
    """
    summarizer(name)
    if in_dim <= 0 or (project is not None and project <= 0):
        raise SemsumError(f"model {name}: input width must be positive, got {in_dim} (project {project})")
    model = MODELS[name](project or in_dim, **kwargs)
    if standardize or project or input_dropout:
        from semsum.models.inputs import project_inputs, standardize_inputs

        if standardize:
            standardize_inputs(model, in_dim)
        if project or input_dropout:  # registered after the standardisation, so applied after it
            project_inputs(model, in_dim, project, input_dropout)
    return model


def count_parameters(model: nn.Module, exclude_prefixes: tuple[str, ...] = ()) -> int:
    """Number of parameters, leaving out those whose names start with any of `exclude_prefixes`."""
    return sum(p.numel() for n, p in model.named_parameters() if not n.startswith(exclude_prefixes))
