"""Check a video file before any model loads: a usable input, and whether its container holds what it declares.

`check_video` is what `semsum summarize` runs first (PyAV only, no torch: a typo in a path or a text file named
.mp4 is refused in a fraction of a second): the path exists and is a file, FFmpeg opens it, it has a video stream
and its first frame decodes (`semsum.video.decode.probe`). It also compares the duration the container declares
with how far its packets reach, read after one seek to shortly before the declared end (demuxing a few seconds of
packets, no decoding): a download cut short keeps the header of the whole file, so it declares more than it holds.

Such a file is summarized as far as it goes, with a warning naming the missing span (on stderr and in scores.json)
rather than refused: what is there is still a video, and the user learns exactly what was left out. Containers
declare durations differently: MP4/MOV and AVI per stream, WebM/Matroska for the whole file (the Segment's
Duration; its streams declare none); the container's duration (the longest stream's) is compared with the end of
the last packet of any stream. A file that declares no duration at all (some streamed Matroska/WebM) has nothing
to contradict and is not checked. AVI files without their closing index are re-counted by FFmpeg as it opens them,
so they declare what they hold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av

from semsum.errors import SemsumError
from semsum.video.decode import VIDEO_SUFFIXES, VideoInfo, probe

#: Packets are read from this many seconds before the declared end (the seek lands on the keyframe before it).
TAIL_SECONDS = 3.0
#: A file is short when its packets stop more than this before the declared end (seconds, or fraction of it):
#: containers round their durations, and streams may end a little apart.
SHORT_SECONDS, SHORT_FRACTION = 1.0, 0.02


@dataclass(frozen=True)
class CheckedVideo:
    """A video file that passed the checks: its probe, the seconds its container declares (None: none declared)
    and the seconds its packets reach (None: not measured, as nothing was declared)."""

    info: VideoInfo
    declared: float | None
    reach: float | None

    @property
    def missing(self) -> tuple[float, float] | None:
        """The declared span (start, end seconds) that no packet covers, if the file stops short of it."""
        if self.declared is None or self.reach is None:
            return None
        short = self.declared - self.reach
        return (self.reach, self.declared) if short > max(SHORT_SECONDS, SHORT_FRACTION * self.declared) else None

    @property
    def warning(self) -> str | None:
        """The one line that names the missing span, if any."""
        if self.missing is None:
            return None
        start, end = self.missing
        return (
            f"{self.info.path}: the container declares {end:.1f} s but its data stops at {start:.1f} s "
            f"({start:.1f}-{end:.1f} s missing: an incomplete download?); summarized what is there"
        )


def find_videos(folder: str | os.PathLike[str], recursive: bool = False) -> list[Path]:
    """The video files (by suffix) directly in `folder`, or anywhere under it with `recursive`, sorted by path;
    a missing folder or one without videos is a one-line SemsumError."""
    root = Path(folder)
    if not root.is_dir():
        raise SemsumError(f"{root}: no such folder")
    files = (p for p in (root.rglob("*") if recursive else root.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES)
    found = sorted(p for p in files if p.is_file())
    if not found:
        where = " (subfolders included)" if recursive else ""
        raise SemsumError(f"{root}: no video files{where} ({', '.join(VIDEO_SUFFIXES)})")
    return found


def check_video(path: str | os.PathLike[str]) -> CheckedVideo:
    """Check that `path` is a video file FFmpeg decodes (one-line SemsumError naming it otherwise) and measure how
    far its packets reach against the duration its container declares."""
    path = Path(path)
    if path.is_dir():
        raise SemsumError(f"{path}: is a folder, not a video file")
    info = probe(path, count=False)
    with av.open(str(path)) as container:
        declared = _declared(container)
        reach = _reach(container, declared) if declared is not None else None
    return CheckedVideo(info, declared, reach)


def check_input(path: str | os.PathLike[str], recursive: bool = False) -> None:
    """`semsum summarize`'s input: a video file (`check_video`), or a folder with videos (in its subfolders too
    if `recursive`); anything else is a one-line SemsumError naming it."""
    if Path(path).is_dir():
        find_videos(path, recursive)
    else:
        check_video(path)


def _declared(container: av.container.InputContainer) -> float | None:
    """The container's declared duration in seconds (else its video stream's), None if it declares none."""
    if container.duration:
        return container.duration / av.time_base
    stream = container.streams.video[0]
    return float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None


def _reach(container: av.container.InputContainer, declared: float) -> float:
    """Seconds from the container's start to the end of its last packet, demuxed from `TAIL_SECONDS` before the
    declared end (from the start if that seek finds nothing: a file cut before that point may lack its index)."""
    start = (container.start_time or 0) / av.time_base
    reach = _last_end(container, round((start + max(0.0, declared - TAIL_SECONDS)) * av.time_base))
    if reach is None:
        reach = _last_end(container, container.start_time or 0)
    return (reach if reach is not None else start) - start


def _last_end(container: av.container.InputContainer, at: int) -> float | None:
    """The latest packet end (seconds) after seeking to `at` (AV_TIME_BASE units); None if no packet is read."""
    try:
        container.seek(at, backward=True, any_frame=False)
    except av.error.FFmpegError:
        return None
    end = None
    try:
        for packet in container.demux():
            if packet.pts is not None and packet.time_base:
                t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                end = t if end is None else max(end, t)
    except av.error.FFmpegError:
        pass  # a damaged tail: the packets before it are what the file holds
    return end
