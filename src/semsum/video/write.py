"""Write H.264/AAC mp4 files: the summary video of selected units, and generated sample videos.

The summary keeps the original frame rate and the frames of the selected units (frame ranges) in order; when the
input has audio, the audio of exactly those units (the same time spans) is re-encoded to AAC beside it. Odd frame
sizes are cropped by one pixel to the even size H.264 with 4:2:0 chroma needs. Output is written through
`atomic_path`, so a failure never leaves a half-written file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType

from semsum.atomic import atomic_path
from semsum.errors import SemsumError
from semsum.prefetch import prefetch
from semsum.video.decode import _frames, _open, _rate, _stream, _why, displayed_size, seek_anchor, to_rgb

AAC_FRAME = 1024  # samples per AAC frame


class Mp4Writer:
    """Encode uint8 RGB frames (libx264, yuv420p) and optional float audio (AAC) into an open mp4 file."""

    def __init__(
        self,
        path: Path,
        fps: float | Fraction,
        width: int,
        height: int,
        audio_rate: int | None = None,
        audio_layout: str = "stereo",
        crf: int = 23,
        preset: str = "veryfast",
    ):
        self.width, self.height = width - width % 2, height - height % 2
        if self.width < 2 or self.height < 2:
            raise SemsumError(f"{path}: frame size {width}x{height} too small to encode")
        self.container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
        rate = Fraction(fps).limit_denominator(100_000)
        self.frame_time = 1 / rate
        self.video = self.container.add_stream("libx264", rate=rate, options={"crf": str(crf), "preset": preset})
        self.video.width, self.video.height, self.video.pix_fmt = self.width, self.height, "yuv420p"
        self.n_video = 0
        self.audio = None
        if audio_rate:
            self.audio = self.container.add_stream("aac", rate=audio_rate, layout=audio_layout)
            self.fifo = av.AudioFifo()
            self.layout, self.n_audio = audio_layout, 0

    def add_frame(self, frame: np.ndarray | av.VideoFrame) -> None:
        """Append one frame: uint8 RGB [H, W, 3], or a decoded frame, which is encoded as it is (no round trip
        through RGB) when it is already upright 4:2:0 of the output size."""
        if isinstance(frame, av.VideoFrame) and (
            frame.rotation or frame.format.name != "yuv420p" or (frame.width, frame.height) != (self.width, self.height)
        ):
            frame = to_rgb(frame)
        if isinstance(frame, np.ndarray):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[: self.height, : self.width]), format="rgb24")
        # A decoded frame's own timing and picture type (a source keyframe) must not steer the encoder.
        frame.pts, frame.time_base, frame.pict_type = self.n_video, self.frame_time, PictureType.NONE
        self.n_video += 1
        self.container.mux(self.video.encode(frame))

    def add_audio(self, samples: np.ndarray) -> None:
        """Append float32 planar samples [channels, n] at the stream's rate."""
        if self.audio is None:
            raise SemsumError("this writer has no audio stream")
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=self.layout)
        frame.sample_rate = self.audio.rate
        frame.pts = None
        self.fifo.write(frame)
        self._drain(final=False)

    def _drain(self, final: bool) -> None:
        while self.fifo.samples >= AAC_FRAME or (final and self.fifo.samples):
            frame = self.fifo.read(min(AAC_FRAME, self.fifo.samples))
            frame.pts = self.n_audio
            self.n_audio += frame.samples
            self.container.mux(self.audio.encode(frame))

    def close(self) -> None:
        self.container.mux(self.video.encode())
        if self.audio is not None:
            self._drain(final=True)
            self.container.mux(self.audio.encode())
        self.container.close()


@dataclass(frozen=True)
class SummaryVideo:
    """What `write_summary` wrote: frames and seconds of video, and whether audio was kept."""

    path: Path
    n_frames: int
    duration: float
    has_audio: bool


