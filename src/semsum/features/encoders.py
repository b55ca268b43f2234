"""Frame encoders: one interface, implementations registered by name (entry-point group `semsum.encoders`).

A `FrameEncoder` maps sampled frames to one feature vector each:

    class MyEncoder:
        name = "my-encoder"        # written into outputs
        dim = 512                  # width of every feature vector
        input_size = 224           # square side the decoder scales frames to (None: native size)
        def __call__(self, frames):  # uint8 RGB [B, H, W, 3] -> float32 [B, dim]
            ...

An encoder that needs temporal context (a window of neighbouring frames, as Video-LLaVA's 8-frame windows) is a
`WindowEncoder` instead: it has `encode_stream(batches)`, which takes every batch of the video's sampled frames
in order and returns float32 [n_steps, dim] once the stream ends. `encode_batches` runs either kind.

Built in: `googlenet` (pool5, 1024-d; `semsum.features.googlenet`), `videollava` (a WindowEncoder:
Video-LLaVA embeddings of 8-frame windows, paper Eq. 1; `semsum.features.mllm`) and `fx` (F(x): GoogLeNet pool5
mapped into the MLLM space by a mapper from `semsum align train`; `semsum.pipeline.encoders`).
Each declares its options (a frozen dataclass) and is built with them and a `device`; see `semsum.registry`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import numpy as np

from semsum.errors import SemsumError
from semsum.registry import ENCODERS, create


class FrameEncoder(Protocol):
    """uint8 RGB frames [B, H, W, 3] -> float32 features [B, dim], one batch at a time."""

    name: str
    dim: int
    input_size: int | None

    def __call__(self, frames: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class WindowEncoder(Protocol):
    """Features that depend on neighbouring frames: the whole stream of batches in, [n_steps, dim] out."""

    name: str
    dim: int
    input_size: int | None

    def encode_stream(self, batches: Iterable[np.ndarray]) -> np.ndarray: ...


def encode_batches(encoder: FrameEncoder | WindowEncoder, batches: Iterable[np.ndarray]) -> np.ndarray:
    """float32 [n_steps, dim] features of a stream of frame batches, with either kind of encoder."""
    if isinstance(encoder, WindowEncoder):
        out = encoder.encode_stream(batches)
    else:
        parts = [encoder(frames) for frames in batches]
        if not parts:
            raise SemsumError(f"encoder {encoder.name}: the video yielded no sampled frames")
        out = np.concatenate(parts)
    return check_features(encoder, out)


def check_features(encoder: FrameEncoder | WindowEncoder, features: np.ndarray) -> np.ndarray:
    """`features` as float32 if they are [n, encoder.dim] and finite, else an error naming the encoder."""
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or features.shape[1] != encoder.dim:
        raise SemsumError(f"encoder {encoder.name}: returned shape {features.shape}, expected [n, {encoder.dim}]")
    if not np.all(np.isfinite(features)):
        raise SemsumError(f"encoder {encoder.name}: returned NaN or infinite features")
    return features


def describe(encoder: FrameEncoder | WindowEncoder) -> str:
    """How the features were made, for outputs: the encoder's `description` if it has one, else its name."""
    return str(getattr(encoder, "description", encoder.name))


def make_encoder(name: str = "googlenet", device: str = "auto", **options: object) -> FrameEncoder | WindowEncoder:
    """The frame encoder registered as `name`, built from its declared `options` (one it lacks is an error)."""
    return check_encoder(name, create(ENCODERS, name, device, **options))


def check_encoder(name: str, encoder: object) -> FrameEncoder | WindowEncoder:
    """`encoder` if it has the FrameEncoder or WindowEncoder surface, else an error naming the factory's `name`."""
    missing = [a for a in ("name", "dim") if not hasattr(encoder, a)]
    if missing or not (callable(encoder) or isinstance(encoder, WindowEncoder)):
        what = f"no {missing[0]!r}" if missing else "neither __call__ nor encode_stream"
        raise SemsumError(f"encoder {name!r}: its factory returned an object with {what}")
    return encoder
