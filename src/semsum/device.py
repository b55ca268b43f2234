"""Which torch device to run on: one rule for every model in the package.

torch is imported only when a device must be resolved (it costs seconds): `is_cuda` answers "is this a GPU?"
without it where the answer cannot be yes (a CPU named, or no GPU driver on the machine), so that declaring or
keying a stage loads no torch.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from semsum.errors import SemsumError

if TYPE_CHECKING:
    import torch

# What a CUDA (or ROCm) device needs on Linux: NVIDIA's driver, WSL2's GPU bridge, AMD's compute driver.
_GPU_DRIVERS = ("/proc/driver/nvidia", "/dev/dxg", "/dev/kfd")


def resolve_device(device: str | None = "auto") -> torch.device:
    """`auto` (or None): the first CUDA GPU when there is one, else the CPU; otherwise the named device.

    An unknown name, or CUDA asked for where there is none, is a one-line SemsumError.
    """
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise SemsumError(f"device {device!r}: not a torch device (use auto, cpu, cuda, cuda:1, ...)") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise SemsumError(f"device {device!r}: CUDA is not available on this machine")
    return chosen


def is_cuda(device: str | None = "auto") -> bool:
    """Whether `device` resolves to a CUDA GPU (`resolve_device(device).type == "cuda"`), without importing torch
    when it cannot: the CPU named, or `auto` on a machine without a GPU driver (macOS; Linux with none of
    `_GPU_DRIVERS`)."""
    if device == "cpu":
        return False
    no_driver = sys.platform == "darwin" or (
        sys.platform.startswith("linux") and not any(os.path.exists(p) for p in _GPU_DRIVERS)
    )
    if device in (None, "auto") and no_driver:
        return False
    return resolve_device(device).type == "cuda"
