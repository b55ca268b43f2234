"""Where GoogLeNet's ImageNet weights file is, and the normalisation its input expects, known without importing
torch: the features cache names the file, a re-run on cached features loads no network, and a run whose ONNX export
is cached preprocesses frames in numpy (benchmarks/RESULTS.md, "Start-up")."""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_URL = "https://download.pytorch.org/models/googlenet-1378be20.pth"
WEIGHTS_ENV = "SEMSUM_GOOGLENET_WEIGHTS"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def torch_hub_dir() -> Path:
    """`torch.hub.get_dir()` as torch computes it by default, without importing torch: $TORCH_HOME/hub, else
    $XDG_CACHE_HOME/torch/hub, else ~/.cache/torch/hub (tests compare it with torch's own)."""
    home = os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
    return Path(os.path.expanduser(home)) / "hub"


def hub_weights() -> Path:
    """Where torch's hub cache keeps the weights file (downloaded there when missing)."""
    return torch_hub_dir() / "checkpoints" / Path(WEIGHTS_URL).name


def googlenet_weights_available(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The weights file if it is already on disk (no download attempt): `path`, $SEMSUM_GOOGLENET_WEIGHTS or the
    hub cache's; else None."""
    path = Path(path or os.environ.get(WEIGHTS_ENV) or hub_weights()).expanduser()
    return path if path.is_file() else None
