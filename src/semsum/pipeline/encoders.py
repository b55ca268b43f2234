"""The `fx` encoder: F(x), GoogLeNet pool5 mapped into the MLLM embedding space by a trained mapper.

The paper's cheap path: MLLM-space features without running the MLLM. It combines two stages (the GoogLeNet
encoder and an `semsum align train` mapper), which is why it lives with the orchestration.
"""

from __future__ import annotations

import os

import numpy as np

from semsum.align.mapper import Mapper, apply_mapper, load_mapper
from semsum.errors import SemsumError
from semsum.features.googlenet import INPUT_SIZE, FeatureExtractor, make_googlenet


class FxEncoder:
    """uint8 RGB frames -> F(GoogLeNet pool5) [B, mapper out_dim]."""

    name = "fx"

    def __init__(self, googlenet: FeatureExtractor, mapper: Mapper, where: str = ""):
        if mapper.config.in_dim != googlenet.dim:
            raise SemsumError(f"{where}: maps {mapper.config.in_dim}-d inputs, GoogLeNet pool5 is {googlenet.dim}-d")
        self.googlenet, self.mapper, self.where = googlenet, mapper, where
        self.dim, self.input_size = mapper.config.out_dim, googlenet.input_size

    @property
    def description(self) -> str:
        return f"F(x) {self.where} over {self.googlenet.description}"

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return apply_mapper(self.mapper, self.googlenet(frames), where=self.where)


def make_fx(
    device: str = "auto",
    mapper: str | os.PathLike[str] | None = None,
    weights: str | os.PathLike[str] | None = None,
    random_init: bool = False,
    input_size: int = INPUT_SIZE,
) -> FxEncoder:
    """Entry-point factory of the `fx` encoder; `mapper` is the checkpoint from `semsum align train`."""
    if mapper is None:
        raise SemsumError("the fx encoder needs --mapper FILE (from `semsum align train`)")
    googlenet = make_googlenet(device, weights, random_init, input_size)
    return FxEncoder(googlenet, load_mapper(mapper), str(mapper))
