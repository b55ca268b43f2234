"""Decoding and sampling on the six real clips, and one-line errors on broken inputs."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from semsum.errors import SemsumError
from semsum.video.decode import iter_sampled_frames, probe

# name: (n_frames, fps, width, height, has_audio), from ffprobe-style counting of decoded frames.
CLIPS = {
    "big_buck_bunny_0_30.webm": (720, 24.0, 1280, 720, True),
    "bikes.mp4": (250, 25.0, 640, 272, False),
    "bottle-detection.mp4": (1189, 179 / 6, 640, 360, False),
    "car-detection.mp4": (377, 12.5, 768, 432, True),
    "one-by-one-person-detection.mp4": (1394, 10.0, 768, 432, False),
    "vtest.avi": (795, 10.0, 768, 576, False),
}


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_probe_and_step_sampling_on_real_clips(shared_media, name):
    n_frames, fps, width, height, has_audio = CLIPS[name]
    info = probe(shared_media / name)
    assert (info.n_frames, info.width, info.height, info.has_audio) == (n_frames, width, height, has_audio)
    assert info.fps == pytest.approx(fps, rel=1e-6)
    assert info.duration == pytest.approx(n_frames / fps, abs=0.1)
    sampler = iter_sampled_frames(shared_media / name, step=15, batch_size=16, size=(64, 48))
    picks = []
    for batch_picks, frames in sampler:
        assert frames.dtype == np.uint8 and frames.shape[1:] == (48, 64, 3) and len(frames) == len(batch_picks)
        assert len(batch_picks) <= 16
        picks.append(batch_picks)
    assert np.array_equal(np.concatenate(picks), np.arange(0, n_frames, 15))
    assert sampler.n_decoded == n_frames


def test_webm_without_frame_count_is_counted_by_decoding(shared_media):
    info = probe(shared_media / "big_buck_bunny_0_30.webm")
    assert info.n_frames_source == "decoded"
    assert probe(shared_media / "bikes.mp4").n_frames_source == "container"


def test_fps_sampling_uses_timestamps(shared_media):
    # 25 fps clip at 2 fps: every 12.5 frames on average, first frame at or after each 0.5 s mark.
    picks = np.concatenate([p for p, _ in iter_sampled_frames(shared_media / "bikes.mp4", fps=2, size=(32, 32))])
    assert np.array_equal(picks, np.ceil(np.arange(20) * 12.5).astype(int))


def test_full_size_frames_match_the_stream(shared_media):
    picks, frames = next(iter(iter_sampled_frames(shared_media / "bikes.mp4", step=100, batch_size=8)))
    assert list(picks) == [0, 100, 200] and frames.shape == (3, 272, 640, 3)


def test_broken_inputs_give_one_line_errors(tmp_path, shared_media):
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes((shared_media / "bikes.mp4").read_bytes()[:20_000])
    for path, problem in [
        (text, "not a readable video file"),
        (empty, "empty file"),
        (truncated, "not a readable video file"),
        (tmp_path / "missing.mp4", "no such file"),
    ]:
        with pytest.raises(SemsumError, match=problem) as e:
            probe(path)
        assert str(path) in str(e.value) and "\n" not in str(e.value)
        with pytest.raises(SemsumError, match=problem):
            list(iter_sampled_frames(path))


def test_invalid_sampling_arguments(shared_media, tmp_path):
    clip = tmp_path / "bikes.mp4"
    shutil.copy(shared_media / "bikes.mp4", clip)
    with pytest.raises(SemsumError, match="either step or fps"):
        iter_sampled_frames(clip, step=15, fps=2)
    with pytest.raises(SemsumError, match="invalid sampling"):
        iter_sampled_frames(clip, step=0)
