"""Which torch device to run on: one rule for every model in the package."""

from __future__ import annotations

import torch

from semsum.errors import SemsumError


def resolve_device(device: str | None = "auto") -> torch.device:
    """`auto` (or None): the first CUDA GPU when there is one, else the CPU; otherwise the named device.

    An unknown name, or CUDA asked for where there is none, is a one-line SemsumError.
    """
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise SemsumError(f"device {device!r}: not a torch device (use auto, cpu, cuda, cuda:1, ...)") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise SemsumError(f"device {device!r}: CUDA is not available on this machine")
    return chosen
