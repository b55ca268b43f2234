"""The first half of every video job: one streaming pass that decodes, samples and encodes a video file.

`sample_video` keeps only the features (and a few thumbnails), so memory stays bounded on long videos; the
summarize pipeline and the dataset builder both start from the `SampledVideo` it returns.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from semsum.errors import SemsumError
from semsum.features.checkpoint import FeatureCheckpoint, video_settings
from semsum.features.encoders import FrameEncoder, WindowEncoder, check_features, describe, encode_batches
from semsum.video.decode import FrameSampler, VideoInfo, iter_sampled_frames, probe

THUMB_HEIGHT = 54


@dataclass(frozen=True)
class SamplingConfig:
    """Which frames of a video are sampled and how many are decoded per batch."""

    step: int | None = 15  # every step-th frame (the benchmarks': 15), or
    fps: float | None = None  # this many frames per second (timestamps) instead
    batch_size: int = 32  # frames per decoded (and encoded) batch

    def __post_init__(self) -> None:
        if self.step is not None and self.fps is not None:
            raise SemsumError("give --step or --fps, not both")
        if self.step is None and self.fps is None:
            object.__setattr__(self, "step", 15)
        if (self.step is not None and self.step < 1) or (self.fps is not None and not self.fps > 0):
            raise SemsumError(f"invalid sampling: step={self.step}, fps={self.fps}")
        if self.batch_size < 1:
            raise SemsumError(f"--batch-size must be at least 1, got {self.batch_size}")

    def expected_steps(self, info: VideoInfo) -> int:
        """About how many frames sampling will keep (the probe's frame count may be an estimate)."""
        if self.step:
            return max(1, int(np.ceil(info.n_frames / self.step)))
        return max(1, int(np.ceil(info.duration * self.fps)))

    def sampler(
        self, path: str | os.PathLike[str], batch_size: int | None = None, size: tuple[int, int] | None = None
    ) -> FrameSampler:
        """The decoder's iterator over this sampling of `path` (batches of picks and uint8 RGB frames)."""
        batch = batch_size or self.batch_size
        return iter_sampled_frames(path, step=self.step, fps=self.fps, batch_size=batch, size=size)

    def to_dict(self) -> dict[str, float]:
        return {"step": self.step} if self.step else {"fps": self.fps}


@dataclass
class SampledVideo:
    """A video as the pipeline sampled it: everything a shot detector or scorer may use."""

    info: VideoInfo  # probe result (fps, size, rotation, audio); its n_frames may be an estimate
    picks: np.ndarray  # int64 [n_steps]: decoded-frame index of each sampled frame
    n_frames: int  # frames actually decoded (use this, not info.n_frames)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    features: dict[str, np.ndarray] = field(default_factory=dict)  # key -> [n_steps, D]; "features": the encoder's
    encoder: str = ""  # name of the frame encoder that made "features"
    encoder_description: str = ""  # how exactly (weights, model)
    step_segments: np.ndarray | None = None  # int64 [n_segments, 2]: inclusive [first, last] step of each segment

    @property
    def path(self) -> Path:
        return self.info.path

    @property
    def n_steps(self) -> int:
        return len(self.picks)

    def iter_frames(
        self, batch_size: int = 32, size: tuple[int, int] | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Decode the sampled frames again, in batches of (picks, uint8 RGB [b, H, W, 3])."""
        return iter(self.sampling.sampler(self.path, batch_size, size))


def _thumbnail(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    rows = np.linspace(0, frame.shape[0] - 1, height).round().astype(int)
    cols = np.linspace(0, frame.shape[1] - 1, width).round().astype(int)
    return frame[rows][:, cols]


def sample_video(
    path: str | os.PathLike[str],
    encoder: FrameEncoder | WindowEncoder,
    sampling: SamplingConfig | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    n_thumbnails: int = 0,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_seconds: float = 60.0,
) -> tuple[SampledVideo, list[tuple[int, np.ndarray]]]:
    """Probe, sample and encode `path` in one pass over the file; features go under "features".

    `on_batch(steps_done, steps_expected)` reports progress. Returns the SampledVideo and up to `n_thumbnails`
    evenly spaced (frame, image) pairs. With `checkpoint` (an .npz path) and a per-frame encoder, the features
    computed so far are saved every `checkpoint_seconds` and once complete; a later call with the same video and
    settings reuses them instead of running the network again (frames are still decoded: that is cheap next to
    the network). Window encoders need the whole stream and are not checkpointed.
    """
    sampling = sampling or SamplingConfig()
    info = probe(path, count=False)  # the sampler counts the decoded frames itself
    size = (encoder.input_size, encoder.input_size) if encoder.input_size else None
    sampler = iter_sampled_frames(
        info.path, step=sampling.step, fps=sampling.fps, batch_size=sampling.batch_size, size=size
    )
    expected = sampling.expected_steps(info)
    every = max(1, expected // n_thumbnails) if n_thumbnails else 0
    thumb_w = max(2, round(THUMB_HEIGHT * info.width / info.height))
    picks: list[np.ndarray] = []
    thumbs: list[tuple[int, np.ndarray]] = []

    def batches() -> Iterator[np.ndarray]:
        done = 0
        for batch_picks, frames in sampler:
            if every:
                thumbs.extend(
                    (int(batch_picks[i]), _thumbnail(frames[i], thumb_w, THUMB_HEIGHT))
                    for i in range(len(frames))
                    if (done + i) % every == 0
                )
            picks.append(batch_picks)
            done += len(batch_picks)
            yield frames
            if on_batch is not None:
                on_batch(done, expected)

    ckpt = None
    if checkpoint is not None and not isinstance(encoder, WindowEncoder):
        settings = video_settings(info.path, **sampling.to_dict(), size=size, encoder=describe(encoder))
        ckpt = FeatureCheckpoint(checkpoint, settings)
    try:
        if ckpt is None:
            features = encode_batches(encoder, batches())
        else:
            features = _encode_resumable(encoder, batches(), picks, ckpt, checkpoint_seconds)
    except SemsumError:
        if ckpt is not None:
            ckpt.remove()  # the file is broken: features of its first part are of no use
        raise
    video = SampledVideo(
        info=info,
        picks=np.concatenate(picks),
        n_frames=int(sampler.n_decoded),
        sampling=sampling,
        features={"features": features},
        encoder=encoder.name,
        encoder_description=describe(encoder),
    )
    return video, thumbs


def _encode_resumable(
    encoder: FrameEncoder,
    batches: Iterator[np.ndarray],
    picks: list[np.ndarray],
    ckpt: FeatureCheckpoint,
    every_seconds: float,
) -> np.ndarray:
    """Encode batch by batch, reusing the checkpoint's prefix where its picks match and saving now and then."""
    done_picks, done_feats = ckpt.load() or (np.zeros(0, np.int64), np.zeros((0, encoder.dim), np.float32))
    feats: list[np.ndarray] = []
    start, saved_at = 0, time.monotonic()
    for frames in batches:
        end = start + len(frames)
        if end <= len(done_picks) and np.array_equal(done_picks[start:end], picks[-1]):
            feats.append(done_feats[start:end])
        else:
            feats.append(check_features(encoder, encoder(frames)))
        if end > len(done_picks) and time.monotonic() - saved_at > every_seconds:
            ckpt.save(np.concatenate(picks), np.concatenate(feats))
            saved_at = time.monotonic()
        start = end
    if not feats:
        raise SemsumError(f"encoder {encoder.name}: the video yielded no sampled frames")
    features = np.concatenate(feats)
    if len(features) > len(done_picks):
        ckpt.save(np.concatenate(picks), features)
    return features
