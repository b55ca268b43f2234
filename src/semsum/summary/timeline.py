"""timeline.png: the importance curve with the selected shots shaded, over a strip of thumbnails."""

from __future__ import annotations

import os

import numpy as np

from semsum.atomic import atomic_path


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
    from matplotlib.figure import Figure  # not pyplot: no backend or GUI machinery to load (PNG is drawn by Agg)

    n_frames = len(frame_scores)
    seconds = np.arange(n_frames) / fps
    end = n_frames / fps
    fig = Figure(figsize=(12, 4.2), constrained_layout=True)
    strip, curve = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2]})
    strip.set_axis_off()
    if thumbnails:
        # Each thumbnail is drawn over [its time, the next one's time), so the strip lines up with the curve.
        times = [f / fps for f, _ in thumbnails] + [end]
        for (_, img), t0, t1 in zip(thumbnails, times[:-1], times[1:], strict=True):
            strip.imshow(img, extent=(t0, t1, 0, 1), aspect="auto", interpolation="bilinear")
        strip.set_ylim(0, 1)
    for i, (s, e) in enumerate(np.asarray(units)):
        if i in selected:
            curve.axvspan(s / fps, (e + 1) / fps, color="tab:orange", alpha=0.3, lw=0)
        curve.axvline(s / fps, color="0.7", lw=0.5)
    for c in np.asarray(cuts if cuts is not None else [], dtype=float):
        curve.axvline(c / fps, color="0.25", lw=0.8, ls="--")
    curve.plot(seconds, frame_scores, color="tab:blue", lw=1.2, label="importance")
    curve.fill_between([], [], color="tab:orange", alpha=0.3, label="selected units")
    curve.plot([], [], color="0.25", lw=0.8, ls="--", label="shot boundaries")
    curve.plot([], [], color="0.7", lw=0.5, label="unit boundaries (shots split where content changes)")
    curve.set_xlim(0, end)
    curve.set_xlabel("time (s)")
    curve.set_ylabel("importance")
    curve.legend(loc="upper right", fontsize=8)
    if title:
        strip.set_title(title, fontsize=9)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
