"""timeline.png: the importance curve with the selected units shaded, over a strip of thumbnails.

Drawn with Pillow, not matplotlib: importing matplotlib and saving one figure took 1.2-1.3 s of a warm re-run
under load, against 0.13-0.17 s drawn here, imports included (issue 26; benchmarks/RESULTS.md, session 9). The
picture keeps the matplotlib figure's layout (12 x 4.2 in at 100 dpi: 1200 x 420 pixels), colours and legend; it is
drawn at twice the size and halved, which smooths its lines and text.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from semsum.atomic import atomic_path

SIZE = (1200, 420)  # pixels of the written image
SCALE = 2  # drawn at SCALE x SIZE, then reduced
Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)
BLUE: Color = (31, 119, 180)  # matplotlib's tab:blue
ORANGE: Color = (255, 127, 14)  # tab:orange
CUT: Color = (64, 64, 64)  # grey 0.25: shot boundaries
UNIT: Color = (179, 179, 179)  # grey 0.7: unit boundaries
SHADE_ALPHA = 0.3
LEGEND = ("importance", "selected units", "shot boundaries", "unit boundaries (shots split where content changes)")


def _blend(color: Color, alpha: float, under: Color = WHITE) -> Color:
    """`color` at opacity `alpha` over `under`."""
    return tuple(round(alpha * c + (1 - alpha) * u) for c, u in zip(color, under, strict=True))  # type: ignore[return-value]


SHADE = _blend(ORANGE, SHADE_ALPHA)  # the selected units' fill: orange at 30 % over white


@functools.lru_cache(maxsize=8)
def _font(pixels: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own font at `pixels` (of the written image) high, drawn at SCALE."""
    return ImageFont.load_default(pixels * SCALE)


def nice_ticks(lo: float, hi: float, most: int = 8) -> tuple[list[float], int]:
    """Round tick values in [lo, hi], at most `most` of them, a step of 1, 2, 2.5 or 5 times a power of ten (as
    matplotlib chooses them), and the decimals their labels need."""
    span = hi - lo if hi > lo else 1.0
    power = 10.0 ** math.floor(math.log10(span / most))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if span / (m * power) <= most)
    first = math.ceil(lo / step - 1e-9)
    ticks = [round((first + i) * step, 12) for i in range(math.floor(hi / step + 1e-9) - first + 1)]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) + (1 if round(step / power, 1) == 2.5 else 0)
    return ticks, decimals


@dataclass(frozen=True)
class Axes:
    """A data rectangle on the written image: x in [0, end] seconds over columns left..right, y in [lo, hi] over
    rows bottom..top. Pixels are the written image's; `SCALE` turns them into the drawing's."""

    left: float
    top: float
    right: float
    bottom: float
    end: float
    lo: float = 0.0
    hi: float = 1.0

    def x(self, seconds: Any) -> Any:
        """The column of `seconds` (a number or an array)."""
        return self.left + (self.right - self.left) * seconds / self.end

    def y(self, value: Any) -> Any:
        """The row of `value` (a number or an array)."""
        return self.bottom - (self.bottom - self.top) * (value - self.lo) / (self.hi - self.lo)


def layout(end: float, lo: float, hi: float) -> tuple[Axes, Axes]:
    """The thumbnail strip's and the curve's rectangles (matplotlib's constrained layout of the old figure), the
    curve's y range `lo`..`hi` widened by 5 % each side as matplotlib's margins do."""
    pad = 0.05 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1.0)
    strip = Axes(55, 22, 1188, 137, end)
    return strip, Axes(55, 145, 1188, 372, end, lo - pad, hi + pad)


def plot_timeline(
    path: str | os.PathLike[str],
    frame_scores: np.ndarray,
    units: np.ndarray,
    selected: list[int],
    fps: float,
    thumbnails: list[tuple[int, np.ndarray]],
    title: str = "",
    cuts: np.ndarray | None = None,
) -> None:
    """Write the figure atomically. `thumbnails` are (frame index, uint8 RGB image) pairs in time order.

    Unit boundaries are thin grey lines; `cuts` (frame indices: the shot boundaries) are drawn darker and dashed;
    the legend names each.
    """
    scores = np.asarray(frame_scores, dtype=np.float64)
    end = len(scores) / fps
    lo, hi = (float(scores.min()), float(scores.max())) if len(scores) else (0.0, 1.0)
    strip, curve = layout(end, lo, hi)
    image = Image.new("RGB", (SIZE[0] * SCALE, SIZE[1] * SCALE), WHITE)
    draw = ImageDraw.Draw(image)
    _thumbnail_strip(image, strip, [(f / fps, img) for f, img in thumbnails])
    for i, (s, e) in enumerate(np.asarray(units)):
        if i in selected:
            draw.rectangle(_box(curve, s / fps, (e + 1) / fps), fill=SHADE)
    for s in np.asarray(units)[:, 0] if len(units) else ():
        _vline(draw, curve, s / fps, UNIT, 1)
    for c in np.asarray(cuts if cuts is not None else [], dtype=float):
        _vline(draw, curve, c / fps, CUT, 2, dash=(8, 4))
    points = np.column_stack([curve.x(np.arange(len(scores)) / fps), curve.y(scores)]) * SCALE
    draw.line(points.ravel().tolist(), fill=BLUE, width=3, joint="curve")
    _frame(image, curve)
    _legend(image, curve)
    if title:
        draw.text((curve.x(end / 2) * SCALE, 4 * SCALE), title, fill="black", font=_font(12), anchor="ma")
    with atomic_path(path) as tmp:
        # zlib's fastest level: 19 ms instead of 54 for a 1200x420 timeline, the file 17 % larger (session 12)
        image.reduce(SCALE).save(tmp, format="PNG", compress_level=1)


