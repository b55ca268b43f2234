"""Which torch device to run on: one rule for every model in the package.

torch is imported only when a device must be resolved (it costs seconds): `is_cuda` answers "is this a GPU?"
without it where the answer cannot be yes (a CPU named, or no GPU driver on the machine), so that declaring or
keying a stage loads no torch.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
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


def device_type(device: str | None = "auto") -> str:
    """`resolve_device(device).type` ("cpu", "cuda", ...), without importing torch where `is_cuda` can say "the CPU"
    without it: an ONNX Runtime network cached for the CPU then runs with no torch in the process."""
    if device in ("cpu", None, "auto") and not is_cuda(device):
        return "cpu"
    return resolve_device(device).type


def _env_threads(name: str) -> int | None:
    """A thread count from the environment read as a leading integer (C's `atoi`); absent or not positive: None."""
    match = re.match(r"\s*[+-]?\d+", os.environ.get(name, ""))
    return int(match.group()) if match and int(match.group()) > 0 else None


def _physical_cores() -> int:
    """The physical cores this process may run on: distinct (package, core) pairs of its CPUs in Linux's topology;
    elsewhere, the logical CPUs."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text(), (topology / "core_id").read_text()))
        except OSError:
            return len(cpus)
    return len(cores) or 1


def cpu_threads() -> int:
    """The intra-op thread count PyTorch uses (`torch.get_num_threads()`), for ONNX Runtime's sessions.

    Asked of torch when it is imported (`semsum.pipeline.batch` sets it for its workers); else computed as torch's
    x86 builds (OpenMP and MKL) set their default, without importing torch: $MKL_NUM_THREADS, else
    $OMP_NUM_THREADS, at most the physical cores; the physical cores without either (tests/test_device.py).
    """
    if "torch" in sys.modules:
        return sys.modules["torch"].get_num_threads()
    cores = _physical_cores()
    return min(_env_threads("MKL_NUM_THREADS") or _env_threads("OMP_NUM_THREADS") or cores, cores)
