"""Inference on the CPU through ONNX Runtime: a PyTorch network exported once, cached by its weights, run by ORT.

Why: on a CPU, ONNX Runtime runs GoogLeNet and TransNetV2 faster than PyTorch does (benchmarks/RESULTS.md, "ONNX
Runtime on the CPU"); PyTorch stays for training and GPUs. The export (`torch.onnx.export`, which needs `onnx` and
`onnxscript`) happens on first use; the file is kept in the user cache (`$SEMSUM_ONNX_CACHE`, else the platform's
user cache folder `semsum/onnx`), named by a hash of the network's weights, its class, the source files of its
modules' classes, its input shapes and the torch version, so that new weights or a changed graph export anew and
unchanged ones never again. Anything that goes wrong on the way
(a package missing, an operator the exporter cannot translate, an unreadable cached file) falls back to PyTorch
with one warning line on stderr.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import platformdirs

from semsum.atomic import atomic_path
from semsum.errors import SemsumError

if TYPE_CHECKING:  # torch is imported where a network is built: the options above are read without it
    import torch
    from torch import nn

#: The declared choices of a network's runtime: "auto" is ONNX Runtime on a CPU and PyTorch on a GPU.
RUNTIMES = ("auto", "onnx", "torch")
ONNX_CACHE_ENV = "SEMSUM_ONNX_CACHE"
RUNTIME_HELP = "Network runtime: onnx (ONNX Runtime, CPU only), torch (PyTorch) or auto (ONNX Runtime on a CPU)."


def use_onnx(runtime: str, device: torch.device) -> bool:
    """Whether `runtime` (one of `RUNTIMES`) means ONNX Runtime on `device`."""
    if runtime not in RUNTIMES:
        raise SemsumError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if runtime == "onnx" and device.type != "cpu":
        raise SemsumError(f"runtime onnx runs on the CPU only, not on {device.type}: use --runtime torch or auto")
    return runtime == "onnx" or (runtime == "auto" and device.type == "cpu")


def onnx_cache_dir() -> Path:
    """Where exported networks are kept: $SEMSUM_ONNX_CACHE, else the user cache folder."""
    return Path(os.environ.get(ONNX_CACHE_ENV) or Path(platformdirs.user_cache_dir("semsum")) / "onnx")


def _source_files(module: nn.Module) -> list[Path]:
    """The files defining the classes of `module` and its submodules: what its exported graph is traced from."""
    files = set()
    for m in module.modules():
        with contextlib.suppress(TypeError):  # a class without a Python source file
            files.add(Path(inspect.getfile(type(m))))
    return sorted(files)


def network_key(module: nn.Module, example: Sequence[torch.Tensor]) -> str:
    """A hash of what the exported file depends on: weights and buffers, class, the code of its modules (any edit
    of a file defining one exports anew), input shapes, torch version."""
    import torch

    digest = hashlib.sha256(f"{type(module).__qualname__} {torch.__version__}".encode())
    for path in _source_files(module):
        digest.update(path.name.encode() + path.read_bytes())
    for x in example:
        digest.update(f"{tuple(x.shape)} {x.dtype}".encode())
    for name, tensor in module.state_dict().items():
        digest.update(f"{name} {tuple(tensor.shape)} {tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:24]


class OnnxNetwork:
    """A network run by ONNX Runtime: `net(*arrays)` -> the list of its outputs as numpy arrays."""

    def __init__(self, path: Path):
        import onnxruntime
        import torch

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the same thread budget PyTorch was given
        options.log_severity_level = 3  # errors only
        # Idle workers sleep instead of spinning: the decoder's thread runs beside them (TransNetV2 on a real clip
        # 1.6x faster so on 2 cores; benchmarks/RESULTS.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = path
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        # The arena's memory goes back after each call: two networks' arenas (GoogLeNet's, TransNetV2's) never add
        # up in one run (benchmarks/RESULTS.md, session 8: a first run's peak under 1 GB).
        self.run_options = onnxruntime.RunOptions()
        self.run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, dict(zip(self.inputs, arrays, strict=True)), self.run_options)


def _export(module: nn.Module, example: tuple[torch.Tensor, ...], path: Path, dynamic_batch: bool) -> None:
    """`module` in eval mode to the ONNX file `path` (atomically), batch axis dynamic if asked; exporter chatter
    kept off the terminal."""
    import torch

    names = [f"input{i}" for i in range(len(example))]
    shapes = tuple({0: torch.export.Dim("batch")} for _ in example) if dynamic_batch else None
    exporter_log = logging.getLogger("torch.onnx")  # its notices ("torchvision is not installed...") are not ours
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with (
            atomic_path(path) as tmp,
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            torch.no_grad(),
        ):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module.eval(), example, str(tmp), input_names=names, dynamic_shapes=shapes, external_data=False
            )
    finally:
        exporter_log.setLevel(level)


def onnx_network(
    module: nn.Module, example: Sequence[torch.Tensor], name: str, dynamic_batch: bool = False
) -> OnnxNetwork | None:
    """`module` run by ONNX Runtime (exported on first use from CPU `example` inputs, then cached), or None, with
    one warning line on stderr, when that cannot be done (the caller then runs PyTorch)."""
    example = tuple(example)
    try:
        path = onnx_cache_dir() / f"{name}-{network_key(module, example)}.onnx"
        if not path.is_file():
            _export(module, example, path, dynamic_batch)
        return OnnxNetwork(path)
    except Exception as e:  # any failure of an optional accelerator means: run PyTorch instead
        why = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        print(f"warning: {name}: ONNX Runtime not used, running PyTorch ({type(e).__name__}: {why})", file=sys.stderr)
        return None
