"""The first stage of every video job: one streaming pass that decodes, samples and encodes a video file.

`sample_video` keeps only the features (and a few thumbnails), so memory stays bounded on long videos; the
summarize pipeline and the dataset builder both start from the immutable `SampledVideo` it returns. Caching is a
wrapper around the pass (`_cached_pass`, entry folders in `semsum.pipeline.cache`): the pass itself takes a prefix to
resume from and reports what it has encoded, and the wrapper decides what is saved when.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np

from semsum.data.h5 import STRIDE
from semsum.errors import SemsumError, renamed_keywords, warn_deprecated
from semsum.features.encoders import FrameEncoder, WindowEncoder, check_features, describe, encode_batches
from semsum.pipeline.cache import CachedVideo, FeatureCache, stage_key
from semsum.prefetch import prefetch
from semsum.summary.shots import FrameWatcher, ShotDetector, chosen_detector, readonly
from semsum.video.decode import FrameSampler, VideoInfo, iter_sampled_frames, probe

THUMB_HEIGHT = 54
#: Sparser sampling than this decodes less; denser would lose picks (x264 leaves runs of up to 3 skipped frames) and
#: gains little (benchmarks/RESULTS.md, "Decode less").
SKIP_MIN_STEP = 4


@dataclass(frozen=True)
class SamplingConfig:
    """Which frames of a video are sampled and how many are decoded per batch.

    With neither `stride` nor `fps` the sampling is automatic (`is_auto`): the job resolves it (dataset files:
    every 15th frame, the benchmarks'; `summarize`: fine enough for short videos, see `semsum.pipeline.summarize`).
    `step` (keyword and attribute) is the deprecated name of `stride`. `reference_only`: decode only the frames others
    refer to where the codec allows it, picks moved to the nearest of them (`FrameSampler`); None (the default) lets
    the job decide: `summarize` does where shot detection reads the features alone (`for_shots`), others never.
    """

    stride: int | None = STRIDE  # every stride-th frame (the benchmarks': 15), or
    fps: float | None = None  # this many frames per second (timestamps) instead
    batch_size: int = 32  # frames per decoded (and encoded) batch
    reference_only: bool | None = None  # decode only reference frames (None: the job decides)

    def __post_init__(self) -> None:
        if self.stride is not None and self.fps is not None:
            raise SemsumError("give --stride or --fps, not both")
        if (self.stride is not None and self.stride < 1) or (self.fps is not None and not self.fps > 0):
            raise SemsumError(f"invalid sampling: stride={self.stride}, fps={self.fps}")
        if self.batch_size < 1:
            raise SemsumError(f"--batch-size must be at least 1, got {self.batch_size}")

    @property
    def is_auto(self) -> bool:
        return self.stride is None and self.fps is None

    @property
    def step(self) -> int | None:
        """Deprecated name of `stride`."""
        warn_deprecated("SamplingConfig.step", "SamplingConfig.stride")
        return self.stride

    def resolve(self, stride: int = STRIDE) -> SamplingConfig:
        """This sampling, or every `stride`-th frame if it is automatic."""
        return replace(self, stride=stride) if self.is_auto else self

    def for_shots(self, detector: ShotDetector, info: VideoInfo) -> SamplingConfig:
        """This sampling for a job whose shot detector is `detector`: reference frames only when the detector that
        runs on `info` (`auto` chooses by the probed frame count) reads the sampled features alone (it declares
        `reads_frames = False`; one that declares nothing is taken to read the frames), the video has frames to skip
        (`VideoInfo.skips_nonref`) and picks are `SKIP_MIN_STEP` frames apart or more, unless `reference_only` was
        set."""
        if self.reference_only is not None:
            return self
        features_only = getattr(chosen_detector(detector, info), "reads_frames", True) is False
        sparse = self.frames_per_step(info.fps) >= SKIP_MIN_STEP
        return replace(self, reference_only=features_only and info.skips_nonref and sparse)

    def frames_per_step(self, fps: float) -> float:
        """Video frames between two picks, for a video at `fps`."""
        return float(self.stride) if self.stride else fps / self.fps

    def expected_steps(self, info: VideoInfo) -> int:
        """About how many frames sampling will keep (the probe's frame count may be an estimate)."""
        if self.stride:
            return max(1, int(np.ceil(info.n_frames / self.stride)))
        return max(1, int(np.ceil(info.duration * self.fps)))

    def sampler(
        self,
        path: str | os.PathLike[str],
        batch_size: int | None = None,
        size: tuple[int, int] | None = None,
        resume: tuple[np.ndarray, np.ndarray] | None = None,
        threads: int = 0,
        watch: FrameWatcher | None = None,
    ) -> FrameSampler:
        """The decoder's iterator over this sampling of `path` (batches of picks and uint8 RGB frames), continuing
        after a `resume` prefix (picks, times) if given, decoded by `threads` threads (0: FFmpeg's choice), every
        decoded frame shown to `watch`."""
        batch = batch_size or self.batch_size
        return iter_sampled_frames(
            path,
            stride=self.stride,
            fps=self.fps,
            batch_size=batch,
            size=size,
            resume=resume,
            threads=threads,
            reference_only=bool(self.reference_only),
            watch=watch,
        )

    def to_dict(self) -> dict[str, float]:
        """The sampling as scores.json and the features cache key record it (the key is "step", as ever)."""
        return {"step": self.stride} if self.stride else {"fps": self.fps}


SamplingConfig.__init__ = renamed_keywords(step="stride")(SamplingConfig.__init__)  # type: ignore[method-assign]


@dataclass(frozen=True)
class SampledVideo:
    """A video as the sampling stage left it: everything a shot detector or scorer may use. Immutable."""

    info: VideoInfo  # probe result (fps, size, rotation, audio); its n_frames may be an estimate
    picks: np.ndarray  # int64 [n_steps]: decoded-frame index of each sampled frame
    n_frames: int  # frames actually decoded (use this, not info.n_frames)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    features: Mapping[str, np.ndarray] = field(default_factory=dict)  # key -> [n_steps, D]; "features": the encoder's
    encoder: str = ""  # name of the frame encoder that made "features"
    encoder_description: str = ""  # how exactly (weights, model)
    times: np.ndarray | None = None  # float64 [n_steps]: presentation time of each pick (seconds, stream clock)
    per_frame: Mapping[str, np.ndarray] = field(default_factory=dict)  # key -> [n_frames]: a FrameWatcher's values

    def __post_init__(self) -> None:
        for name in ("features", "per_frame"):
            object.__setattr__(self, name, MappingProxyType({k: readonly(v) for k, v in getattr(self, name).items()}))
        object.__setattr__(self, "picks", readonly(self.picks, np.int64))
        if self.times is not None:
            object.__setattr__(self, "times", readonly(self.times, np.float64))

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


Thumbnails = list[tuple[int, np.ndarray]]  # (frame, small uint8 RGB image)
Checkpoint = Callable[[Callable[[], CachedVideo]], None]  # called after each encoded batch with the prefix's maker


def _thumbnail(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    rows = np.linspace(0, frame.shape[0] - 1, height).round().astype(int)
    cols = np.linspace(0, frame.shape[1] - 1, width).round().astype(int)
    return frame[rows][:, cols]


def _input_size(encoder: FrameEncoder | WindowEncoder) -> tuple[int, int] | None:
    return (encoder.input_size, encoder.input_size) if encoder.input_size else None


def feature_entry(
    folder: str | os.PathLike[str],
    info: VideoInfo,
    encoder: FrameEncoder | WindowEncoder,
    sampling: SamplingConfig,
    n_thumbnails: int = 0,
) -> FeatureCache | None:
    """The cache entry of a sampling pass over `info`'s file in `folder`, keyed by the video's bytes, the sampling
    and the encoder's name, description and declared options; None for window encoders (they need the whole
    stream, so a pass cannot resume)."""
    if isinstance(encoder, WindowEncoder):
        return None
    enc = {"name": encoder.name, "description": describe(encoder), "stage": stage_key(encoder)}
    settings = {**sampling.to_dict(), "size": _input_size(encoder), "encoder": enc, "thumbnails": n_thumbnails}
    if sampling.reference_only:  # other picks: another entry (keys of full decoding stay as they were)
        settings["decode"] = "reference frames"
    return FeatureCache(folder, info.path, settings)


def sample_video(
    path: str | os.PathLike[str],
    encoder: FrameEncoder | WindowEncoder,
    sampling: SamplingConfig | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    n_thumbnails: int = 0,
    cache: FeatureCache | str | os.PathLike[str] | None = None,
    save_seconds: float = 60.0,
    watcher: FrameWatcher | None = None,
) -> tuple[SampledVideo, Thumbnails]:
    """Probe, sample and encode `path` in one pass over the file; features go under "features".

    `on_batch(steps_done, steps_expected)` reports progress. Returns the SampledVideo and up to `n_thumbnails`
    evenly spaced (frame, image) pairs. With a `cache` (a folder, or the `feature_entry` of these settings), a
    per-frame encoder's features are saved every `save_seconds`, on Ctrl-C or SIGTERM, and once complete; a later
    call with the same video and settings resumes from the saved prefix, or, when the pass was complete, returns
    without decoding at all. Window encoders need the whole stream and are not cached. A `watcher` sees every frame
    the pass decodes; its result, where it saw them all, is the video's `per_frame[watcher.key]`.
    """
    sampling = (sampling or SamplingConfig()).resolve()
    info = probe(path, count=False)  # the sampler counts the decoded frames itself
    if cache is not None and not isinstance(cache, FeatureCache):
        cache = feature_entry(cache, info, encoder, sampling, n_thumbnails)

    def run(resume: CachedVideo | None = None, checkpoint: Checkpoint | None = None) -> tuple[SampledVideo, Thumbnails]:
        return _sample_pass(info, encoder, sampling, on_batch, n_thumbnails, resume, checkpoint, watcher)

    return run() if cache is None else _cached_pass(cache, run, info, encoder, sampling, save_seconds)


class _Pass:
    """One pass's growing state after a resumed prefix: the picks decoded, features encoded, thumbnails kept."""

    def __init__(
        self, sampler: FrameSampler, info: VideoInfo, expected: int, n_thumbs: int, prefix: CachedVideo | None
    ):
        self.sampler, self.expected = sampler, expected
        self.every = max(1, expected // n_thumbs) if n_thumbs else 0
        self.thumb_w = max(2, round(THUMB_HEIGHT * info.width / info.height))
        self.picks: list[np.ndarray] = [prefix.picks] if prefix is not None else []
        self.parts: list[np.ndarray] = [prefix.features] if prefix is not None else []
        self.thumbs: Thumbnails = list(prefix.thumbnails) if prefix is not None else []

    def batches(self, on_batch: Callable[[int, int], None] | None) -> Iterator[np.ndarray]:
        """The decoded frames, batch by batch, keeping picks and thumbnails and reporting progress."""
        done = sum(len(p) for p in self.picks)
        for batch_picks, frames in prefetch(self.sampler):
            if self.every:
                self.thumbs.extend(
                    (int(batch_picks[i]), _thumbnail(frames[i], self.thumb_w, THUMB_HEIGHT))
                    for i in range(len(frames))
                    if (done + i) % self.every == 0
                )
            self.picks.append(batch_picks)
            done += len(batch_picks)
            yield frames
            if on_batch is not None:
                on_batch(done, self.expected)

    def prefix(self) -> CachedVideo:
        """The encoded prefix, for the cache."""
        n = sum(len(p) for p in self.parts)
        last = self.picks[len(self.parts) - 1][-1]
        return CachedVideo(
            np.concatenate(self.picks[: len(self.parts)]),
            np.asarray(self.sampler.times[:n]),
            np.concatenate(self.parts),
            thumbnails=tuple(t for t in self.thumbs if t[0] <= last),
        )


def _sample_pass(
    info: VideoInfo,
    encoder: FrameEncoder | WindowEncoder,
    sampling: SamplingConfig,
    on_batch: Callable[[int, int], None] | None,
    n_thumbnails: int,
    resume: CachedVideo | None,
    checkpoint: Checkpoint | None,
    watcher: FrameWatcher | None = None,
) -> tuple[SampledVideo, Thumbnails]:
    """The sampling stage: decode, sample and encode `info`'s file after a `resume` prefix (picks, times and
    features of an interrupted pass), every decoded frame shown to `watcher`; a frame encoder calls
    `checkpoint(prefix)` after each batch."""
    # A network on the CPU keeps the cores busy: one decoding thread beside it wastes less than FFmpeg's frame
    # threads competing with it (5-13 % faster in 4 of 4 paired runs, benchmarks/RESULTS.md).
    threads = 1 if str(getattr(encoder, "device", "cpu")).startswith("cpu") else 0
    start = (resume.picks, resume.times) if resume is not None else None
    sampler = sampling.sampler(info.path, size=_input_size(encoder), resume=start, threads=threads, watch=watcher)
    run = _Pass(sampler, info, sampling.expected_steps(info), n_thumbnails, resume)
    if isinstance(encoder, WindowEncoder):
        features = encode_batches(encoder, run.batches(on_batch))
    else:
        for frames in run.batches(on_batch):
            run.parts.append(check_features(encoder, encoder(frames)))
            if checkpoint is not None:
                checkpoint(run.prefix)
        if not run.parts:
            raise SemsumError(f"encoder {encoder.name}: the video yielded no sampled frames")
        features = np.concatenate(run.parts)
    video = SampledVideo(
        info,
        np.concatenate(run.picks),
        int(sampler.n_decoded),
        sampling,
        {"features": features},
        encoder.name,
        describe(encoder),
        np.asarray(sampler.times),
        _watched(watcher, int(sampler.n_decoded)),
    )
    return video, run.thumbs


def _watched(watcher: FrameWatcher | None, n_frames: int) -> dict[str, np.ndarray]:
    """A watcher's result, as `SampledVideo.per_frame`: empty where it saw not every frame (a resumed pass)."""
    found = watcher.result(n_frames) if watcher is not None else None
    return {watcher.key: found} if watcher is not None and found is not None else {}


class _Saver:
    """A pass's checkpoint into a cache entry: the prefix is saved every `every` seconds, and on `flush`."""

    def __init__(self, entry: FeatureCache, every: float):
        self.entry, self.every, self.saved_at = entry, every, time.monotonic()
        self.latest: Callable[[], CachedVideo] | None = None

    def __call__(self, prefix: Callable[[], CachedVideo]) -> None:
        self.latest = prefix
        if time.monotonic() - self.saved_at > self.every:
            self.flush()

    def flush(self) -> None:
        if self.latest is not None:
            self.entry.save(self.latest())
            self.saved_at = time.monotonic()


def _cached_pass(
    entry: FeatureCache,
    run: Callable[[CachedVideo | None, Checkpoint | None], tuple[SampledVideo, Thumbnails]],
    info: VideoInfo,
    encoder: FrameEncoder,
    sampling: SamplingConfig,
    save_seconds: float,
) -> tuple[SampledVideo, Thumbnails]:
    """The sampling pass `run` behind the cache `entry`: a complete entry instead of the pass, else the pass resumed
    from the entry's prefix, saved as it goes (`_Saver`), on an interrupt, and when complete."""
    done = entry.load()
    if done is not None and done.complete:
        features, made_by = {"features": done.features}, describe(encoder)
        video = SampledVideo(info, done.picks, done.n_frames, sampling, features, encoder.name, made_by, done.times)
        return video, list(done.thumbnails)
    if done is None or not len(done.picks):
        entry.remove()  # nothing to resume from: no stray arrays or stage results of an older pass stay
        done = None
    saver = _Saver(entry, save_seconds)
    try:
        video, thumbs = run(done, saver)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: keep what was computed, for the re-run
        saver.flush()
        raise
    except SemsumError:
        entry.remove()  # the file is broken: features of its first part are of no use
        raise
    entry.save(CachedVideo(video.picks, video.times, video.features["features"], video.n_frames, tuple(thumbs)))
    return video, thumbs
