"""Content shots: PySceneDetect's ContentDetector (version 0.7, default settings) on every frame, in numpy.

What it computes, as PySceneDetect does: each frame converted to HSV as OpenCV converts 8-bit images (H 0-179,
S and V 0-255, OpenCV's fixed-point arithmetic, so the values are OpenCV's to the bit); for each frame after the
first, the mean absolute difference to the frame before of H, of S and of V, averaged with equal weights (edges
weighted 0, PySceneDetect's default): `content_val`, 0.0 for the first frame. A frame whose value is at least
`threshold` (27.0) is a candidate cut, and PySceneDetect's flash filter in its default mode (merge) turns candidates
into cuts so that shots last at least `min_scene_len` frames (15): see `cuts_from_values`. A cut is the first frame
of a new shot.

Differences from PySceneDetect: frames come from semsum's PyAV decoder at a fixed `size`, by nearest sample
(`semsum.video.nearest`: about 1 s less than swscale's bilinear filter on a 30 s 720p clip, the same cuts on the
shot benchmark; PySceneDetect decodes at full size with OpenCV and, by default, shrinks frames at least 256 wide to
256 wide with OpenCV's resize); the size is chosen by measurement (benchmarks/shots.md). Given the same frames,
values and cuts are PySceneDetect's (tests/summary/test_content.py drives its detector as the oracle).

Why: on a CPU it finds hard cuts at a small fraction of TransNetV2's cost (a few array operations per frame at a
small size); gradual transitions (fades, dissolves) it does not see, by design. In `summarize` it reads the frames
of the sampling pass, which decodes every frame anyway (`ContentValues` as its `FrameWatcher`): no decoding of its
own, 0.3 s less of a 30 s clip's first run (benchmarks/RESULTS.md, session 11).
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

from semsum.errors import SemsumError
from semsum.registry import declares, option
from semsum.summary.shots import StepProgress, Video, cuts_to_shots
from semsum.video.decode import iter_sampled_frames
from semsum.video.nearest import small_rgb

#: Analysis size (width, height) the frames are decoded at. benchmarks/shots.md: 48x27, 96x54, 128x72 and
#: PySceneDetect's 256-wide frames find the same cuts there; the weakest true cut scores 30, 33, 34 and 36 against the
#: threshold of 27, at 0.8x, 1x, 1.2x and 2.5x this size's CPU time (bilinear scaling; by nearest sample, as now,
#: 96x54 finds the same cuts, the weakest at 36, the highest value off a cut 21).
FRAME_SIZE = (96, 54)
#: Frames decoded and converted per batch.
BATCH = 64

# OpenCV's 8-bit RGB->HSV: 12-bit fixed point, divisions by V (for S) and by 6 x (max - min) (for H) from tables.
_SHIFT = 12
_HALF = 1 << (_SHIFT - 1)
_DIVISORS = np.arange(256, dtype=np.float64)
with np.errstate(divide="ignore"):
    _SDIV = np.where(_DIVISORS > 0, np.rint((255 << _SHIFT) / _DIVISORS), 0).astype(np.int32)
    _HDIV = np.where(_DIVISORS > 0, np.rint((180 << _SHIFT) / (6 * _DIVISORS)), 0).astype(np.int32)


def rgb_to_hsv(frames: np.ndarray) -> np.ndarray:
    """HSV (uint8 [..., 3]: H 0-179, S, V 0-255) of uint8 RGB pixels [..., 3], as OpenCV's `COLOR_RGB2HSV` gives
    for 8-bit images (the same arithmetic, so the same values)."""
    return np.stack(_hsv_planes(frames), axis=-1).astype(np.uint8)


def _hsv_planes(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """H, S and V (int32 [...], within 0-255) of uint8 RGB pixels [..., 3]: `rgb_to_hsv`'s planes."""
    rgb = np.asarray(frames)
    if rgb.dtype != np.uint8 or rgb.shape[-1:] != (3,):
        raise SemsumError(f"content: expected uint8 RGB pixels [..., 3], got {rgb.dtype} {rgb.shape}")
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    v = np.maximum(np.maximum(r, g), b)
    diff = v - np.minimum(np.minimum(r, g), b)
    s = (diff * _SDIV[v] + _HALF) >> _SHIFT
    # Hue numerator in units of 60 degrees x diff: V from R first, then from G, else from B (OpenCV's order).
    h = np.where(v == r, g - b, np.where(v == g, b - r + 2 * diff, r - g + 4 * diff))
    h = (h * _HDIV[diff] + _HALF) >> _SHIFT
    h += np.where(h < 0, 180, 0)
    return h, s, v


