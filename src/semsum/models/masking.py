"""Padded batches for summarizers that see one video at a time: `[B, T, D]` and a mask `[B, T]` -> `[B, T]`."""

from __future__ import annotations

from collections.abc import Callable

import torch


def per_video(
    single: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    """Apply `single` (`[L, D]` -> `[L]`) to each video's real steps (`mask` True; all when None); padding scores 0.

    Each video is computed alone, so padded steps cannot affect the others (CSTA's CNN, which sees the whole T x D
    map, would otherwise mix them in).
    """
    if mask is None:
        mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
    out = x.new_zeros(x.shape[:2])
    for b in range(x.shape[0]):
        if bool(mask[b].any()):
            out[b, mask[b]] = single(x[b, mask[b]])
    return out
