"""Input standardisation carried inside a model: per-feature mean and std as buffers, applied before `forward`.

Raw I3D features span very different scales per dimension; the ridge probe standardises them and the summarizers
did not. The statistics are fitted on the training videos of a fold only (`fit_input_stats`) and live in the
model's `state_dict` (`input_mean`, `input_std`), so a saved run applies the same transform when it predicts.

`project_inputs` puts dropout and a learned linear projection (`input_projection`, part of the state_dict) in front
of a model built for the narrower width: capacity where the linear probe shows the signal is nearly linear.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

#: Smallest std a feature is divided by (constant features become 0, not inf).
MIN_STD = 1e-6


def _standardize(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    x = args[0]
    return ((x - module.input_mean.to(x.dtype)) / module.input_std.to(x.dtype), *args[1:])


def standardize_inputs(model: nn.Module, in_dim: int) -> nn.Module:
    """Give `model` identity statistics (mean 0, std 1) as buffers and standardise its input with them."""
    model.register_buffer("input_mean", torch.zeros(in_dim))
    model.register_buffer("input_std", torch.ones(in_dim))
    model.register_forward_pre_hook(_standardize)
    return model


def fit_input_stats(model: nn.Module, rows: torch.Tensor) -> None:
    """Set the model's statistics to the per-feature mean and std of `rows` [N, in_dim] (the training steps)."""
    if not hasattr(model, "input_mean"):
        raise ValueError("the model does not standardise its inputs (build it with standardize=True)")
    rows = rows.double()
    with torch.no_grad():
        model.input_mean.copy_(rows.mean(0))
        model.input_std.copy_(rows.std(0, unbiased=False).clamp_min(MIN_STD))


def _project(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return (module.input_projection(args[0]), *args[1:])


def project_inputs(model: nn.Module, in_dim: int, width: int | None, dropout: float = 0.0) -> nn.Module:
    """Feed `model` (built for `width`-wide inputs, or `in_dim` when `width` is None) its `in_dim`-wide input through
    dropout (rate `dropout`, active in training only) and a linear map to `width` (`input_projection`)."""
    layers = [nn.Dropout(dropout)] + ([nn.Linear(in_dim, width)] if width else [])
    model.add_module("input_projection", nn.Sequential(*layers))
    model.register_forward_pre_hook(_project)
    return model
