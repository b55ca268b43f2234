"""Inference on the CPU through ONNX Runtime: a PyTorch network exported once, cached by its recipe, run by ORT.

Why: on a CPU, ONNX Runtime runs GoogLeNet and TransNetV2 faster than PyTorch does (benchmarks/RESULTS.md, "ONNX
Runtime on the CPU"); PyTorch stays for training and GPUs. The export (`torch.onnx.export`, which needs `onnx` and
`onnxscript`) happens on first use; the file is kept in the user cache (`$SEMSUM_ONNX_CACHE`, else the platform's
user cache folder `semsum/onnx`), named by a hash of its recipe (`recipe_key`): what the network is built from
(weights file or seed), the semsum source files that define and build it, its input shapes and the versions of torch
and of the packages it comes from. The key needs no torch, so that a run whose networks are cached imports no torch
at all (seconds saved, benchmarks/RESULTS.md); a changed recipe exports anew. Anything that goes wrong on the way
(a package missing, an operator the exporter cannot translate, an unreadable cached file) falls back to PyTorch
with one warning line on stderr.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import io
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import platformdirs

from semsum.atomic import atomic_path
from semsum.device import cpu_threads
from semsum.errors import SemsumError

if TYPE_CHECKING:  # torch is imported where a network is built: the options above are read without it
    import torch
    from torch import nn

#: The declared choices of a network's runtime: "auto" is ONNX Runtime on a CPU and PyTorch on a GPU.
RUNTIMES = ("auto", "onnx", "torch")
ONNX_CACHE_ENV = "SEMSUM_ONNX_CACHE"
RUNTIME_HELP = "Network runtime: onnx (ONNX Runtime, CPU only), torch (PyTorch) or auto (ONNX Runtime on a CPU)."


def use_onnx(runtime: str, device_type: str) -> bool:
    """Whether `runtime` (one of `RUNTIMES`) means ONNX Runtime on a device of `device_type` ("cpu", "cuda", ...)."""
    if runtime not in RUNTIMES:
        raise SemsumError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if runtime == "onnx" and device_type != "cpu":
        raise SemsumError(f"runtime onnx runs on the CPU only, not on {device_type}: use --runtime torch or auto")
    return runtime == "onnx" or (runtime == "auto" and device_type == "cpu")


def onnx_cache_dir() -> Path:
    """Where exported networks are kept: $SEMSUM_ONNX_CACHE, else the user cache folder."""
    return Path(os.environ.get(ONNX_CACHE_ENV) or Path(platformdirs.user_cache_dir("semsum")) / "onnx")


def source_file(module: str) -> Path:
    """The file of the Python module named `module`, found without importing it (its package's `__init__` runs)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise SemsumError(f"{module}: no such Python module")
    return Path(spec.origin)


def recipe_key(recipe: str, files: Sequence[Path], packages: Sequence[str] = ()) -> str:
    """A hash of what an exported network is made from, computed without torch: `recipe` (seed, input shapes, ...),
    the bytes of `files` (the source files that define and build its modules, a weights file) and the installed
    versions of torch and `packages`. Any change among them names another file, so the network is exported anew."""
    digest = hashlib.sha256(recipe.encode())
    for package in ("torch", *packages):
        digest.update(f" {package} {importlib.metadata.version(package)}".encode())
    for path in files:
        try:
            with open(path, "rb") as f:
                digest.update(f" {path.name} ".encode() + hashlib.file_digest(f, "sha256").digest())
        except OSError as e:
            raise SemsumError(f"{path}: cannot be read ({e.strerror or type(e).__name__})") from None
    return digest.hexdigest()[:24]


def cached_file(name: str, key: str, suffix: str = ".onnx") -> Path:
    """Where the export of network `name` with recipe `key` is kept (`suffix` for data derived from it)."""
    return onnx_cache_dir() / f"{name}-r{key}{suffix}"


class OnnxNetwork:
    """A network run by ONNX Runtime: `net(*arrays)` -> the list of its outputs as numpy arrays."""

    def __init__(self, path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = cpu_threads()  # the same thread budget PyTorch has or would have
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
    name: str, key: str, build: Callable[[], tuple[nn.Module, Sequence[torch.Tensor]]], dynamic_batch: bool = False
) -> OnnxNetwork | None:
    """Network `name` with recipe `key` (`recipe_key`) run by ONNX Runtime: the cached export if there is one (then
    torch is not needed), else `build()`'s module exported from its CPU example inputs and cached. None, with one
    warning line on stderr, when that cannot be done (the caller then runs PyTorch)."""
    try:
        path = cached_file(name, key)
        if not path.is_file():
            module, example = build()
            _export(module, tuple(example), path, dynamic_batch)
        return OnnxNetwork(path)
    except Exception as e:  # any failure of an optional accelerator means: run PyTorch instead
        why = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        print(f"warning: {name}: ONNX Runtime not used, running PyTorch ({type(e).__name__}: {why})", file=sys.stderr)
        return None
