"""Shared fixtures. Real annotations come from ../shared/data (override with SEMSUM_SHARED_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# Tiny models on a small shared CPU run many times faster on one thread than on several.
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]


def _shared(sub: str, env: str) -> Path:
    path = Path(os.environ.get(env, ROOT.parent / "shared" / sub))
    if not path.is_dir():
        pytest.fail(f"{path} not found: put the project's shared/{sub} beside the checkout or set {env}")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real SumMe/TVSum annotations and split files."""
    return _shared("data", "SEMSUM_SHARED_DATA")


@pytest.fixture(scope="session")
def shared_media() -> Path:
    """Six small real videos (see its README.md)."""
    return _shared("media", "SEMSUM_SHARED_MEDIA")
