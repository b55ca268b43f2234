"""Stills by seeking (the app's thumbnails) against the same frames decoded in order, on real clips."""

from __future__ import annotations

import numpy as np
import pytest

from semsum.errors import SemsumError
from semsum.video.decode import iter_sampled_frames, probe
from semsum.video.stills import stills_at


@pytest.mark.parametrize("name", ["bikes.mp4", "big_buck_bunny_0_30.webm", "car-detection.mp4", "vtest.avi"])
def test_stills_are_the_frames_shown_at_those_times(shared_media, name):
    path = shared_media / name
    info = probe(path)
    wanted = [info.n_frames - 1, 0, info.n_frames // 3, info.n_frames // 2 + 7]  # out of order on purpose
    stills = stills_at(path, [i / info.fps for i in wanted], height=90)
    height, width = stills[0].shape[:2]
    assert height == 90 and width % 2 == 0 and width == pytest.approx(90 * info.width / info.height, abs=2)
    decoded = {}
    for picks, frames in iter_sampled_frames(path, stride=1, batch_size=64, size=(width, height)):
        decoded.update((int(p), f) for p, f in zip(picks, frames, strict=True) if p in wanted)
    for index, still in zip(wanted, stills, strict=True):
        assert np.array_equal(still, decoded[index]), f"{name}: frame {index}"


def test_a_time_past_the_end_gives_the_last_frame(shared_media):
    path = shared_media / "bikes.mp4"
    last, past = stills_at(path, [9.96, 60.0], height=64)
    assert np.array_equal(last, past)


def test_not_a_video_is_one_line(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n")
    with pytest.raises(SemsumError, match="notes.mp4: not a readable video file"):
        stills_at(bad, [1.0])
