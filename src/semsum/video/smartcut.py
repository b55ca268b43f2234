"""Smart cut: copy the compressed packets of the whole GOPs inside each selected span, re-encode only the frames
at the span's edges (the practice of LosslessCut and of ffmpeg users), so a summary costs little more than a remux.

A GOP is copied only where the source allows it, all checked from the packets before anything is written:
- the video is H.264 (avcC in the track: mp4, mov, Matroska), 8-bit 4:2:0, upright, even-sized, of a profile x264
  writes (Baseline, Main, High);
- every packet has timestamps, presentation times are distinct and a whole number of one frame duration apart
  (constant rate), decode times increase, no packet is marked to discard (edit lists) or corrupt;
- a GOP starts at an IDR frame and is closed: the packets before its keyframe in decode order show exactly the
  frames before it (no leading B-frames reaching into the previous GOP).
Anything else returns the reason, and the caller re-encodes every frame as before. The edges are encoded by libx264
with the source's profile under parameter-set ids the source does not use, both sets listed in the track's avcC, so
the decoder meets an IDR and the sets it was coded with at every switch (no mismatched SPS/PPS). Output timestamps are
rebuilt at a constant rate: decode times count packets, presentation times count frames, both monotonic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.video.frame import PictureType

from semsum.video.h264 import (
    NAL_IDR,
    NAL_PPS,
    NAL_SPS,
    AvcConfig,
    annexb_units,
    disposable,
    length_prefixed_units,
    nal_type,
    param_set_id,
    parse_avcc,
    to_length_prefixed,
)

PROFILES = {66: "baseline", 77: "main", 100: "high"}  # avcC profile -> x264's name for it
# x264 for the re-encoded edges: against veryfast at crf 16, about a third less CPU, the lowest PSNR within a dB
# (41.7-53 dB on the test clips, >= 40), summaries 12-66 % larger (benchmarks/RESULTS.md, session 9)
EDGE_CRF = 18
PRESET = "superfast"


class CopyFailed(Exception):
    """The packets disagreed with the plan while writing (the caller re-encodes everything instead)."""


@dataclass(frozen=True)
class GopIndex:
    """The video's packets: presentation time of display frame i, the clean GOP starts and the timing to rebuild."""

    pts: np.ndarray  # ascending; frame i of the video is shown at pts[i] (stream ticks)
    cuts: np.ndarray  # display indices where a closed, IDR-started GOP begins, then the frame count
    ends: np.ndarray  # display indices before which a copy may end (a clean prefix in decode order), then the count
    tick: int  # one frame's duration in stream ticks
    delay: int  # how many packets at most a frame is decoded after its display position
    config: AvcConfig

    @property
    def n_frames(self) -> int:
        return len(self.pts)

    def frame_of(self, pts: int | None) -> int:
        """The display index of the frame or packet shown at `pts`."""
        i = int(np.searchsorted(self.pts, pts)) if pts is not None else len(self.pts)
        if i >= len(self.pts) or self.pts[i] != pts:
            raise CopyFailed(f"a packet at pts {pts} is not in the index")
        return i


def index_gops(container: av.container.InputContainer, stream: av.VideoStream) -> GopIndex | str:
    """The GOP index of `stream` (one demux pass, no decoding), or why its packets cannot be copied into an mp4."""
    why = _unsupported(stream)
    if why:
        return why
    config = parse_avcc(stream.codec_context.extradata)
    if config is None:
        return "the H.264 track has no avcC record (Annex B source)"
    if config.profile not in PROFILES:
        return f"H.264 profile {config.profile}, not one x264 writes here (Baseline, Main, High)"
    pts, dts, idr = [], [], []
    container.seek(0, stream=stream, backward=True, any_frame=False)
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        if packet.pts is None or packet.dts is None or packet.is_discard or packet.is_corrupt:
            return "a packet without timestamps, or marked to discard or corrupt"
        pts.append(packet.pts)
        dts.append(packet.dts)
        idr.append(packet.is_keyframe and _is_idr(bytes(packet), config.length_size))
    container.seek(0, stream=stream, backward=True, any_frame=False)
    first = next(container.decode(stream), None)
    if first is None or first.rotation:
        return "the video is stored rotated (the summary is written upright)"
    return _timing(np.asarray(pts, np.int64), np.asarray(dts, np.int64), np.asarray(idr, bool), config)


def _unsupported(stream: av.VideoStream) -> str | None:
    cc = stream.codec_context
    if cc.name != "h264":
        return f"the video is {cc.name}, not H.264"
    if stream.format is None or stream.format.name != "yuv420p":
        return f"pixel format {stream.format.name if stream.format else 'unknown'}, not 8-bit 4:2:0"
    if cc.width % 2 or cc.height % 2:
        return f"odd frame size {cc.width}x{cc.height}"
    return None


