"""The first half of every video job: one streaming pass that decodes, samples and encodes a video file.

`sample_video` keeps only the features (and a few thumbnails), so memory stays bounded on long videos; the
summarize pipeline and the dataset builder both start from the `SampledVideo` it returns.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from semsum.data.h5 import STEP
from semsum.errors import SemsumError
from semsum.features.encoders import FrameEncoder, WindowEncoder, check_features, describe, encode_batches
from semsum.pipeline.cache import CachedVideo, FeatureCache
from semsum.prefetch import prefetch
from semsum.video.decode import FrameSampler, VideoInfo, iter_sampled_frames, probe

THUMB_HEIGHT = 54


@dataclass(frozen=True)
class SamplingConfig:
    """Which frames of a video are sampled and how many are decoded per batch.

    With neither `step` nor `fps` the sampling is automatic (`is_auto`): the job resolves it (dataset files: every
    15th frame, the benchmarks'; `summarize`: fine enough for short videos, see `semsum.pipeline.summarize`).
    """

    step: int | None = STEP  # every step-th frame (the benchmarks': 15), or
    fps: float | None = None  # this many frames per second (timestamps) instead
    batch_size: int = 32  # frames per decoded (and encoded) batch

    def __post_init__(self) -> None:
        if self.step is not None and self.fps is not None:
            raise SemsumError("give --step or --fps, not both")
        if (self.step is not None and self.step < 1) or (self.fps is not None and not self.fps > 0):
            raise SemsumError(f"invalid sampling: step={self.step}, fps={self.fps}")
        if self.batch_size < 1:
            raise SemsumError(f"--batch-size must be at least 1, got {self.batch_size}")

    @property
    def is_auto(self) -> bool:
        return self.step is None and self.fps is None

    def resolve(self, step: int = STEP) -> SamplingConfig:
        """This sampling, or every `step`-th frame if it is automatic."""
        return replace(self, step=step) if self.is_auto else self

    def frames_per_step(self, fps: float) -> float:
        """Video frames between two picks, for a video at `fps`."""
        return float(self.step) if self.step else fps / self.fps

    def expected_steps(self, info: VideoInfo) -> int:
        """About how many frames sampling will keep (the probe's frame count may be an estimate)."""
        if self.step:
            return max(1, int(np.ceil(info.n_frames / self.step)))
        return max(1, int(np.ceil(info.duration * self.fps)))

    def sampler(
        self,
        path: str | os.PathLike[str],
        batch_size: int | None = None,
        size: tuple[int, int] | None = None,
        resume: tuple[np.ndarray, np.ndarray] | None = None,
        threads: int = 0,
    ) -> FrameSampler:
        """The decoder's iterator over this sampling of `path` (batches of picks and uint8 RGB frames), continuing
        after a `resume` prefix (picks, times) if given, decoded by `threads` threads (0: FFmpeg's choice)."""
        batch = batch_size or self.batch_size
        return iter_sampled_frames(
            path, step=self.step, fps=self.fps, batch_size=batch, size=size, resume=resume, threads=threads
        )

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
    times: np.ndarray | None = None  # float64 [n_steps]: presentation time of each pick (seconds, stream clock)
    cache: FeatureCache | None = None  # where this video's features (and shots) are kept between runs
    cached: CachedVideo | None = None  # the cache entry's content, once complete

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
    cache: str | os.PathLike[str] | None = None,
    save_seconds: float = 60.0,
) -> tuple[SampledVideo, list[tuple[int, np.ndarray]]]:
    """Probe, sample and encode `path` in one pass over the file; features go under "features".

    `on_batch(steps_done, steps_expected)` reports progress. Returns the SampledVideo and up to `n_thumbnails`
    evenly spaced (frame, image) pairs. With a `cache` folder (`semsum.pipeline.cache`), a per-frame encoder's
    features are saved there every `save_seconds`, on Ctrl-C or SIGTERM, and once complete; a later call with the
    same video and settings resumes from the saved prefix, or, when the pass was complete, returns without
    decoding at all. Window encoders need the whole stream and are not cached.
    """
    sampling = (sampling or SamplingConfig()).resolve()
    info = probe(path, count=False)  # the sampler counts the decoded frames itself
    size = (encoder.input_size, encoder.input_size) if encoder.input_size else None
    entry = None
    if cache is not None and not isinstance(encoder, WindowEncoder):
        settings = {**sampling.to_dict(), "size": size, "encoder": describe(encoder), "thumbnails": n_thumbnails}
        entry = FeatureCache(cache, info.path, settings)
    done = entry.load() if entry is not None else None
    if done is not None and done.complete:
        video = SampledVideo(
            info,
            done.picks,
            done.n_frames,
            sampling,
            {"features": done.features},
            encoder.name,
            describe(encoder),
            times=done.times,
            cache=entry,
            cached=done,
        )
        return video, done.thumbnails
    prefix = done if done is not None and len(done.picks) else None  # an interrupted run's features
    resume = (prefix.picks, prefix.times) if prefix is not None else None
    # A network on the CPU keeps the cores busy: one decoding thread beside it wastes less than FFmpeg's frame
    # threads competing with it (5-13 % faster in 4 of 4 paired runs, benchmarks/RESULTS.md).
    threads = 1 if str(getattr(encoder, "device", "cpu")).startswith("cpu") else 0
    sampler = sampling.sampler(info.path, size=size, resume=resume, threads=threads)
    expected = sampling.expected_steps(info)
    every = max(1, expected // n_thumbnails) if n_thumbnails else 0
    thumb_w = max(2, round(THUMB_HEIGHT * info.width / info.height))
    picks: list[np.ndarray] = [prefix.picks] if prefix is not None else []
    parts: list[np.ndarray] = [prefix.features] if prefix is not None else []
    thumbs: list[tuple[int, np.ndarray]] = list(prefix.thumbnails) if prefix is not None else []

    def batches() -> Iterator[np.ndarray]:
        done = sum(len(p) for p in picks)
        for batch_picks, frames in prefetch(sampler):
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

    def state() -> CachedVideo:
        """The encoded prefix, for the cache."""
        n = sum(len(p) for p in parts)
        last = picks[len(parts) - 1][-1]
        return CachedVideo(
            np.concatenate(picks[: len(parts)]),
            np.asarray(sampler.times[:n]),
            np.concatenate(parts),
            thumbnails=[t for t in thumbs if t[0] <= last],
        )

    try:
        if entry is None:
            features = encode_batches(encoder, batches())
        else:
            try:
                features = _encode_saving(encoder, batches(), parts, lambda: entry.save(state()), save_seconds)
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM: keep what was computed, for the re-run
                if parts:
                    entry.save(state())
                raise
    except SemsumError:
        if entry is not None:
            entry.remove()  # the file is broken: features of its first part are of no use
        raise
    video = SampledVideo(
        info=info,
        picks=np.concatenate(picks),
        n_frames=int(sampler.n_decoded),
        sampling=sampling,
        features={"features": features},
        encoder=encoder.name,
        encoder_description=describe(encoder),
        times=np.asarray(sampler.times),
        cache=entry,
    )
    if entry is not None:
        video.cached = CachedVideo(video.picks, video.times, features, video.n_frames, thumbs)
        entry.save(video.cached)
    return video, thumbs


def _encode_saving(
    encoder: FrameEncoder,
    batches: Iterator[np.ndarray],
    feats: list[np.ndarray],
    save: Callable[[], None],
    every_seconds: float,
) -> np.ndarray:
    """Encode batch by batch, appending to `feats` (which may start with a resumed prefix), calling `save` every
    `every_seconds`; all of `feats` concatenated."""
    saved_at = time.monotonic()
    for frames in batches:
        feats.append(check_features(encoder, encoder(frames)))
        if time.monotonic() - saved_at > every_seconds:
            save()
            saved_at = time.monotonic()
    if not feats:
        raise SemsumError(f"encoder {encoder.name}: the video yielded no sampled frames")
    return np.concatenate(feats)
