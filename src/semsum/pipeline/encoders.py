"""The `fx` encoder: F(x), GoogLeNet pool5 mapped into the MLLM embedding space by a trained mapper.

The paper's cheap path: MLLM-space features without running the MLLM. It combines two stages (the GoogLeNet
encoder and an `semsum align train` mapper), which is why it lives with the orchestration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from semsum.errors import SemsumError
from semsum.features.googlenet import GoogLeNetEncoder, GoogLeNetOptions, make_googlenet
from semsum.registry import declares, option

if TYPE_CHECKING:
    from semsum.align.mapper import Mapper


@dataclass(frozen=True)
class MapperOptions:
    """An F(x) mapper checkpoint: the `fx` encoder's, and the one a run's MLLM-space inputs may come from."""

    mapper: str | None = option(None, "F(x) mapper from `semsum align train` (--encoder fx, --run-input mapped).")


@dataclass(frozen=True)
class FxOptions(GoogLeNetOptions, MapperOptions):
    """The `fx` encoder's options: GoogLeNet's, and the mapper applied to its pool5."""


class FxEncoder:
    """uint8 RGB frames -> F(GoogLeNet pool5) [B, mapper out_dim] (GoogLeNet built on the first frames)."""

    name = "fx"

    def __init__(self, googlenet: GoogLeNetEncoder, mapper: Mapper, options: FxOptions):
        where = str(options.mapper)
        if mapper.config.in_dim != googlenet.dim:
            raise SemsumError(f"{where}: maps {mapper.config.in_dim}-d inputs, GoogLeNet pool5 is {googlenet.dim}-d")
        self.googlenet, self.mapper, self.where = googlenet, mapper, where
        self.dim, self.input_size = mapper.config.out_dim, googlenet.input_size
        self.options = options

    @property
    def description(self) -> str:
        return f"F(x) {self.where} over {self.googlenet.description}"

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        from semsum.align.mapper import apply_mapper

        return apply_mapper(self.mapper, self.googlenet(frames), where=self.where)


@declares(FxOptions)
def make_fx(options: FxOptions, device: str = "auto") -> FxEncoder:
    """Entry-point factory of the `fx` encoder; `options.mapper` is the checkpoint from `semsum align train`."""
    if options.mapper is None:
        raise SemsumError("the fx encoder needs --mapper FILE (from `semsum align train`)")
    from semsum.align.mapper import load_mapper

    googlenet = make_googlenet(
        GoogLeNetOptions(options.googlenet_weights, options.random_googlenet, options.input_size, options.runtime),
        device,
    )
    return FxEncoder(googlenet, load_mapper(options.mapper), options)