def write_summary(
    video: str | os.PathLike[str],
    out: str | os.PathLike[str],
    units: Sequence[tuple[int, int]] | np.ndarray,
    progress: Callable[[int], None] | None = None,
    anchors: tuple[np.ndarray, np.ndarray] | None = None,
) -> SummaryVideo:
    """Write the frames of the inclusive [start, end] frame `units` of `video` (in order) to `out` (mp4).

    With `anchors` (frame indices and their presentation times in seconds, e.g. the picks of a sampling pass),
    only the selected stretches are decoded: for each one the file is sought to the keyframe before the last
    anchor at or before its start, and frames are counted from that anchor. Without, every frame is decoded.
    `progress`, if given, is called with the number of frames written so far.
    """
    src = Path(video)
    spans = np.asarray(units, dtype=np.int64).reshape(-1, 2)
    if len(spans) == 0:
        raise SemsumError(f"{src}: no units selected, nothing to write")
    keep = np.zeros(int(spans[:, 1].max()) + 1, dtype=bool)
    for s, e in spans:
        keep[s : e + 1] = True
    with atomic_path(out) as tmp, _open(src) as container:
        stream = _stream(container)
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        audio_in = container.streams.audio[0] if container.streams.audio else None
        layout = "mono" if audio_in is not None and audio_in.channels == 1 else "stereo"
        runs: list[tuple[float, int]] = []  # (start second, frames) of each kept run
        writer = None
        try:
            decoded = (
                enumerate(_frames(src, container, stream))
                if anchors is None
                else _seek_frames(src, container, stream, keep, *anchors)
            )
            with closing(prefetch(decoded, depth=8)) as frames:  # decoding overlaps with encoding
                for frame in _kept(frames, keep, stream.time_base, float(rate), runs):
                    if writer is None:
                        audio_rate = audio_in.rate if audio_in is not None else None
                        writer = Mp4Writer(tmp, rate, *displayed_size(frame), audio_rate, layout)
                    writer.add_frame(frame)
                    if progress is not None and writer.n_video % 50 == 0:
                        progress(writer.n_video)
            if writer is None:
                raise SemsumError(f"{src}: the selected shots lie beyond the video's last frame")
            if writer.audio is not None:
                _copy_audio(src, writer, runs, float(rate), seek=anchors is not None)
            writer.close()
        except av.error.FFmpegError as e:
            raise SemsumError(f"{out}: writing the summary failed ({_why(e)})") from None
        finally:
            if writer is not None:
                writer.container.close()
    return SummaryVideo(Path(out), writer.n_video, writer.n_video / float(rate), writer.audio is not None)


def _kept(
    decoded: Iterator[tuple[int, av.VideoFrame]], keep: np.ndarray, tb: Fraction | None, fps: float, runs: list
) -> Iterator[av.VideoFrame]:
    """The frames of (index, frame) pairs whose index `keep` marks, up to its end; appends to `runs` the (start
    second, frames) of each run of consecutive kept frames, the start read from the frame's timestamp."""
    for index, frame in decoded:
        if index >= len(keep):
            return
        if not keep[index]:
            continue
        if index == 0 or not keep[index - 1]:
            runs.append((float(frame.pts * tb) if frame.pts is not None and tb else index / fps, 0))
        runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        yield frame


SEEK_GAP_SECONDS = 5.0  # a stretch starting sooner than this after the last one is reached by decoding on
AUDIO_PREROLL_SECONDS = 0.2  # audio decoded before a sought span and dropped: the codec's overlap is then right


def _seek_frames(
    src: Path, container: av.container.InputContainer, stream, keep: np.ndarray, picks: np.ndarray, times: np.ndarray
) -> Iterator[tuple[int, av.VideoFrame]]:
    """(index, frame) of the frames of the kept stretches, seeking to each instead of decoding the whole file.

    Frame indices count decoded frames from 0; after a seek they are counted from the anchor (a pick whose index
    and time are known), which the decoder reaches from the preceding keyframe. Should a seek land past its anchor
    (a file with a broken index), that stretch is reached by decoding from the start instead.
    """
    gap = SEEK_GAP_SECONDS * (_rate(stream) or 25.0)
    starts = np.flatnonzero(keep & ~np.concatenate([[False], keep[:-1]]))
    index, decoded = -1, None
    for start in starts:
        if start <= index:
            continue  # already reached by decoding on
        if decoded is None or start - index > gap:
            k = max(int(np.searchsorted(picks, start, side="right")) - 1, 0)
            found = seek_anchor(src, container, stream, float(times[k]))
            if found is None:  # landed past the anchor: count from the first frame instead
                container.seek(0, stream=stream, backward=True, any_frame=False)
                decoded, index = _frames(src, container, stream), -1
            else:
                frame, decoded = found
                index = int(picks[k])
                yield index, frame
        for frame in decoded:
            index += 1
            yield index, frame
            if index >= len(keep) - 1 or (index >= start and not keep[index]):
                break


