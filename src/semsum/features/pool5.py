"""GoogLeNet pool5 on frames: the network behind the `googlenet` encoder (`semsum.features.googlenet`), built when
frames first need encoding.

On the CPU, ONNX Runtime runs it from an export cached by its recipe (`semsum.nn.onnx`); when that export is
already cached no torch is imported at all (a first run's imports 2.8 s -> 1.0 s on 2 cores, benchmarks/RESULTS.md,
"A first run without torch"): the recipe key, the preprocessing of frames at the input size and the random
network's offset (cached beside its export) need none. torch is imported to build the network where the export is
missing, where PyTorch runs it, and to resize frames that are not at the input size.
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import TYPE_CHECKING

import numpy as np

from semsum.device import device_type, resolve_device
from semsum.features.googlenet import INPUT_SIZE, GoogLeNetOptions, googlenet_weights, weights_label
from semsum.nn.onnx import OnnxNetwork, cached_file, onnx_network, recipe_key, source_file, use_onnx
from semsum.nn.weights import IMAGENET_MEAN, IMAGENET_STD

if TYPE_CHECKING:
    from semsum.nn.googlenet import GoogLeNet

CPU_BATCH = 8  # frames per forward pass on CPU: the fastest of 2 to 32 (benchmarks/RESULTS.md, "GoogLeNet on CPU")
_MEAN = np.array(IMAGENET_MEAN, np.float32).reshape(1, 3, 1, 1)
_STD = np.array(IMAGENET_STD, np.float32).reshape(1, 3, 1, 1)


def preprocess(frames: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """uint8 RGB [B, H, W, 3] -> float32 [B, 3, size, size]: the eccv16 pipeline's resize and ImageNet mean/std.

    Frames already at `size` x `size` (the decoder scales them in FFmpeg) are not resized again and need no torch;
    others are resized by torch's antialiased bilinear filter. The same float32 operations as in torch, so the
    same values to the bit (tests/features/test_googlenet.py).
    """
    frames = np.ascontiguousarray(frames)
    if frames.shape[1:3] == (size, size):
        x = np.empty((len(frames), 3, size, size), np.float32)  # C order, computed in place: no batch-sized temporary
        x[...] = frames.transpose(0, 3, 1, 2)
        x /= np.float32(255.0)
    else:
        import torch

        t = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255.0)
        t = torch.nn.functional.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        x = np.ascontiguousarray(t.numpy())
    x -= _MEAN
    x /= _STD
    return x


class FeatureExtractor:
    """GoogLeNet pool5 (1024-d) features of uint8 RGB frames, batched.

    A `semsum.features.encoders.FrameEncoder` named `googlenet`. `weights` describes the network in outputs
    ("imagenet: FILE" or "random-init"). It runs `onnx` (ONNX Runtime, CPU) when given, else the torch `model`
    (BatchNorm folded, channels-last, on `device`). `offset` [1024], if given, is subtracted from every feature
    (used for the random-init network, see `build_extractor`).
    """

    name = "googlenet"
    dim = 1024

    def __init__(
        self,
        weights: str,
        input_size: int = INPUT_SIZE,
        onnx: OnnxNetwork | None = None,
        model: GoogLeNet | None = None,
        device: str = "cpu",
        offset: np.ndarray | None = None,
    ):
        if (onnx is None) == (model is None):
            raise ValueError("FeatureExtractor runs either an ONNX Runtime network or a torch model")
        self.weights, self.input_size, self.onnx, self.model = weights, input_size, onnx, model
        self.device, self.offset = device, offset
        self.chunk = CPU_BATCH if device == "cpu" else None

    @property
    def description(self) -> str:
        return f"GoogLeNet pool5, {self.weights}"

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """uint8 RGB [B, H, W, 3] -> float32 [B, 1024]."""
        x = preprocess(frames, self.input_size)
        chunks = [x[i : i + self.chunk] for i in range(0, max(len(x), 1), self.chunk)] if self.chunk else [x]
        if self.onnx is not None:
            features = np.concatenate([self.onnx(c)[0] for c in chunks])
        else:
            features = self._torch_features(chunks)
        return features if self.offset is None else features - self.offset

    def _torch_features(self, chunks: list[np.ndarray]) -> np.ndarray:
        """The torch model's pool5 of preprocessed chunks, concatenated."""
        import torch

        with torch.inference_mode():
            tensors = (torch.from_numpy(c).to(self.device, memory_format=torch.channels_last) for c in chunks)
            return torch.cat([self.model.features(c) for c in tensors]).float().cpu().numpy()


