"""Generate sample videos in code (no download): scenes with hard cuts, for tests, the demo and benchmarks.

Each scene has its own colour, stripe orientation and frequency, and a square that moves across it, so
scenes differ strongly (even for a randomly initialised CNN) while frames within a scene change smoothly.
With `audio`, each scene carries a sine tone of its own pitch.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from semsum.atomic import atomic_path
from semsum.video.write import Mp4Writer

AUDIO_RATE = 16_000


@functools.lru_cache(maxsize=2)
def _scene_pattern(scene: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What frames of one scene share: its two colours and the stripes' phase at each pixel (float64 [H, W]).

    Kept across a scene's frames (the grid and projection were 40 % of a 720p frame's cost); each value is computed
    by the same operations in the same order as when it was made per frame, so frames are bit-identical.
    """
    rng = np.random.default_rng(1000 + scene)
    colour_a, colour_b = rng.integers(0, 256, size=(2, 3))
    angle, freq = rng.uniform(0, np.pi), rng.uniform(2, 12)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    return colour_a, colour_b, 2 * np.pi * freq * (x * np.cos(angle) + y * np.sin(angle))


def scene_frame(scene: int, t: float, width: int, height: int) -> np.ndarray:
    """Frame at time `t` (0..1 through the scene) of scene number `scene`, uint8 RGB [height, width, 3]."""
    colour_a, colour_b, phase = _scene_pattern(scene, width, height)
    stripes = 0.5 + 0.5 * np.sin(phase + 2 * np.pi * t)
    img = np.empty((height, width, 3), dtype=np.uint8)
    for c in range(3):  # one channel at a time: 3x less memory traffic than broadcasting to [H, W, 3] float64
        img[..., c] = colour_a[c] * stripes + colour_b[c] * (1 - stripes)
    side = max(4, height // 4)
    top = int((height - side) * (0.5 + 0.4 * np.sin(2 * np.pi * t)))
    left = int((width - side) * t)
    img[top : top + side, left : left + side] = (255 - colour_a).astype(np.uint8)
    return img


def make_scene_video(
    path: str | os.PathLike[str],
    scene_seconds: list[float] | tuple[float, ...] = (12, 12, 12, 12, 12),
    fps: float = 30.0,
    size: tuple[int, int] = (160, 120),
    audio: bool = True,
) -> list[int]:
    """Write an mp4 of consecutive scenes (hard cuts between them); return the first frame of each cut.

    A cut at frame c means frames c-1 and c belong to different scenes.
    """
    width, height = size
    counts = [round(s * fps) for s in scene_seconds]
    with atomic_path(path) as tmp:
        writer = Mp4Writer(Path(tmp), fps, width, height, AUDIO_RATE if audio else None, "mono")
        try:
            for scene, n in enumerate(counts):
                for i in range(n):
                    writer.add_frame(scene_frame(scene, i / n, width, height))
                if audio:
                    t = np.arange(round(n / fps * AUDIO_RATE)) / AUDIO_RATE
                    tone = 0.3 * np.sin(2 * np.pi * (220 * 2 ** (scene / 4)) * t)
                    writer.add_audio(tone[None, :].astype(np.float32))
            writer.close()
        finally:
            writer.container.close()
    return [int(c) for c in np.cumsum(counts)[:-1]]
