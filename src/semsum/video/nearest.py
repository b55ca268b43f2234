"""Small RGB frames by nearest sample, for detectors that read every frame at a small size.

swscale's filtered scaling of every frame is most of a content pass's cost: on big_buck_bunny_0_30.webm (720 frames,
1280x720) decoding alone took 0.62-0.76 s, decoding and scaling to 96x54 bilinearly 1.45-1.88 s, with swscale's
nearest-neighbour scaler 1.21-1.24 s (benchmarks/RESULTS.md, session 10). For the common 8-bit 4:2:0 frames
`small_rgb` reads the samples it needs straight from the decoded planes (the centre sample of each cell of a
`size` grid, the chroma sample covering it) and converts only those to RGB with the frame's colour matrix. Frames in
other formats go through swscale's nearest-neighbour scaler. Not for features: no filtering, so fine detail aliases.
"""

from __future__ import annotations

import av
import numpy as np
from av.video.reformatter import Interpolation

#: 8-bit 4:2:0 formats read from their planes, and whether their samples use the full 0-255 range.
FULL_RANGE = {"yuv420p": False, "yuvj420p": True}
#: (Cr -> R, Cb -> G, Cr -> G, Cb -> B) of the colour matrices: FFmpeg's colour space 1 is BT.709, the rest BT.601
#: (swscale's default, as `to_ndarray(format="rgb24")` converts).
_BT709, _BT601 = (1.5748, -0.1873, -0.4681, 1.8556), (1.402, -0.344136, -0.714136, 1.772)


def _plane(frame: av.VideoFrame, i: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Samples [rows][:, cols] of plane `i`, as float32 (its buffer read in place, rows padded to `line_size`); the
    rows taken first, then the columns of those: about half the time of one `np.ix_` gather."""
    plane = frame.planes[i]
    data = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
    return data[rows][:, cols].astype(np.float32)


def small_rgb(frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray:
    """A decoded frame as uint8 RGB [h, w, 3] at `size` = (w, h) (displayed orientation), by nearest sample."""
    quarter = round(frame.rotation / 90) % 4
    w, h = size if quarter % 2 == 0 else (size[1], size[0])
    if frame.format.name not in FULL_RANGE:
        rgb = frame.to_ndarray(format="rgb24", width=w, height=h, interpolation=Interpolation.POINT)
        return np.ascontiguousarray(np.rot90(rgb, k=quarter)) if quarter else rgb
    rows = ((np.arange(h) + 0.5) * frame.height / h).astype(np.int64)
    cols = ((np.arange(w) + 0.5) * frame.width / w).astype(np.int64)
    y, cb, cr = (
        _plane(frame, 0, rows, cols),
        _plane(frame, 1, rows // 2, cols // 2),
        _plane(frame, 2, rows // 2, cols // 2),
    )
    if FULL_RANGE[frame.format.name] or frame.color_range == 2:  # 2: AVCOL_RANGE_JPEG
        cb, cr = cb - 128.0, cr - 128.0
    else:
        y, cb, cr = (y - 16.0) * (255 / 219), (cb - 128.0) * (255 / 224), (cr - 128.0) * (255 / 224)
    rv, gu, gv, bu = _BT709 if frame.colorspace == 1 else _BT601
    rgb = np.stack([y + rv * cr, y + gu * cb + gv * cr, y + bu * cb], axis=-1)
    rgb = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.rot90(rgb, k=quarter)) if quarter else rgb