def _box(axes: Axes, t0: float, t1: float) -> tuple[float, float, float, float]:
    """The drawing's rectangle over seconds t0..t1, the axes' full height (clipped to them)."""
    x0, x1 = max(axes.x(t0), axes.left), min(axes.x(t1), axes.right)
    return x0 * SCALE, axes.top * SCALE, x1 * SCALE, axes.bottom * SCALE


def _vline(draw: ImageDraw.ImageDraw, axes: Axes, t: float, color: Color, width: int, dash: Sequence[int] = ()) -> None:
    """A vertical line at `t` seconds over the axes' height, dashed (on, off drawing pixels) if `dash`."""
    x, top, bottom = axes.x(t) * SCALE, axes.top * SCALE, axes.bottom * SCALE
    if not dash:
        draw.line([(x, top), (x, bottom)], fill=color, width=width)
        return
    y, (on, off) = top, dash
    while y < bottom:
        draw.line([(x, y), (x, min(y + on, bottom))], fill=color, width=width)
        y += on + off


def _thumbnail_strip(image: Image.Image, strip: Axes, thumbs: list[tuple[float, np.ndarray]]) -> None:
    """Each thumbnail stretched over [its time, the next one's time) (the last to the end), so the strip lines up
    with the curve, the strip's full height."""
    times = [t for t, _ in thumbs] + [strip.end]
    top, height = round(strip.top * SCALE), round((strip.bottom - strip.top) * SCALE)
    for (t0, img), t1 in zip(thumbs, times[1:], strict=True):
        x0, x1 = round(strip.x(t0) * SCALE), round(strip.x(t1) * SCALE)
        if x1 > x0:
            picture = Image.fromarray(np.ascontiguousarray(img[..., :3], dtype=np.uint8))
            image.paste(picture.resize((x1 - x0, height), Image.Resampling.BILINEAR), (x0, top))


def _frame(image: Image.Image, curve: Axes) -> None:
    """The curve's box, its ticks and tick labels, and the axis labels."""
    s, draw = SCALE, ImageDraw.Draw(image)
    draw.rectangle((curve.left * s, curve.top * s, curve.right * s, curve.bottom * s), outline="black", width=2)
    xticks, xdec = nice_ticks(0.0, curve.end, 8)
    for t in xticks:
        x = curve.x(t) * s
        draw.line([(x, curve.bottom * s), (x, (curve.bottom + 5) * s)], fill="black", width=2)
        draw.text((x, (curve.bottom + 7) * s), f"{t:.{xdec}f}", fill="black", font=_font(14), anchor="ma")
    yticks, ydec = nice_ticks(curve.lo, curve.hi, 6)
    for v in yticks:
        y = curve.y(v) * s
        draw.line([((curve.left - 5) * s, y), (curve.left * s, y)], fill="black", width=2)
        draw.text(((curve.left - 7) * s, y), f"{v:.{ydec}f}", fill="black", font=_font(14), anchor="rm")
    draw.text(
        (curve.x(curve.end / 2) * s, (curve.bottom + 26) * s), "time (s)", fill="black", font=_font(14), anchor="ma"
    )
    label = _font(14)
    box = label.getbbox("importance", anchor="lt")
    text = Image.new("RGB", (box[2] + 2, box[3] + 2), WHITE)
    ImageDraw.Draw(text).text((1, 1), "importance", fill="black", font=label, anchor="lt")
    rotated = text.rotate(90, expand=True)
    image.paste(rotated, (2 * s, round(curve.y((curve.lo + curve.hi) / 2) * s - rotated.height / 2)))


def _legend(image: Image.Image, curve: Axes) -> None:
    """The legend in the curve's upper right corner: a sample of each mark, named, on a 80 % opaque white box."""
    s, font = SCALE, _font(11)
    row, sample, gap = 17 * s, 28 * s, 8 * s
    width = max(font.getlength(text) for text in LEGEND) + sample + 3 * gap
    right, top = (curve.right - 6) * s, (curve.top + 6) * s
    left, bottom = right - width, top + row * len(LEGEND) + gap
    region = (round(left), round(top), round(right), round(bottom))
    image.paste(Image.blend(image.crop(region), Image.new("RGB", image.crop(region).size, WHITE), 0.8), region[:2])
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(region, radius=4 * s, outline=(204, 204, 204), width=2)
    for i, text in enumerate(LEGEND):
        y = top + gap / 2 + row * (i + 0.5)
        x0, x1 = left + gap, left + gap + sample
        if i == 0:
            draw.line([(x0, y), (x1, y)], fill=BLUE, width=3)
        elif i == 1:
            draw.rectangle((x0, y - 5 * s, x1, y + 5 * s), fill=SHADE)
        elif i == 2:
            for a in range(0, sample, 12):
                draw.line([(x0 + a, y), (min(x0 + a + 8, x1), y)], fill=CUT, width=2)
        else:
            draw.line([(x0, y), (x1, y)], fill=UNIT, width=1)
        draw.text((x1 + gap, y), text, fill="black", font=font, anchor="lm")