class _AudioSpans:
    """Fills sample windows [a, b) of the input's audio clock, in order, into a writer's audio stream: from blocks
    of decoded samples, with silence where the blocks leave a gap, so sound and picture stay in sync shot by shot."""

    def __init__(self, writer: Mp4Writer, windows: list[tuple[int, int]]):
        self.writer, self.windows = writer, windows
        self.channels = 1 if writer.layout == "mono" else 2
        self.w, self.filled = 0, 0  # current window, samples of it written so far

    @property
    def done(self) -> bool:
        return self.w >= len(self.windows)

    @property
    def need(self) -> int:
        """The input sample index wanted next."""
        return self.windows[self.w][0] + self.filled

    def feed(self, block: np.ndarray, at: int) -> None:
        """Write what the windows take of `block` [channels, n], whose first sample is input sample `at`."""
        while not self.done:
            a, b = self.windows[self.w]
            lo = max(a + self.filled, at)
            if lo >= at + block.shape[1]:
                return
            if lo > a + self.filled:  # a gap before this block: silence
                self._silence(lo - a - self.filled)
            hi = min(b, at + block.shape[1])
            self.writer.add_audio(block[:, lo - at : hi - at])
            self.filled = hi - a
            if hi < b:
                return
            self.w, self.filled = self.w + 1, 0

    def pad(self) -> None:
        """Silence for whatever the windows still lack (the audio ended or broke before them)."""
        for a, b in self.windows[self.w :]:
            self._silence(b - a - self.filled)
            self.filled = 0
        self.w = len(self.windows)

    def _silence(self, n: int) -> None:
        self.writer.add_audio(np.zeros((self.channels, n), np.float32))
        self.filled += n


def _copy_audio(src: Path, writer: Mp4Writer, runs: list[tuple[float, int]], fps: float, seek: bool) -> None:
    """Append, for each (start second, n video frames) run, exactly that span of the input's audio.

    Streams the audio (memory stays bounded); spans the audio does not cover are padded with silence so
    sound and picture stay in sync shot by shot. With `seek`, a span more than `SEEK_GAP_SECONDS` ahead is reached
    by seeking to `AUDIO_PREROLL_SECONDS` before it (the decoder's overlap with the frame before is then in place),
    not by decoding the audio between.
    """
    sr = writer.audio.rate
    spans = _AudioSpans(writer, [(round(t * sr), round(t * sr) + round(n / fps * sr)) for t, n in runs])
    resampler = av.AudioResampler(format="fltp", layout=writer.layout, rate=sr)
    position = None  # input sample index of the next resampled sample
    with _open(src) as container:
        astream = container.streams.audio[0]

        def start_at(seconds: float) -> tuple[Iterator[av.AudioFrame], av.AudioResampler]:
            """Decoding (and a fresh resampler) from the audio frame at or before `seconds`."""
            container.seek(round(seconds / float(astream.time_base)), stream=astream, backward=True)
            return container.decode(astream), av.AudioResampler(format="fltp", layout=writer.layout, rate=sr)

        frames, here, sought = container.decode(astream), 0, False  # here: at least where decoding is
        try:
            while not spans.done:
                need = spans.need
                if seek and need - (here if position is None else position) > SEEK_GAP_SECONDS * sr:
                    at = max(need / sr - AUDIO_PREROLL_SECONDS, 0.0)
                    (frames, resampler), position, here, sought = start_at(at), None, round(at * sr), True
                frame = next(frames, None)
                if frame is None:
                    break
                if position is None:
                    position = round(float(frame.pts * frame.time_base) * sr) if frame.pts is not None else 0
                    if sought and position > need:  # landed past the window (a coarse index): decode through
                        (frames, resampler), position, here, seek, sought = start_at(0.0), None, 0, False, False
                        continue
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(spans.channels, -1)
                    spans.feed(block, position)
                    position += block.shape[1]
        except av.error.FFmpegError:
            pass  # audio damaged near the end: keep what decoded; silence pads the rest
    spans.pad()
