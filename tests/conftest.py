"""Shared fixtures. Real annotations come from $SEMSUM_DATA (the variable the package and Makefile use), else
../shared/data; the real clips from $SEMSUM_SHARED_MEDIA, else ../shared/media."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest
import torch

# Tests never reach a model hub: a model that is not local fails at once (semsum.features.mllm_load.locate_model).
os.environ["HF_HUB_OFFLINE"] = "1"
# Tiny models on a small shared CPU run many times faster on one thread than on several.
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]


def _shared(sub: str, env: str) -> Path:
    path = Path(os.environ.get(env, ROOT.parent / "shared" / sub))
    if not path.is_dir():
        pytest.fail(f"{path} not found: put the project's shared/{sub} beside the checkout or set {env}")
    return path


@pytest.fixture(scope="session", autouse=True)
def feature_cache(tmp_path_factory) -> Path:
    """summarize's features cache in a temp folder (subprocesses inherit it), never the user's."""
    folder = tmp_path_factory.mktemp("feature_cache")
    os.environ["SEMSUM_CACHE"] = str(folder)
    return folder


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory) -> Path:
    """Networks exported for ONNX Runtime go to a temp folder (subprocesses inherit it), never the user's cache."""
    folder = tmp_path_factory.mktemp("onnx_cache")
    os.environ["SEMSUM_ONNX_CACHE"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real SumMe/TVSum annotations and split files."""
    return _shared("data", "SEMSUM_DATA")


@pytest.fixture(scope="session")
def shared_media() -> Path:
    """Six small real videos (see its README.md)."""
    return _shared("media", "SEMSUM_SHARED_MEDIA")


@pytest.fixture
def broken_videos(tmp_path, shared_media) -> dict[str, Path]:
    """Files that are not usable videos: text, empty, header cut, cut mid-stream, audio only, missing."""
    clip = (shared_media / "bikes.mp4").read_bytes()
    files = {name: tmp_path / f"{name}.mp4" for name in ("text", "empty", "header_cut", "truncated", "missing")}
    files["text"].write_text("not a video\n" * 100)
    files["empty"].touch()
    files["header_cut"].write_bytes(clip[:20_000])
    files["truncated"].write_bytes(clip[:200_000])
    files["audio_only"] = tmp_path / "tone.m4a"
    with av.open(str(files["audio_only"]), "w") as container:
        stream = container.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return files
