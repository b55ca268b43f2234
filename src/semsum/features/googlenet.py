"""The GoogLeNet pool5 frame encoder (1024-d, the field's standard input): the `googlenet` encoder.

Declaring it costs no torch: this module holds its options, its factory and `GoogLeNetEncoder`, which knows what
identifies its features (name, width, input size, description, options: a features cache entry's key) at once and
builds the network (`semsum.features.pool5`; the network itself and its weights file live in `semsum.nn.googlenet`,
which CSTA's attention CNN uses too) only when frames first need encoding: a re-run whose features are all cached
never builds it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semsum.errors import SemsumError
from semsum.nn.onnx import RUNTIME_HELP
from semsum.nn.weights import googlenet_weights_available
from semsum.registry import declares, option

if TYPE_CHECKING:
    from semsum.features.pool5 import FeatureExtractor

INPUT_SIZE = 224


def googlenet_weights(weights: str | os.PathLike[str] | None) -> Path:
    """The ImageNet weights file: found without torch when it is on disk (`semsum.nn.weights`), else resolved by
    `semsum.nn.googlenet.weights_file` (downloaded if it must be, or an error saying what to do)."""
    found = googlenet_weights_available(weights)  # without torch, as a re-run on cached features needs no network
    if found is None:
        from semsum.nn.googlenet import weights_file  # downloads it, or says what to do

        found = weights_file(weights)
    return found


def weights_label(weights: str | os.PathLike[str] | None, random_init: bool) -> str:
    """How the network's weights are named in outputs: "random-init", or "imagenet: FILE" (`googlenet_weights`)."""
    return "random-init" if random_init else f"imagenet: {googlenet_weights(weights)}"


@dataclass(frozen=True)
class GoogLeNetOptions:
    """The `googlenet` encoder's options (the `fx` encoder takes them too: it runs GoogLeNet first)."""

    googlenet_weights: str | None = option(
        None,
        "torchvision GoogLeNet ImageNet weights (googlenet-1378be20.pth); default: $SEMSUM_GOOGLENET_WEIGHTS, "
        "torch's hub cache, else download.",
    )
    random_googlenet: bool = option(False, "Use a seeded random-initialised GoogLeNet (tests, demos; no weights).")
    input_size: int = option(INPUT_SIZE, f"GoogLeNet input size in pixels (eccv16: {INPUT_SIZE}).")
    runtime: str = option("auto", RUNTIME_HELP)


class GoogLeNetEncoder:
    """The `googlenet` encoder (a `semsum.features.encoders.FrameEncoder`): GoogLeNet pool5 of uint8 RGB frames,
    the network (`semsum.features.pool5.build_extractor`) built on the first frames and kept."""

    name = "googlenet"
    dim = 1024

    def __init__(self, options: GoogLeNetOptions, device: str = "auto"):
        self.options, self.device, self.input_size = options, device, options.input_size

    @cached_property
    def description(self) -> str:
        return f"GoogLeNet pool5, {weights_label(self.options.googlenet_weights, self.options.random_googlenet)}"

    @cached_property
    def extractor(self) -> FeatureExtractor:
        """The network, built on first use."""
        from semsum.features.pool5 import build_extractor

        o = self.options
        return build_extractor(o.googlenet_weights, o.random_googlenet, o.input_size, self.device, runtime=o.runtime)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """uint8 RGB [B, H, W, 3] -> float32 [B, 1024]."""
        return self.extractor(frames)


@declares(GoogLeNetOptions)
def make_googlenet(options: GoogLeNetOptions, device: str = "auto") -> GoogLeNetEncoder:
    """Entry-point factory of the `googlenet` encoder (see `semsum.features.pool5.build_extractor`)."""
    if options.random_googlenet and options.googlenet_weights is not None:
        raise SemsumError("give --googlenet-weights or --random-googlenet, not both")
    return GoogLeNetEncoder(options, device)
