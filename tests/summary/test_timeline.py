"""timeline.png, drawn with Pillow: thumbnails over their seconds, selected units shaded, the curve where the scores
put it, round ticks, and no matplotlib."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from semsum.summary.timeline import BLUE, SHADE, SIZE, layout, nice_ticks, plot_timeline

FPS = 10.0
SCORES = np.r_[np.full(100, 0.1), np.full(100, 0.9), np.full(100, 0.1)]  # 30 s: the middle 10 s score high
UNITS = np.array([[0, 99], [100, 199], [200, 299]])
RED, GREEN = np.full((8, 12, 3), (255, 0, 0), np.uint8), np.full((8, 12, 3), (0, 255, 0), np.uint8)


def near(pixel: tuple[int, ...], color: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(int(p) - c) <= tolerance for p, c in zip(pixel[:3], color, strict=True))


@pytest.fixture
def drawn(tmp_path):
    path = tmp_path / "timeline.png"
    plot_timeline(path, SCORES, UNITS, [1], FPS, [(0, RED), (150, GREEN)], "a title", np.array([100, 200]))
    return Image.open(path).convert("RGB")


def test_the_picture_is_where_the_data_says(drawn):
    assert drawn.size == SIZE
    strip, curve = layout(30.0, 0.1, 0.9)
    row = round((strip.top + strip.bottom) / 2)
    assert near(drawn.getpixel((round(strip.x(7)), row)), (255, 0, 0))  # red over [0, 15) s
    assert near(drawn.getpixel((round(strip.x(22)), row)), (0, 255, 0))  # green over [15, 30) s
    low = round(curve.y(0.5))  # under the high scores, away from the curve and the legend
    assert near(drawn.getpixel((round(curve.x(12)), low)), SHADE)  # selected unit 1: 10-20 s
    assert near(drawn.getpixel((round(curve.x(5)), low)), (255, 255, 255))  # unit 0: not selected
    column = np.asarray(drawn)[:, round(curve.x(15))]
    blue = [y for y in range(SIZE[1]) if near(tuple(column[y]), BLUE, 40)]
    assert blue and abs(np.mean(blue) - curve.y(0.9)) <= 2  # the curve at 0.9 in the middle
    column = np.asarray(drawn)[:, round(curve.x(25))]
    blue = [y for y in range(SIZE[1]) if near(tuple(column[y]), BLUE, 40)]
    assert blue and abs(np.mean(blue) - curve.y(0.1)) <= 2  # and at 0.1 after it


@pytest.mark.parametrize(
    ("lo", "hi", "most", "ticks", "decimals"),
    [
        (0.0, 30.0, 8, [0, 5, 10, 15, 20, 25, 30], 0),
        (0.0, 39.9, 8, [0, 5, 10, 15, 20, 25, 30, 35], 0),
        (-0.05, 1.05, 6, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 1),
        (0.0, 1.0, 4, [0.0, 0.25, 0.5, 0.75, 1.0], 2),
        (0.0, 600.0, 8, [0, 100, 200, 300, 400, 500, 600], 0),
    ],
)
def test_ticks_are_round(lo, hi, most, ticks, decimals):
    assert nice_ticks(lo, hi, most) == (ticks, decimals)


def test_drawing_imports_no_matplotlib(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from semsum.summary.timeline import plot_timeline\n"
        f"plot_timeline({str(tmp_path / 't.png')!r}, np.zeros(50), np.array([[0, 49]]), [0], 5.0, [])\n"
        "print('matplotlib' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert Image.open(tmp_path / "t.png").size == SIZE
