"""Still frames of a video at given times, found by seeking: thumbnails of a few moments without decoding it all.

A summary of an hour-long video keeps dozens of units; decoding the whole file again for one picture of each
would cost as much as the first pass, while a seek to the keyframe before each moment decodes one group of
pictures at most.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

from semsum.errors import SemsumError
from semsum.video.decode import _frames, _open, _stream, displayed_size, to_rgb


def _display_size(frame: av.VideoFrame, height: int) -> tuple[int, int]:
    """(width, height) of `frame` as displayed (rotation applied), scaled to `height` rows, width even."""
    w, h = displayed_size(frame)
    return max(2, 2 * round(height * w / h / 2)), height


def stills_at(path: str | os.PathLike[str], times: Sequence[float], height: int = 160) -> list[np.ndarray]:
    """uint8 RGB frames [height, W, 3], upright, one per time in seconds (the first frame shown at or after it).

    Times are measured from the video's first frame; a time past the end gives the last frame.
    """
    path = Path(path)
    out: list[np.ndarray] = []
    with _open(path) as container:
        stream = _stream(container)
        tb = float(stream.time_base or 0)
        if not tb:
            raise SemsumError(f"{path}: the video stream has no time base, so it cannot be seeked")
        first = next(_frames(path, container, stream), None)
        if first is None:
            raise SemsumError(f"{path}: the video stream has no decodable frames")
        origin = (first.pts or 0) * tb
        half_frame = 0.5 / float(stream.average_rate or stream.guessed_rate or 25)
        size = _display_size(first, height)
        for t in times:
            container.seek(int((origin + max(0.0, t)) / tb), stream=stream, backward=True)
            shown = None
            for frame in _frames(path, container, stream):
                shown = frame
                if frame.pts is not None and frame.pts * tb - origin >= t - half_frame:
                    break
            if shown is None:
                raise SemsumError(f"{path}: no frame decodes after {t:.2f} s")
            out.append(to_rgb(shown, size))
    return out