def content_values(frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """`content_val` (float64 [n]) of uint8 RGB frames [n, H, W, 3]: each frame's mean absolute HSV difference to the
    one before (`previous`, a frame [H, W, 3]; None: the first is the video's first, whose value is 0.0), H, S and V
    averaged with equal weights, in PySceneDetect's order of operations (so its floats to the bit). Each plane is
    differenced whole (half the time of differencing interleaved HSV pixels)."""
    planes = _hsv_planes(frames)
    firsts = _hsv_planes(previous[None]) if previous is not None else tuple(p[:1] for p in planes)
    # [n, 3]: summed |dH|, |dS|, |dV| per frame
    sums = np.stack(
        [
            np.abs(np.diff(np.concatenate([first, p]), axis=0)).sum(axis=(1, 2), dtype=np.int64)
            for first, p in zip(firsts, planes, strict=True)
        ],
        axis=1,
    )
    means = sums / float(planes[0].shape[1] * planes[0].shape[2])
    return (means[:, 0] + means[:, 1] + means[:, 2]) / 3.0


def cuts_from_values(values: np.ndarray, threshold: float = 27.0, min_scene_len: int = 15) -> np.ndarray:
    """Cuts (int64, ascending first frames of new shots) from per-frame `content_val`, by PySceneDetect 0.7's rule.

    A frame is above when its value is >= `threshold`. Its flash filter (merge mode), lengths in frames: an above
    frame at least `min_scene_len` frames after the last above frame is a cut (the first such cut enables merging);
    once merging is enabled, an above frame closer than that starts a merge, which absorbs every later above frame
    until a frame below the threshold comes `min_scene_len` frames after the last above one and that last above
    frame lies `min_scene_len` frames after the merge's start: the cut is then that last above frame. A merge still
    open at the end of the video gives no cut. `min_scene_len` 0: every above frame is a cut.
    """
    above = np.asarray(values, dtype=np.float64) >= threshold
    if min_scene_len <= 0:
        return np.flatnonzero(above[1:]).astype(np.int64) + 1
    cuts: list[int] = []
    last_above, merge_start, enabled, merging = 0, 0, False, False
    for t, is_above in enumerate(above.tolist()):  # one step per frame: the filter's state is sequential
        met = t - last_above >= min_scene_len
        if is_above:
            last_above = t
        if merging:
            if met and not is_above and last_above - merge_start >= min_scene_len:
                merging = False
                cuts.append(last_above)
        elif is_above and met:
            enabled = True
            cuts.append(t)
        elif is_above and enabled:
            merging, merge_start = True, t
    return np.asarray(cuts, dtype=np.int64)


class ContentValues:
    """`content_val` of consecutive frames, computed batch by batch as they come. As a `FrameWatcher` it reads the
    decoded frames of the sampling pass at `size` by nearest sample, so the detector needs no pass of its own."""

    def __init__(self, size: tuple[int, int]):
        self.key, self.size = f"content_val@{size[0]}x{size[1]}", size
        self.values: list[np.ndarray] = []
        self.pending: list[np.ndarray] = []  # frames seen, not yet in `values`
        self.previous: np.ndarray | None = None  # the last frame in `values`
        self.seen, self.in_order = 0, True

    def add(self, frames: np.ndarray) -> None:
        """The values of the next uint8 RGB frames [n, h, w, 3]."""
        self.values.append(content_values(frames, self.previous))
        self.previous, self.seen = frames[-1], self.seen + len(frames)

    def __call__(self, index: int, frame: av.VideoFrame) -> None:
        self.in_order = self.in_order and index == self.seen + len(self.pending)
        if self.in_order:
            self.pending.append(small_rgb(frame, self.size))
            if len(self.pending) == BATCH:
                self.add(np.stack(self.pending))
                self.pending = []

    def result(self, n_frames: int) -> np.ndarray | None:
        """The values of all `n_frames` frames, or None if they were not all seen, in order."""
        if self.pending:
            self.add(np.stack(self.pending))
            self.pending = []
        return np.concatenate(self.values) if self.in_order and self.seen == n_frames and n_frames else None


@dataclass(frozen=True)
class ContentOptions:
    """The `content` detector's options; with its analysis size, no user's option (a field without help)."""

    content_threshold: float = option(
        27.0, "content: mean HSV change (0-255) between consecutive frames at or above which a shot may start."
    )
    min_scene_len: int = option(15, "content: fewest frames between cuts (PySceneDetect's flash filter merges).")
    size: tuple[int, int] = FRAME_SIZE  # (width, height) the frames are decoded at


class ContentDetector:
    """Shot detector: PySceneDetect's ContentDetector on every frame, decoded at a small size (module docstring)."""

    name = "content"
    reads_frames = True  # every frame at `size`: the sampling pass's (`watcher`), else decoded again

    def __init__(self, options: ContentOptions = ContentOptions()):
        if not options.content_threshold > 0 or options.min_scene_len < 0:
            raise SemsumError(
                f"content: the threshold must be > 0 and min_scene_len >= 0, got {options.content_threshold} and"
                f" {options.min_scene_len}"
            )
        self.options = options

    def watcher(self) -> ContentValues:
        """The `FrameWatcher` through which the sampling pass computes `values`."""
        return ContentValues(self.options.size)

    def values(self, video: Video, progress: StepProgress | None = None) -> np.ndarray:
        """`content_val` of every frame of `video` (float64 [n_frames]): the sampling pass's, where its watcher saw
        every frame, else from its file decoded again, `progress(frames done, total)` per batch."""
        running = self.watcher()
        found = getattr(video, "per_frame", {}).get(running.key)
        if found is not None and len(found) == video.n_frames:
            return found
        sampler = iter_sampled_frames(video.path, stride=1, batch_size=BATCH, size=self.options.size, nearest=True)
        for _, frames in sampler:
            running.add(frames)
            if progress is not None:
                progress(running.seen, max(video.n_frames, running.seen))
        if sampler.n_decoded != video.n_frames:
            raise SemsumError(
                f"{video.path}: decoded {sampler.n_decoded} frames for content shots but {video.n_frames} when"
                " sampled; did the file change?"
            )
        return np.concatenate(running.values)

    def __call__(self, video: Video, progress: StepProgress | None = None) -> np.ndarray:
        """Shots of `video` (every frame at `size`, see `values`): int64 [n_shots, 2], inclusive frames."""
        options = self.options
        cuts = cuts_from_values(self.values(video, progress), options.content_threshold, options.min_scene_len)
        return cuts_to_shots(cuts, video.n_frames)


@declares(ContentOptions)
def make_content(options: ContentOptions, device: str = "cpu") -> ContentDetector:
    """Entry-point factory of the `content` shot detector (`device` is not used: numpy on the CPU)."""
    return ContentDetector(options)