def reference_images(n: int = 32, size: int = INPUT_SIZE, grid: int = 8, seed: int = 0) -> np.ndarray:
    """`n` seeded smooth random colour images (a `grid` x `grid` colour field, bilinearly upsampled)."""
    import torch

    low = np.random.default_rng(seed).integers(0, 256, size=(n, 3, grid, grid)).astype(np.float32)
    up = torch.nn.functional.interpolate(torch.from_numpy(low), size=(size, size), mode="bilinear")
    return up.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8).numpy()


def googlenet_recipe(weights: str | os.PathLike[str] | None, random_init: bool, seed: int, input_size: int) -> str:
    """The ONNX export's `recipe_key`: the weights file's bytes or the seed, the input size, and the code that
    defines and builds the network (this module, `semsum.nn.googlenet`); computed without torch."""
    files = [source_file("semsum.nn.googlenet"), source_file(__name__)]
    if random_init:
        made_of = f"random-init seed {seed}"
    else:
        made_of = "imagenet weights"
        files.append(googlenet_weights(weights))
    return recipe_key(f"googlenet pool5, {made_of}, input float32 [batch, 3, {input_size}, {input_size}]", files)


def _folded_googlenet(weights: str | os.PathLike[str] | None, random_init: bool, seed: int) -> GoogLeNet:
    """The torch network with BatchNorm folded into its convolutions (faster on CPU (oneDNN) and GPU, the same
    features to float rounding); the random one drawn from `seed` without touching torch's global RNG."""
    import torch

    from semsum.nn.googlenet import fold_batchnorm, load_googlenet

    if not random_init:
        return fold_batchnorm(load_googlenet(weights, pretrained=True))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fold_batchnorm(load_googlenet(pretrained=False))


def _random_offset(extractor: FeatureExtractor, key: str | None) -> np.ndarray:
    """The random-init network's mean feature over `reference_images()`; where ONNX Runtime runs the export of
    recipe `key`, cached beside it (1024 floats), so that a run with the export cached needs no torch for it."""
    path = cached_file("googlenet", key, ".offset.npy") if key is not None else None
    if path is not None and path.is_file():
        with contextlib.suppress(OSError, ValueError):
            offset = np.load(path)
            if offset.shape == (extractor.dim,) and offset.dtype == np.float32:
                return offset
    offset = extractor(reference_images(size=extractor.input_size)).mean(axis=0)
    if path is not None:
        from semsum.atomic import atomic_path

        with contextlib.suppress(OSError), atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, offset)
    return offset


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
    `runtime` (`semsum.nn.onnx.RUNTIMES`) picks ONNX Runtime or PyTorch; ONNX Runtime that cannot be set up falls
    back to PyTorch with a warning.

    A random ReLU network maps every image close to one shared direction (cosine >= 0.96 between unrelated
    scenes), which hides content differences from KTS's L2-normalised kernel. The random-init extractor
    therefore subtracts a fixed, data-independent offset: its mean feature over `reference_images()`. The
    ImageNet extractor returns plain pool5, as the eccv16 files hold.
    """
    label = weights_label(weights, random_init)
    model = functools.cache(functools.partial(_folded_googlenet, weights, random_init, seed))
    key = onnx = None
    if use_onnx(runtime, device_type(device)):

        def export() -> tuple[object, list[object]]:
            import torch

            from semsum.nn.googlenet import Pool5

            return Pool5(model()), [torch.zeros(2, 3, input_size, input_size)]

        key = googlenet_recipe(weights, random_init, seed, input_size)
        onnx = onnx_network("googlenet", key, export, dynamic_batch=True)
    if onnx is not None:
        extractor = FeatureExtractor(label, input_size, onnx=onnx)
    else:
        import torch

        place = str(resolve_device(device))
        net = model().to(place, memory_format=torch.channels_last)
        extractor, key = FeatureExtractor(label, input_size, model=net, device=place), None
    if random_init:
        extractor.offset = _random_offset(extractor, key)
    extractor.options = GoogLeNetOptions(None if weights is None else str(weights), random_init, input_size, runtime)
    return extractor
