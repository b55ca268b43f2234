"""Probe a video file and stream its sampled frames in bounded batches (PyAV / FFmpeg).

Sampling follows the benchmarks: every `stride`-th decoded frame (eccv16 uses 15, i.e. 2 fps at 30 fps), or a
target rate `fps` chosen from presentation timestamps so that variable-frame-rate files are sampled evenly
in time. Frame indices (`picks`) always count the video's frames from 0, which is what the eccv16 schema's
`picks`, `n_frames` and `change_points` mean. Every frame must be decoded anyway (inter-frame codecs), but
only the picked ones are converted to RGB, resized and rotated; except with `reference_only` (`summarize` when shot
detection reads the sampled features alone): H.264 and HEVC decoders then skip the frames no other frame refers to
(FFmpeg's `skip_frame = "NONREF"`: about half the frames of x264's defaults, 40-50 % of the decoding time), and each
pick is the decoded frame nearest to its place on the grid (benchmarks/RESULTS.md, "Decode less").

Rotation: phone videos store upright orientation as a display matrix; FFmpeg attaches it to each decoded
frame (`VideoFrame.rotation`, degrees counter-clockwise) and frames are rotated accordingly, so callers see
the picture as a player shows it.
"""

from __future__ import annotations

import bisect
import functools
import math
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from semsum.errors import SemsumError
from semsum.video.nearest import small_rgb

#: File suffixes taken for videos when a folder is scanned.
VIDEO_SUFFIXES = (".mp4", ".avi", ".webm", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".ogv")
#: A container's frame count is trusted when it agrees with duration x fps to within this fraction.
COUNT_TOLERANCE = 0.02
#: Decoders that honour `skip_frame = "NONREF"` by skipping whole frames (B-frames nothing refers to). VP8 and VP9 skip
#: only frames that update no reference (none in the clips measured), MPEG-4 part 2 only B-frames (rare, and packed
#: several to a packet in AVI, so packets do not count frames there): decoding them in full costs as much.
NONREF_CODECS = frozenset({"h264", "hevc"})
#: A sampler's first batch holds at most this many frames, so a network starts on it while the rest decodes.
FIRST_BATCH = 8


@dataclass(frozen=True)
class VideoInfo:
    """What the pipeline needs to know about a video file.

    `width`/`height` are the displayed size; `rotation` is the display rotation, degrees counter-clockwise
    in [0, 360), already applied to the frames this module returns. `n_frames_source` says where `n_frames` came
    from: "container" (the stream's frame count, consistent with its duration), "decoded" (counted by
    decoding every frame, used when the container has no count or one that disagrees with its duration), or
    "estimated" (duration x fps, only when asked for with `probe(..., count=False)`). `b_frames`: frames are
    decoded out of display order (B-frames), which H.264 and HEVC decoders can skip (`skips_nonref`).
    """

    path: Path
    fps: float
    n_frames: int
    duration: float
    width: int
    height: int
    rotation: int
    has_audio: bool
    codec: str
    n_frames_source: str
    time_base: float
    b_frames: bool = False
    container: str = ""  # FFmpeg's name of the container format ("mov,mp4,m4a,3gp,3g2,mj2", "h264" for a raw stream)

    @property
    def skips_nonref(self) -> bool:
        """Whether decoding only the reference frames (`FrameSampler(reference_only=True)`) skips any."""
        return skips_nonref(self.codec, self.b_frames, self.container)


def skips_nonref(codec: str, b_frames: bool, container: str) -> bool:
    """Whether decoding only the reference frames skips any: a `NONREF_CODECS` stream with B-frames, in a container
    with timestamps to count frames by (a raw stream has none)."""
    return codec in NONREF_CODECS and b_frames and container not in NONREF_CODECS


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise SemsumError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise SemsumError(f"{path}: empty file (0 bytes)")
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as e:
        raise SemsumError(f"{path}: not a readable video file ({_why(e)}): truncated, corrupt or not a video") from None
    if not container.streams.video:
        container.close()
        raise SemsumError(f"{path}: has no video stream")
    return container


def _why(e: Exception) -> str:
    return getattr(e, "strerror", None) or e.__class__.__name__


def _stream(container: av.container.InputContainer, threads: int = 0) -> av.video.stream.VideoStream:
    """The video stream, decoded by `threads` threads (0: FFmpeg's choice, frame and slice threads over the cores)."""
    stream = container.streams.video[0]
    stream.thread_type = "NONE" if threads == 1 else "AUTO"
    stream.codec_context.thread_count = threads
    return stream


