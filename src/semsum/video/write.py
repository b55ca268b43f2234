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
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType

from semsum.atomic import atomic_path
from semsum.errors import SemsumError
from semsum.prefetch import prefetch
from semsum.video.audio_spans import SEEK_GAP_SECONDS, copy_audio
from semsum.video.cutcost import Work, full_work, smart_work, why_not_smart
from semsum.video.decode import _frames, _open, _rate, _stream, _why, displayed_size, seek_anchor, to_rgb
from semsum.video.smartcut import (
    CopyFailed,
    GopIndex,
    PacketSink,
    cut_run,
    edge_config,
    edge_encoder,
    index_gops,
)

AAC_FRAME = 1024  # samples per AAC frame
# x264 options of a summary's full re-encode, over Mp4Writer's: ultrafast with deblocking, CABAC, 8x8 transforms and
# scene cuts put back (without the last, a unit's first frame was coded from the previous unit's last: 1.5 dB below
# superfast's worst frame). Against superfast (sessions 8-10) it encodes in 0.53-0.59 of the time, at a higher mean
# and lowest PSNR, files larger; superfast had 22-28 % less CPU than veryfast (benchmarks/RESULTS.md, "encoder
# settings", sessions 8 and 11).
SUMMARY_X264 = {"preset": "ultrafast", "crf": "25", "x264-params": "deblock=1:cabac=1:8x8dct=1:scenecut=40"}


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
        copy_of: av.VideoStream | None = None,
        options: dict[str, str] | None = None,
    ):
        """With `copy_of`, the video stream takes that stream's compressed packets (smart cut) instead of frames;
        `options`: more encoder options (e.g. x264's tune), over `crf` and `preset`."""
        self.width, self.height = width - width % 2, height - height % 2
        if self.width < 2 or self.height < 2:
            raise SemsumError(f"{path}: frame size {width}x{height} too small to encode")
        self.container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
        rate = Fraction(fps).limit_denominator(100_000)
        self.frame_time = 1 / rate
        if copy_of is not None:
            self.video = self.container.add_stream_from_template(copy_of)
        else:
            x264 = {"crf": str(crf), "preset": preset, **(options or {})}
            self.video = self.container.add_stream("libx264", rate=rate, options=x264)
            self.video.width, self.video.height, self.video.pix_fmt = self.width, self.height, "yuv420p"
        self.encoding = copy_of is None
        self.n_video = 0
        self.audio = None
        if audio_rate:
            # FFmpeg's constant-quantizer coder: its documented choice at 128 kb/s, and half the time of its default
            # (two-loop search): 0.2 s less of a 6 s summary's 1.8 s write (benchmarks/RESULTS.md, session 11)
            options = {"aac_coder": "fast"}
            self.audio = self.container.add_stream("aac", rate=audio_rate, layout=audio_layout, options=options)
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

    def add_chapters(self, chapters: Sequence[tuple[int, int, str]]) -> None:
        """Chapter marks from (first frame, frame after the last, title) in this file's frames."""
        self.container.set_chapters(
            [
                {"id": i + 1, "start": a, "end": b, "time_base": self.frame_time, "metadata": {"title": title}}
                for i, (a, b, title) in enumerate(chapters)
            ]
        )

    def close(self) -> None:
        if self.encoding:
            self.container.mux(self.video.encode())
        if self.audio is not None:
            self._drain(final=True)
            self.container.mux(self.audio.encode())
        self.container.close()


@dataclass(frozen=True)
class SummaryVideo:
    """What `write_summary` wrote: frames and seconds of video, whether audio was kept, how many frames were copied
    as compressed packets (smart cut), why the writer re-encoded every frame when it did, and the two writers'
    work as estimated before choosing (smart cut, full re-encode; None when the smart cut was not possible)."""

    path: Path
    n_frames: int
    duration: float
    has_audio: bool
    copied: int = 0
    why_encoded: str = ""
    estimates: tuple[Work, Work] | None = None

    def report(self) -> dict[str, object]:
        """The writer's part of scores.json: which writer, frames copied and re-encoded, and why."""
        return {
            "writer": "smart cut" if self.copied else "full re-encode",
            "frames_copied": self.copied,
            "frames_encoded": self.n_frames - self.copied,
            "why_encoded": self.why_encoded,
            "estimates": None
            if self.estimates is None
            else {name: asdict(w) for name, w in zip(("smart_cut", "full_re_encode"), self.estimates, strict=True)},
        }


