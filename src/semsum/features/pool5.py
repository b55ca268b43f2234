"""GoogLeNet pool5 on frames: the network behind the `googlenet` encoder (`semsum.features.googlenet`), built when
frames first need encoding (torch and ONNX Runtime load here, not where the encoder is declared)."""

from __future__ import annotations

import os

import numpy as np
import torch

from semsum.device import resolve_device
from semsum.features.googlenet import INPUT_SIZE, GoogLeNetOptions, weights_label
from semsum.nn.googlenet import IMAGENET_MEAN, IMAGENET_STD, GoogLeNet, fold_batchnorm, load_googlenet
from semsum.nn.onnx import onnx_network, use_onnx

CPU_BATCH = 8  # frames per forward pass on CPU: the fastest of 2 to 32 (benchmarks/RESULTS.md, "GoogLeNet on CPU")


def preprocess(frames: np.ndarray, size: int = INPUT_SIZE) -> torch.Tensor:
    """uint8 RGB [B, H, W, 3] -> float [B, 3, size, size]: the eccv16 pipeline's resize and ImageNet mean/std.

    Frames already at `size` x `size` (the decoder can scale them in FFmpeg) are not resized again.
    """
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(255.0)
    if x.shape[-2:] != (size, size):
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


class Pool5(torch.nn.Module):
    """GoogLeNet's pool5 as a module's `forward`, the one function an ONNX export records."""

    def __init__(self, net: GoogLeNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x)


class FeatureExtractor:
    """GoogLeNet pool5 (1024-d) features of uint8 RGB frames, batched, under `torch.inference_mode`.

    A `semsum.features.encoders.FrameEncoder` named `googlenet`. `weights` describes the network in outputs
    ("imagenet: FILE" or "random-init"). `offset` [1024], if given, is subtracted from every feature (used for
    the random-init network, see `build_extractor`). `runtime` (`semsum.nn.onnx.RUNTIMES`) picks ONNX Runtime or
    PyTorch; ONNX Runtime that cannot be set up falls back to PyTorch with a warning.
    """

    name = "googlenet"
    dim = 1024

    def __init__(
        self,
        model: GoogLeNet,
        weights: str,
        input_size: int = INPUT_SIZE,
        device: str | None = None,
        offset: np.ndarray | None = None,
        runtime: str = "auto",
    ):
        self.device = resolve_device(device)
        # BatchNorm folded into the convolutions and NHWC layout: faster on CPU (oneDNN) and on GPU tensor cores,
        # the same features to float rounding.
        self.model = fold_batchnorm(model).to(self.device, memory_format=torch.channels_last)
        self.chunk = CPU_BATCH if self.device.type == "cpu" else None
        self.weights, self.input_size, self.offset = weights, input_size, offset
        self.onnx = None
        if use_onnx(runtime, self.device):
            self.onnx = onnx_network(Pool5(self.model), [torch.zeros(2, 3, input_size, input_size)], "googlenet", True)

    @property
    def description(self) -> str:
        return f"GoogLeNet pool5, {self.weights}"

    @torch.inference_mode()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """uint8 RGB [B, H, W, 3] -> float32 [B, 1024]."""
        x = preprocess(frames, self.input_size)
        if self.onnx is not None:
            features = np.concatenate([self.onnx(c.numpy())[0] for c in x.split(self.chunk)])
        else:
            x = x.to(self.device, non_blocking=True, memory_format=torch.channels_last)
            chunks = x.split(self.chunk) if self.chunk else [x]
            features = torch.cat([self.model.features(c) for c in chunks]).float().cpu().numpy()
        return features if self.offset is None else features - self.offset


def reference_images(n: int = 32, size: int = INPUT_SIZE, grid: int = 8, seed: int = 0) -> np.ndarray:
    """`n` seeded smooth random colour images (a `grid` x `grid` colour field, bilinearly upsampled)."""
    low = np.random.default_rng(seed).integers(0, 256, size=(n, 3, grid, grid)).astype(np.float32)
    up = torch.nn.functional.interpolate(torch.from_numpy(low), size=(size, size), mode="bilinear")
    return up.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8).numpy()


def build_extractor(
    weights: str | os.PathLike[str] | None = None,
    random_init: bool = False,
    input_size: int = INPUT_SIZE,
    device: str | None = None,
    seed: int = 0,
    runtime: str = "auto",
) -> FeatureExtractor:
    """The ImageNet GoogLeNet extractor (weights file, $SEMSUM_GOOGLENET_WEIGHTS, hub cache or download), or,
    only when `random_init` is asked for explicitly, a randomly initialised one (seeded; for tests and demos).

    A random ReLU network maps every image close to one shared direction (cosine >= 0.96 between unrelated
    scenes), which hides content differences from KTS's L2-normalised kernel. The random-init extractor
    therefore subtracts a fixed, data-independent offset: its mean feature over `reference_images()`. The
    ImageNet extractor returns plain pool5, as the eccv16 files hold.
    """
    if random_init:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = load_googlenet(pretrained=False)
            extractor = FeatureExtractor(model, weights_label(weights, True), input_size, device, runtime=runtime)
        extractor.offset = extractor(reference_images(size=input_size)).mean(axis=0)
    else:
        model = load_googlenet(weights, pretrained=True)
        extractor = FeatureExtractor(model, weights_label(weights, False), input_size, device, runtime=runtime)
    extractor.options = GoogLeNetOptions(None if weights is None else str(weights), random_init, input_size, runtime)
    return extractor