def _is_idr(data: bytes, length_size: int) -> bool:
    return any(nal_type(u) == NAL_IDR for u in length_prefixed_units(data, length_size) if u)


def _timing(pts: np.ndarray, dts: np.ndarray, idr: np.ndarray, config: AvcConfig) -> GopIndex | str:
    """The index from the packets' timestamps (decode order), or why they are too odd to copy."""
    if len(pts) < 2 or not np.all(np.diff(dts) > 0):
        return "decode timestamps that do not increase"
    shown = np.sort(pts)
    steps = np.diff(shown)
    tick = int(np.median(steps))
    if tick <= 0 or np.any(steps != tick):
        return "variable frame timing (presentation times not a constant step apart)"
    display = np.searchsorted(shown, pts)  # display index of each packet, in decode order
    order = np.arange(len(pts))
    # Packet j ends a clean prefix when the packets before it show exactly frames 0..j-1: none of them refers to a
    # frame shown later, so a copy may stop there (a B-frame's forward reference is decoded before it).
    clean = np.maximum.accumulate(np.concatenate([[-1], display[:-1]])) == order - 1
    starts = clean & idr & (display == order)
    if not starts[0]:
        return "the first packet does not start a closed GOP"
    ends = np.concatenate([order[clean], [len(pts)]])
    return GopIndex(
        shown, np.concatenate([order[starts], [len(pts)]]), ends, tick, int(np.max(order - display)), config
    )


def edge_encoder(stream: av.VideoStream, index: GopIndex) -> av.CodecContext:
    """An open libx264 encoder for the re-encoded edges: the source's profile and size, parameter-set ids the
    source does not use, its sets in the extradata (global header) rather than in the packets."""
    used = {param_set_id(unit) for unit in index.config.sps + index.config.pps}
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = stream.codec_context.width, stream.codec_context.height, "yuv420p"
    enc.time_base = Fraction(index.tick) * stream.time_base
    enc.framerate = 1 / enc.time_base
    enc.flags |= av.codec.context.Flags.global_header
    params = f"sps-id={min(set(range(32)) - used)}"
    enc.options = {
        "crf": str(EDGE_CRF),
        "preset": PRESET,
        "profile": PROFILES[index.config.profile],
        "x264-params": params,
    }
    enc.open()
    return enc


def edge_config(enc: av.CodecContext, index: GopIndex) -> AvcConfig:
    """The encoder's parameter sets as an avcC record beside the source's (CopyFailed if their ids collide)."""
    units = annexb_units(enc.extradata or b"")
    sps = tuple(u for u in units if nal_type(u) == NAL_SPS)
    pps = tuple(u for u in units if nal_type(u) == NAL_PPS)
    ours = {param_set_id(u) for u in index.config.sps + index.config.pps}
    if not sps or not pps or ours & {param_set_id(u) for u in sps + pps}:
        raise CopyFailed("the encoder's parameter sets are missing or reuse the source's ids")
    c = index.config
    return AvcConfig(c.profile, sps[0][2], sps[0][3], c.length_size, sps, pps)


class PacketSink:
    """Packets into the summary's video stream in decode order, timestamps rebuilt at the source's constant rate:
    decode time from the count of packets, presentation time from the frame's place in the summary."""

    def __init__(self, writer, index: GopIndex, time_base: Fraction):
        self.writer, self.tick, self.time_base = writer, index.tick, time_base
        self.delay = max(index.delay, 0 if index.config.profile == 66 else 3)  # x264 reorders by <= 3 B-frames
        self.decoded = self.copied = 0

    def put(self, packet: av.Packet, shown: int) -> None:
        packet.stream = self.writer.video
        packet.time_base = self.time_base
        packet.pts, packet.dts = shown * self.tick, (self.decoded - self.delay) * self.tick
        if packet.dts > packet.pts:
            raise CopyFailed("a packet would be decoded after it is shown")
        packet.duration = self.tick
        self.decoded += 1
        self.writer.container.mux(packet)