def write_summary(
    video: str | os.PathLike[str],
    out: str | os.PathLike[str],
    units: Sequence[tuple[int, int]] | np.ndarray,
    progress: Callable[[int], None] | None = None,
    anchors: tuple[np.ndarray, np.ndarray] | None = None,
    smart_cut: bool | None = None,
) -> SummaryVideo:
    """Write the frames of the inclusive [start, end] frame `units` of `video` (in order) to `out` (mp4), with one
    chapter per unit titled with its source time.

    An H.264 source whose packets allow it is smart-cut (`semsum.video.smartcut`: whole GOPs copied, only the
    edges re-encoded) where that is estimated cheaper than a full re-encode (`semsum.video.cutcost`); any other is
    decoded and re-encoded. There, with `anchors` (frame indices and their presentation times in seconds, e.g. the
    picks of a sampling pass), only the selected stretches are decoded: for each one the file is sought to the
    keyframe before the last anchor at or before its start, and frames are counted from that anchor. Without, every
    frame is decoded.
    `progress`, if given, is called with the number of frames written so far. `smart_cut=False` re-encodes every
    frame whatever the source, `True` smart-cuts wherever possible whatever the cost (both for comparison).
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
        try:
            index = _gop_index(src) if smart_cut is not False else "smart cut turned off"
            estimates = _estimates(index, keep, stream, anchors) if isinstance(index, GopIndex) else None
            why = index if isinstance(index, str) else why_not_smart(*estimates, forced=smart_cut) if estimates else ""
            if not why:
                try:
                    return SummaryVideo(
                        Path(out),
                        *_write_copied(src, tmp, container, stream, index, keep, spans, progress),
                        estimates=estimates,
                    )
                except CopyFailed as e:
                    why = str(e)
            written = _write_encoded(src, tmp, container, stream, keep, spans, progress, anchors)
        except av.error.FFmpegError as e:
            raise SemsumError(f"{out}: writing the summary failed ({_why(e)})") from None
    return SummaryVideo(Path(out), *written, copied=0, why_encoded=why, estimates=estimates)


def _runs(keep: np.ndarray) -> list[tuple[int, int]]:
    """The inclusive [first, last] frames of each run of consecutive kept frames."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    return [(int(a), int(b) - 1) for a, b in edges.reshape(-1, 2)]


def _estimates(
    index: GopIndex, keep: np.ndarray, stream: av.VideoStream, anchors: tuple[np.ndarray, np.ndarray] | None
) -> tuple[Work, Work] | None:
    """The smart cut's and the full re-encode's work on the kept frames (None: none of them is in the video)."""
    runs = _runs(keep[: index.n_frames])
    if not runs:
        return None
    gap = SEEK_GAP_SECONDS * (_rate(stream) or 25.0)
    return smart_work(index, runs), full_work(index, runs, anchors[0] if anchors is not None else None, gap)


def _gop_index(src: Path) -> GopIndex | str:
    """The GOP index of the video, read through its own container (the writer's stays at the start)."""
    with _open(src) as container:
        return index_gops(container, _stream(container))


def _audio_layout(container: av.container.InputContainer) -> tuple[int | None, str]:
    audio_in = container.streams.audio[0] if container.streams.audio else None
    return (audio_in.rate, "mono" if audio_in.channels == 1 else "stereo") if audio_in is not None else (None, "mono")


