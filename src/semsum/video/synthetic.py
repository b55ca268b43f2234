"""Generate sample videos in code (no download): scenes with hard cuts, for tests, the demo and benchmarks.

Each scene has its own colour, stripe orientation and frequency, and a square that moves across it, so
scenes differ strongly (even for a randomly initialised CNN) while frames within a scene change smoothly.
With `audio`, each scene carries a sine tone of its own pitch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from semsum.atomic import atomic_path
from semsum.video.write import Mp4Writer

AUDIO_RATE = 16_000


def scene_frame(scene: int, t: float, width: int, height: int) -> np.ndarray:
    """Frame at time `t` (0..1 through the scene) of scene number `scene`, uint8 RGB [height, width, 3]."""
    rng = np.random.default_rng(1000 + scene)
    colour_a, colour_b = rng.integers(0, 256, size=(2, 3))
    angle, freq = rng.uniform(0, np.pi), rng.uniform(2, 12)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (x * np.cos(angle) + y * np.sin(angle)) + 2 * np.pi * t)
    img = colour_a * stripes[..., None] + colour_b * (1 - stripes[..., None])
    side = max(4, height // 4)
    top = int((height - side) * (0.5 + 0.4 * np.sin(2 * np.pi * t)))
    left = int((width - side) * t)
    img[top : top + side, left : left + side] = 255 - colour_a
    return img.astype(np.uint8)


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
