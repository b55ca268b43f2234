"""Small RGB frames by nearest sample (`semsum.video.nearest`) against swscale's full-size RGB of the same frames."""

from __future__ import annotations

import av
import numpy as np
import pytest

from semsum.errors import SemsumError
from semsum.video.decode import iter_sampled_frames
from semsum.video.nearest import small_rgb

CLIPS = [
    "big_buck_bunny_0_30.webm",
    "bikes.mp4",
    "bottle-detection.mp4",
    "vtest.avi",
    "car-detection.mp4",
    "one-by-one-person-detection.mp4",
]


def centre_samples(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The full-size RGB frame's pixels at the centres of a `size` grid: what `small_rgb` should give."""
    (w, h), (height, width) = size, rgb.shape[:2]
    rows = ((np.arange(h) + 0.5) * height / h).astype(np.int64)
    cols = ((np.arange(w) + 0.5) * width / w).astype(np.int64)
    return rgb[np.ix_(rows, cols)]


@pytest.mark.parametrize("clip", CLIPS)
def test_small_rgb_is_swscales_rgb_at_the_grid_centres(shared_media, clip):
    with av.open(str(shared_media / clip)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % 25:
                continue
            ours = small_rgb(frame, (96, 54))
            assert ours.shape == (54, 96, 3) and ours.dtype == np.uint8
            theirs = centre_samples(frame.to_ndarray(format="rgb24"), (96, 54))
            # swscale's fixed-point conversion rounds differently: a few levels at most, never a colour error
            assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 3, (clip, i)


def test_other_formats_go_through_swscales_nearest_scaler(shared_media):
    with av.open(str(shared_media / "bikes.mp4")) as container:
        frame = next(container.decode(video=0)).reformat(format="yuv444p")
    ours = small_rgb(frame, (64, 36))
    assert ours.shape == (36, 64, 3)
    theirs = centre_samples(frame.to_ndarray(format="rgb24"), (64, 36))
    assert np.abs(ours.astype(int) - theirs.astype(int)).mean() < 8  # swscale's own sample positions


def test_the_sampler_gives_nearest_frames_when_asked(shared_media):
    clip = shared_media / "bikes.mp4"
    near = np.concatenate([f for _, f in iter_sampled_frames(clip, stride=1, size=(96, 54), nearest=True)])
    with av.open(str(clip)) as container:
        expected = np.stack([small_rgb(f, (96, 54)) for f in container.decode(video=0)])
    np.testing.assert_array_equal(near, expected)
    filtered = np.concatenate([f for _, f in iter_sampled_frames(clip, stride=1, size=(96, 54))])
    assert filtered.shape == near.shape and not np.array_equal(filtered, near)
    with pytest.raises(SemsumError, match="nearest sampling needs a frame size"):
        iter_sampled_frames(clip, stride=1, nearest=True)