def _write_encoded(
    src: Path, tmp: Path, container: av.container.InputContainer, stream: av.VideoStream, keep: np.ndarray,
    spans: np.ndarray, progress: Callable[[int], None] | None, anchors: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[int, float, bool]:  # fmt: skip
    """Decode the kept frames and encode them: (frames, seconds, audio kept)."""
    rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    audio_rate, layout = _audio_layout(container)
    runs: list[tuple[float, int]] = []  # (start second, frames) of each kept run
    times: dict[int, float] = dict.fromkeys(spans[:, 0].tolist(), 0.0)  # source second of each unit's start
    writer = None
    try:
        decoded = (
            enumerate(_frames(src, container, stream))
            if anchors is None
            else _seek_frames(src, container, stream, keep, *anchors)
        )
        with closing(prefetch(decoded, depth=8)) as frames:  # decoding overlaps with encoding
            for frame in _kept(frames, keep, stream.time_base, float(rate), runs, times):
                if writer is None:
                    writer = Mp4Writer(tmp, rate, *displayed_size(frame), audio_rate, layout, options=SUMMARY_X264)
                writer.add_frame(frame)
                if progress is not None and writer.n_video % 50 == 0:
                    progress(writer.n_video)
        if writer is None:
            raise SemsumError(f"{src}: the selected shots lie beyond the video's last frame")
        return _finish(src, writer, keep, spans, times, runs, seek=anchors is not None)
    finally:
        if writer is not None:
            writer.container.close()


def _write_copied(
    src: Path, tmp: Path, container: av.container.InputContainer, stream: av.VideoStream, index: GopIndex,
    keep: np.ndarray, spans: np.ndarray, progress: Callable[[int], None] | None,
) -> tuple[int, float, bool, int]:  # fmt: skip
    """Smart-cut the kept frames of an H.264 source: (frames, seconds, audio kept, frames copied)."""
    keep = keep[: index.n_frames]
    run_spans = _runs(keep)
    if not run_spans:
        raise SemsumError(f"{src}: the selected shots lie beyond the video's last frame")
    seconds = index.pts * float(stream.time_base)
    runs = [(float(seconds[a]), b + 1 - a) for a, b in run_spans]
    times = {int(s): float(seconds[s]) for s in spans[:, 0] if s < index.n_frames}
    audio_rate, layout = _audio_layout(container)
    writer = Mp4Writer(
        tmp, 1 / (index.tick * stream.time_base), stream.width, stream.height, audio_rate, layout, copy_of=stream
    )
    try:
        sink = PacketSink(writer, index, stream.time_base)
        writer.video.codec_context.extradata = index.config.merged(
            edge_config(edge_encoder(stream, index), index)
        ).to_bytes()
        for s, e in run_spans:
            base = writer.n_video
            for done in cut_run(container, stream, index, (s, e), base, sink):
                if progress is not None:
                    progress(base + done)
            writer.n_video = base + e + 1 - s
        return (*_finish(src, writer, keep, spans, times, runs, seek=True), sink.copied)
    finally:
        writer.container.close()


def _finish(
    src: Path, writer: Mp4Writer, keep: np.ndarray, spans: np.ndarray, times: dict[int, float],
    runs: list[tuple[float, int]], seek: bool,
) -> tuple[int, float, bool]:  # fmt: skip
    """Audio of the runs, a chapter per unit, close: (frames, seconds, audio kept)."""
    fps = 1 / float(writer.frame_time)
    if writer.audio is not None:
        copy_audio(src, writer, runs, fps, seek=seek)
    writer.add_chapters(_chapters(keep, spans, times, fps, writer.n_video))
    writer.close()
    return writer.n_video, writer.n_video / fps, writer.audio is not None


def _chapters(
    keep: np.ndarray, spans: np.ndarray, times: dict[int, float], fps: float, written: int
) -> list[tuple[int, int, str]]:
    """(first frame, frame after the last, source time as title) in the summary of each unit that was written."""
    before = np.concatenate([[0], np.cumsum(keep)])  # kept frames before each index
    marks = []
    for s, e in sorted(spans.tolist()):
        a, b = int(before[min(s, len(keep))]), min(int(before[min(e + 1, len(keep))]), written)
        if a < b and s in times:
            marks.append((a, b, f"{_clock(times[s])}-{_clock(times[s] + (b - a) / fps)}"))
    return marks


def _clock(seconds: float) -> str:
    """00:01:23.400 for 83.4 s."""
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _kept(
    decoded: Iterator[tuple[int, av.VideoFrame]],
    keep: np.ndarray,
    tb: Fraction | None,
    fps: float,
    runs: list,
    times: dict[int, float],
) -> Iterator[av.VideoFrame]:
    """The frames of (index, frame) pairs whose index `keep` marks, up to its end; appends to `runs` the (start
    second, frames) of each run of consecutive kept frames, the start read from the frame's timestamp, and sets
    the second of each index `times` holds."""
    for index, frame in decoded:
        if index >= len(keep):
            return
        if not keep[index]:
            continue
        second = float(frame.pts * tb) if frame.pts is not None and tb else index / fps
        if index in times:
            times[index] = second
        if index == 0 or not keep[index - 1]:
            runs.append((second, 0))
        runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        yield frame


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