class Edge:
    """Source frames [lo, hi], decoded from the packets fed to it and re-encoded into the sink from summary frame
    `base` on: a fresh decoder (it starts at a GOP's keyframe) and a fresh encoder (its output starts at an IDR)."""

    def __init__(self, stream: av.VideoStream, index: GopIndex, span: tuple[int, int], base: int, sink: PacketSink):
        self.index, (self.lo, self.hi), self.base, self.sink = index, span, base, sink
        self.decoder = av.CodecContext.create(stream.codec_context.name, "r")
        self.decoder.extradata = stream.codec_context.extradata
        self.encoder = edge_encoder(stream, index)
        self.next, self.length_size = self.lo, index.config.length_size

    def feed(self, packet: av.Packet | None, shown: int | None = None) -> None:
        """Decode `packet` (shown at display index `shown`; None drains) and encode the frames of [lo, hi] it gives;
        a frame outside them that no other frame refers to is not decoded at all."""
        if packet is not None and not self.lo <= shown <= self.hi and disposable(bytes(packet), self.length_size):
            return
        for frame in self.decoder.decode(packet):
            shown = self.index.frame_of(frame.pts)
            if not self.lo <= shown <= self.hi:
                continue
            if shown != self.next:
                raise CopyFailed(f"frame {self.next} did not decode")
            frame.pts, frame.time_base, frame.pict_type = shown - self.lo, self.encoder.time_base, PictureType.NONE
            self._emit(self.encoder.encode(frame))
            self.next += 1

    def finish(self) -> int:
        """Drain decoder and encoder; the number of frames written."""
        self.feed(None)
        if self.next != self.hi + 1:
            raise CopyFailed(f"frames {self.next}-{self.hi} did not decode")
        self._emit(self.encoder.encode(None))
        return self.hi + 1 - self.lo

    def _emit(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            units = [u for u in annexb_units(bytes(packet)) if nal_type(u) not in (NAL_SPS, NAL_PPS)]
            out = av.Packet(to_length_prefixed(units, self.index.config.length_size))
            out.is_keyframe = packet.is_keyframe
            self.sink.put(out, self.base + packet.pts)


def copy_range(index: GopIndex, s: int, e: int) -> tuple[int, int]:
    """The frames [a, b) of the span [s, e] whose packets are copied: from its first GOP start to the last clean
    end; (e + 1, e + 1) when there is none (all of it re-encoded)."""
    a = int(index.cuts[np.searchsorted(index.cuts, s)])
    b = int(index.ends[np.searchsorted(index.ends, e + 1, side="right") - 1])
    return (a, b) if a < b else (e + 1, e + 1)


def run_plan(index: GopIndex, s: int, e: int) -> tuple[int, int, int, int | None, int]:
    """How `cut_run` writes source frames [s, e]: the copied frames [a, b) (`copy_range`), the GOP start its
    decoding begins at, the GOP start the frames after the copy are decoded from (None: nothing after it), and the
    decode position it stops reading at (the first clean end after e: every frame up to e has been read)."""
    cuts = index.cuts
    a, b = copy_range(index, s, e)
    start = int(cuts[np.searchsorted(cuts, s, side="right") - 1])  # the GOP to decode the span's first frame from
    tail_from = int(cuts[np.searchsorted(cuts, b, side="right") - 1]) if b <= e else None
    return a, b, start, tail_from, int(index.ends[np.searchsorted(index.ends, e + 1)])


def cut_run(
    container: av.container.InputContainer, stream: av.VideoStream, index: GopIndex, run: tuple[int, int],
    base: int, sink: PacketSink,
) -> Iterator[int]:  # fmt: skip
    """Write source frames [s, e] from summary frame `base` on: the packets of `copy_range` copied, the frames
    before and after it re-encoded (the frames after it decoded from the start of their GOP, whose packets are also
    copied). Yields the frames written so far in this run, for progress."""
    s, e = run
    a, b, start, tail_from, stop = run_plan(index, s, e)
    container.seek(int(index.pts[start]), stream=stream, backward=True, any_frame=False)
    head = Edge(stream, index, (s, min(a, e + 1) - 1), base, sink) if s < a else None
    tail, written, position = None, 0, None  # position: of the packet in decode order, once at `start`
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        shown = index.frame_of(packet.pts)
        position = start if shown == start and position is None else position
        if position is None:
            continue
        if position == stop:
            break
        position += 1
        if shown == tail_from:
            tail = Edge(stream, index, (b, e), base + b - s, sink)
        if a <= shown < b:
            if head is not None:
                written, head = written + head.finish(), None
                yield written
            sink.put(packet, base + shown - s)
            sink.copied += 1
            written += 1
        elif head is not None:
            head.feed(packet, shown)
        if tail is not None:
            tail.feed(packet, shown)
    written += sum(edge.finish() for edge in (head, tail) if edge is not None)
    if written != e + 1 - s:
        raise CopyFailed(f"{written} of {e + 1 - s} frames written")
    yield written