def _rate(stream: av.video.stream.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _frames(path: Path, container: av.container.InputContainer, stream) -> Iterator[av.VideoFrame]:
    """Decode every frame, turning FFmpeg errors into one-line SemsumErrors."""
    return _guarded(path, container.decode(stream))


def _guarded(path: Path, frames: Iterator) -> Iterator:
    """`frames`, with FFmpeg errors turned into one-line SemsumErrors."""
    try:
        yield from frames
    except av.error.FFmpegError as e:
        raise SemsumError(f"{path}: decoding failed ({_why(e)}); the file may be truncated or corrupt") from None


def _reference_frames(container: av.container.InputContainer, stream, counted: list[int]) -> Iterator[tuple]:
    """(index, frame) of the frames an H.264/HEVC decoder produces with the others skipped (`NONREF`).

    A frame's index is its presentation time's rank among every packet's (one packet per frame in these codecs);
    it is final once a packet decoding at or after that time has been read, since decoding times increase and never
    pass presentation times. `counted` ends as the sorted timestamps of all packets: the video's frames.
    """
    stream.codec_context.skip_frame = "NONREF"
    pending: deque[av.VideoFrame] = deque()
    read_to = -math.inf
    for packet in container.demux(stream):
        if packet.pts is not None:
            bisect.insort(counted, packet.pts)
        flushing = packet.dts is None
        read_to = read_to if flushing else packet.dts
        pending.extend(packet.decode())
        while pending and (flushing or pending[0].pts <= read_to):
            frame = pending.popleft()
            yield bisect.bisect_left(counted, frame.pts), frame


def seek_anchor(
    path: Path, container: av.container.InputContainer, stream, at: float
) -> tuple[av.VideoFrame, Iterator[av.VideoFrame]] | None:
    """Seek to the keyframe before the frame presented at `at` seconds and decode up to that frame.

    Returns the frame and the decoder's iterator, positioned just after it (the caller knows the frame's index,
    e.g. from a pick), or None when the seek landed past it (a file with a broken index) or no frame is there.
    """
    tb = float(stream.time_base)
    half = 0.5 / (_rate(stream) or 25.0)
    container.seek(round(at / tb), stream=stream, backward=True, any_frame=False)
    decoded = _frames(path, container, stream)
    for frame in decoded:
        t = frame.pts * tb if frame.pts is not None else None
        if t is not None and t < at - half:
            continue  # from the keyframe up to the anchor
        return (frame, decoded) if t is not None and t <= at + half else None
    return None


def _duration(container: av.container.InputContainer, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return (container.duration or 0) / av.time_base


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(2.0, COUNT_TOLERANCE * b)


def _declared_count(container: av.container.InputContainer, stream) -> int | None:
    """The container's frame count if it has one that agrees with its duration x frame rate, else None."""
    n = int(stream.frames)
    return n if n > 0 and _close(n, _duration(container, stream) * _rate(stream)) else None


def probe(path: str | os.PathLike[str], exact: bool = False, count: bool = True) -> VideoInfo:
    """Frame rate, frame count, duration, displayed size, rotation and audio presence of a video file.

    Decodes only the first frame, unless the container's frame count is missing or inconsistent with its
    duration (or `exact`), in which case all frames are decoded and counted; with `count=False` (callers
    that decode everything anyway) such a count is estimated as duration x fps instead ("estimated").
    """
    path = Path(path)
    with _open(path) as container:
        stream = _stream(container)
        fps = _rate(stream)
        first = next(_frames(path, container, stream), None)
        if first is None:
            raise SemsumError(f"{path}: the video stream has no decodable frames")
        rotation = int(first.rotation) % 360
        duration = _duration(container, stream)
        n_frames, source = _declared_count(container, stream), "container"
        if n_frames is None and not exact and not count:
            n_frames, source = max(1, round(duration * fps)), "estimated"
        elif exact or n_frames is None:
            n_frames, source = 1 + sum(1 for _ in _frames(path, container, stream)), "decoded"
        if fps <= 0 and duration > 0:
            fps = n_frames / duration
        if duration <= 0 and fps > 0:
            duration = n_frames / fps
        width, height = first.width, first.height
        if rotation % 180:
            width, height = height, width
        return VideoInfo(
            path=path,
            fps=fps,
            n_frames=n_frames,
            duration=duration,
            width=width,
            height=height,
            rotation=rotation,
            has_audio=bool(container.streams.audio),
            codec=stream.codec_context.name,
            n_frames_source=source,
            time_base=float(stream.time_base or 0),
            b_frames=bool(stream.codec_context.has_b_frames),
            container=container.format.name,
        )


def displayed_size(frame: av.VideoFrame) -> tuple[int, int]:
    """(width, height) of a decoded frame as a player shows it, display rotation applied."""
    return (frame.height, frame.width) if round(frame.rotation / 90) % 2 else (frame.width, frame.height)


def to_rgb(frame: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
    """A decoded frame as uint8 RGB [H, W, 3], upright (display rotation applied), optionally resized.

    `size` is the displayed (width, height) wanted; scaling happens in FFmpeg before the rotation.
    """
    quarter = round(frame.rotation / 90) % 4
    if size is None:
        rgb = frame.to_ndarray(format="rgb24")
    else:
        w, h = size if quarter % 2 == 0 else (size[1], size[0])
        rgb = frame.to_ndarray(format="rgb24", width=w, height=h)
    return np.ascontiguousarray(np.rot90(rgb, k=quarter)) if quarter else rgb


class FrameSampler:
    """Iterate `(picks, frames)` batches: int64 [b] frame indices and uint8 RGB [b, H, W, 3] frames.

    Exactly one of `stride` (every stride-th decoded frame, starting at frame 0) and `fps` (the first frame at
    or after each multiple of 1/fps seconds from the first timestamp) applies; `stride=15` by default.
    After iteration, `n_decoded` is the number of frames the file actually decoded to; `times` holds each pick's
    presentation time in seconds (the stream's clock), which is what a later seek to that frame needs.

    `threads` decode (0: FFmpeg's choice; 1 when a network on the CPU needs the other cores, see `sample_video`).
    `resume` = (picks, times) of a prefix sampled before (an interrupted run): the file is sought to the prefix's
    last pick and sampling continues from there, so only later picks are yielded (and `times` starts with the
    prefix's). Should the seek not land on that pick (a broken index), the file is decoded from the start.

    `reference_only`: where the codec allows it (`NONREF_CODECS` with B-frames, in a container with timestamps),
    decode only the frames others refer to, and pick the one nearest to each point of the grid (a tie: the later),
    each frame once; `skips` says whether it applied. A resumed prefix is then decoded again from the start (cheaply)
    rather than sought. `nearest`: frames scaled to `size` by nearest sample (`semsum.video.nearest.small_rgb`),
    far cheaper than the default filtered scaling, for detectors reading every frame small (not for features).
    `watch(index, frame)` sees every frame (not with `skips`), so a detector reading them all shares this pass.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        stride: int | None = None,
        fps: float | None = None,
        batch_size: int = 32,
        size: tuple[int, int] | None = None,
        resume: tuple[np.ndarray, np.ndarray] | None = None,
        threads: int = 0,
        reference_only: bool = False,
        nearest: bool = False,
        watch: Callable[[int, av.VideoFrame], None] | None = None,
    ):
        if stride is not None and fps is not None:
            raise SemsumError("give either stride or fps, not both")
        if fps is None and stride is None:
            stride = 15
        if (stride is not None and stride < 1) or (fps is not None and not fps > 0) or batch_size < 1:
            raise SemsumError(f"invalid sampling: stride={stride}, fps={fps}, batch_size={batch_size}")
        self.path = Path(path)
        self.stride, self.fps, self.batch_size, self.size = stride, fps, batch_size, size
        self.n_decoded: int | None = None
        self.times: list[float] = []
        self.resume = resume if resume is not None and len(resume[0]) else None
        self.threads, self.reference_only = threads, reference_only
        if nearest and size is None:
            raise SemsumError("nearest sampling needs a frame size")
        self.convert = functools.partial(small_rgb if nearest else to_rgb, size=size)
        self.skips, self.watch = False, watch

    def _picked(self, container, stream) -> Iterator[tuple[int, av.VideoFrame]]:
        codec = stream.codec_context
        self.skips = self.reference_only and skips_nonref(codec.name, codec.has_b_frames > 0, container.format.name)
        return self._nearest(container, stream) if self.skips else self._every(container, stream)

    def _nearest(self, container, stream) -> Iterator[tuple[int, av.VideoFrame]]:
        """Picks among the reference frames (`_reference_frames`): each grid point's nearest, each frame once."""
        tb, counted = float(stream.time_base), []
        done = int(self.resume[0][-1]) if self.resume is not None else -1
        self.times = [float(t) for t in self.resume[1]] if self.resume is not None else []
        step, k, last = float(self.stride or 0) or 1 / self.fps, 0, -1
        start: float | None = None
        prev: tuple[int, av.VideoFrame, float] | None = None
        for index, frame in _guarded(self.path, _reference_frames(container, stream, counted)):
            start = frame.pts * tb if start is None else start
            here = (index, frame, float(index) if self.stride else frame.pts * tb - start)
            while here[2] >= k * step - 1e-9:  # this frame or the one before is the grid point's nearest
                best = prev if prev is not None and k * step - prev[2] < here[2] - k * step else here
                if best[0] > last:
                    last = best[0]
                    yield from self._keep(best, tb, done)
                k += 1
            prev = here
        self.n_decoded = len(counted)
        if prev is not None and prev[0] > last:  # a grid point after the last decoded frame, before the video's end
            end = float(len(counted) - 1) if self.stride else counted[-1] * tb - start
            if k * step <= end + 1e-9:
                yield from self._keep(prev, tb, done)

    def _keep(
        self, pick: tuple[int, av.VideoFrame, float], tb: float, done: int
    ) -> Iterator[tuple[int, av.VideoFrame]]:
        """Yield a pick (and record its time) unless a resumed prefix has it already."""
        if pick[0] > done:
            self.times.append(pick[1].pts * tb)
            yield pick[0], pick[1]

    def _every(self, container, stream) -> Iterator[tuple[int, av.VideoFrame]]:
        """Picks among every decoded frame, after a resumed prefix sought to its last pick."""
        rate = _rate(stream) or 25.0
        tb = float(stream.time_base) if stream.time_base else None
        start, next_time, index, done = None, 0.0, -1, -1
        decoded = _frames(self.path, container, stream)
        if self.resume is not None:
            picks, times = self.resume
            self.times, done = [float(t) for t in times], int(picks[-1])
            found = seek_anchor(self.path, container, stream, float(times[-1])) if tb else None
            if found is not None:  # continue right after the prefix's last pick
                decoded, index, start = found[1], done, float(times[0])
                next_time = self._next_time(float(times[-1]) - start) if self.fps else 0.0
            else:
                container.seek(0, stream=stream, backward=True, any_frame=False)
                decoded = _frames(self.path, container, stream)
        for frame in decoded:
            index += 1
            if self.watch is not None:
                self.watch(index, frame)
            t = frame.pts * tb if frame.pts is not None and tb else index / rate
            if self.stride is not None:
                picked = index % self.stride == 0
            else:
                start = t if start is None else start
                picked = t - start >= next_time - 1e-9
                if picked:
                    next_time = self._next_time(t - start)
            if picked and index > done:
                self.times.append(t)
                yield index, frame
        self.n_decoded = index + 1

    def _next_time(self, elapsed: float) -> float:
        """The next target of the fps grid after a pick `elapsed` seconds from the first frame; targets already
        passed (a gap in a variable-frame-rate file) are skipped, keeping the grid."""
        return (math.floor(elapsed * self.fps + 1e-9) + 1) / self.fps

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        with _open(self.path) as container:
            stream = _stream(container, self.threads)
            picks, frames, size = [], [], min(self.batch_size, FIRST_BATCH)
            for index, frame in self._picked(container, stream):
                picks.append(index)
                frames.append(self.convert(frame))
                if len(picks) == size:
                    yield np.asarray(picks, dtype=np.int64), np.stack(frames)
                    picks, frames, size = [], [], self.batch_size
            if not self.n_decoded:
                raise SemsumError(f"{self.path}: the video stream has no decodable frames")
            declared = _declared_count(container, stream)
            if declared is not None and not _close(self.n_decoded, declared):
                raise SemsumError(
                    f"{self.path}: decoded only {self.n_decoded} of the {declared} frames the container declares;"
                    " the file is truncated or corrupt"
                )
            if picks:
                yield np.asarray(picks, dtype=np.int64), np.stack(frames)


#: Sampled frames of a file in batches of at most `batch_size`, memory bounded: the `FrameSampler` itself, under the
#: name the callers iterate it by (one signature, one set of defaults).
iter_sampled_frames = FrameSampler
