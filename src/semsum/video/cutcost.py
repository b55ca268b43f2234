"""Which summary writer is cheaper for a selection: the smart cut or a full re-encode, estimated from the packet
index alone (no decoding), so that the writer takes the one estimated cheaper: a smart cut whose edges must be
decoded from far-away IDRs can cost more than the re-encode it replaces.

The smart cut decodes each span's edges from the GOP start before them (a 250-frame GOP can mean decoding 250
frames to re-encode 10) and opens an encoder per edge; the full re-encode decodes every selected stretch from the
keyframe before it and encodes every selected frame. Each writer's work is counted in frames (`Work`) and weighed by
its measured per-frame costs (`Weights`, in units of one frame decoded by the full re-encode's threaded decoder;
calibrated on the clips of ../shared/media, benchmarks/RESULTS.md "Summary writer: cost check and encoder settings").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from semsum.video.smartcut import GopIndex, run_plan


@dataclass(frozen=True)
class Weights:
    """Cost of a writer's work, relative to one frame decoded by the full re-encode's (threaded) decoder. Copying a
    packet is left out: 0.02 s of CPU for 400 frames, against 0.3-2 s for a writer's decoding and encoding."""

    decode: float
    encode: float
    encoder: float  # opening an encoder (and a decoder) for one re-encoded edge, and draining them


@dataclass(frozen=True)
class Work:
    """What a writer does for a selection: frames decoded (for the smart cut's edges: packets read, of which those
    nothing refers to outside an edge are skipped), encoded and copied, encoders opened."""

    decoded: int
    encoded: int
    copied: int
    encoders: int

    def cost(self, w: Weights) -> float:
        return self.decoded * w.decode + self.encoded * w.encode + self.encoders * w.encoder


# Fitted to wall and CPU times of 28 selections on the four H.264 clips of ../shared/media and the first 2 minutes of
# the generated 720p video (benchmarks/RESULTS.md, session 9): encoding a frame costs about 15 threaded decodes in
# the full re-encode (x264 superfast, crf 25) and 16 at an edge (superfast, crf 18), a packet read for an edge about
# 1.5 (not overlapped with encoding), opening and draining an edge's encoder about 20. With these the
# cheaper estimate was the faster writer in 25 of the 28 by wall time and 27 by CPU time, the misses near-ties
# (estimates 0.91-1.03 of each other); session 8's weights (4 / 25 / 20, for veryfast edges decoded by one thread)
# chose right in 19 of the 28. Session 11's full re-encode (`write.SUMMARY_X264`: ultrafast, deblocking and CABAC on)
# encodes in 0.53-0.59 of superfast's time on two clips; on the 10-minute video's re-run selection (3,597 frames, 46
# edges) it took 22.4 s and 34.2 CPU s against the smart cut's 22.4 s and 31.9 CPU s (medians of 3, alternated), which
# these weights tie at encode = 11-12 (benchmarks/RESULTS.md, session 11).
FULL = Weights(decode=1.0, encode=12.0, encoder=0.0)
SMART = Weights(decode=1.5, encode=16.0, encoder=20.0)


def smart_work(index: GopIndex, runs: list[tuple[int, int]]) -> Work:
    """The smart cut's work on the inclusive frame `runs` (as `smartcut.cut_run` does it)."""
    decoded = copied = encoders = 0
    for s, e in runs:
        a, b, start, tail_from, stop = run_plan(index, s, e)
        copied += max(b - a, 0)
        decoded += ((a if a < b else stop) - start) if s < a else 0
        decoded += stop - tail_from if tail_from is not None else 0
        encoders += (s < a) + (tail_from is not None)
    total = sum(e + 1 - s for s, e in runs)
    return Work(decoded, total - copied, copied, encoders)


def full_work(index: GopIndex, runs: list[tuple[int, int]], anchors: np.ndarray | None, gap: float) -> Work:
    """A full re-encode's work (as `write._seek_frames` does it): with `anchors` (frame indices the decoder can seek
    to), a stretch more than `gap` frames after the last frame decoded is decoded from the keyframe before the
    anchor at or before its start, a nearer one by decoding on; without, every frame up to the last selected."""
    total = sum(e + 1 - s for s, e in runs)
    if anchors is None or len(anchors) == 0:
        return Work(runs[-1][1] + 1, total, 0, 1)
    decoded, last = 0, None  # last: the last frame decoded so far
    for s, e in runs:
        if last is None or s - last > gap:
            anchor = int(anchors[max(int(np.searchsorted(anchors, s, side="right")) - 1, 0)])
            from_ = int(index.cuts[np.searchsorted(index.cuts, anchor, side="right") - 1])
        else:
            from_ = last + 1
        last = e + 1 if e < runs[-1][1] else e  # one frame past a stretch is decoded to see that it ended
        decoded += last + 1 - from_
    return Work(decoded, total, 0, 1)


def why_not_smart(smart: Work, full: Work, forced: bool | None = None) -> str:
    """Why the full re-encode is chosen over the smart cut ("" for the smart cut): nothing to copy, or (unless
    `forced`) the re-encode's estimated cost is lower."""
    if not smart.copied:
        return "no selected span reaches a keyframe (IDR) to copy from"
    a, b = smart.cost(SMART), full.cost(FULL)
    if forced or a < b:
        return ""
    return (
        f"a full re-encode is cheaper: the smart cut would decode {smart.decoded} and encode {smart.encoded} "
        f"frames to copy {smart.copied} (cost {a:.0f}), the re-encode decode {full.decoded} and encode "
        f"{full.encoded} (cost {b:.0f})"
    )
