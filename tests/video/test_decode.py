"""Decoding and sampling on the six real clips, and one-line errors on broken inputs."""

from __future__ import annotations

import shutil
from fractions import Fraction

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
    sampler = iter_sampled_frames(shared_media / name, stride=15, batch_size=16, size=(64, 48))
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
    quick = probe(shared_media / "big_buck_bunny_0_30.webm", count=False)
    assert (quick.n_frames, quick.n_frames_source) == (720, "estimated")
    assert probe(shared_media / "bikes.mp4").n_frames_source == "container"


def test_fps_sampling_uses_timestamps(shared_media):
    # 25 fps clip at 2 fps: every 12.5 frames on average, first frame at or after each 0.5 s mark.
    picks = np.concatenate([p for p, _ in iter_sampled_frames(shared_media / "bikes.mp4", fps=2, size=(32, 32))])
    assert np.array_equal(picks, np.ceil(np.arange(20) * 12.5).astype(int))


def test_full_size_frames_match_the_stream(shared_media):
    picks, frames = next(iter(iter_sampled_frames(shared_media / "bikes.mp4", stride=100, batch_size=8)))
    assert list(picks) == [0, 100, 200] and frames.shape == (3, 272, 640, 3)


def test_broken_inputs_give_one_line_errors(broken_videos):
    for path, problem in [
        (broken_videos["text"], "not a readable video file"),
        (broken_videos["empty"], "empty file"),
        (broken_videos["header_cut"], "not a readable video file"),
        (broken_videos["missing"], "no such file"),
    ]:
        with pytest.raises(SemsumError, match=problem) as e:
            probe(path)
        assert str(path) in str(e.value) and "\n" not in str(e.value)
        with pytest.raises(SemsumError, match=problem):
            list(iter_sampled_frames(path))


def test_invalid_sampling_arguments(shared_media, tmp_path):
    clip = tmp_path / "bikes.mp4"
    shutil.copy(shared_media / "bikes.mp4", clip)
    with pytest.raises(SemsumError, match="either stride or fps"):
        iter_sampled_frames(clip, stride=15, fps=2)
    with pytest.raises(SemsumError, match="invalid sampling"):
        iter_sampled_frames(clip, stride=0)


def _write(path, times, size=(64, 48), rotation=0, codec="libx264", pix_fmt="yuv420p", **options):
    """A video whose frame i is shown at times[i] seconds (time base 1/1000), with a white top-left block."""
    import av

    with av.open(str(path), "w", options=options) as c:
        s = c.add_stream(codec, rate=25)
        s.width, s.height, s.pix_fmt = *size, pix_fmt
        s.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            s.set_display_rotation(rotation)
        for i, t in enumerate(times):
            img = np.full((size[1], size[0], 3), 40 + 20 * (i % 5), np.uint8)
            img[: size[1] // 3, : size[0] // 3] = 255
            frame = av.VideoFrame.from_ndarray(img)
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            c.mux(s.encode(frame))
        c.mux(s.encode())


def test_variable_frame_rate_is_sampled_by_time(tmp_path):
    # 1 s at 10 fps, then 1 s at 40 fps: 50 frames; 4 fps sampling takes one frame per 0.25 s either way.
    times = list(np.arange(10) / 10) + list(1 + np.arange(40) / 40)
    path = tmp_path / "vfr.mp4"
    _write(path, times)
    assert probe(path).n_frames == 50
    picks = np.concatenate([p for p, _ in iter_sampled_frames(path, fps=4)])
    assert list(picks) == [0, 3, 5, 8, 10, 20, 30, 40]
    whole = iter_sampled_frames(path, fps=4)
    list(whole)
    resumed = iter_sampled_frames(path, fps=4, resume=(picks[:3], np.asarray(whole.times[:3])))
    assert [int(p) for batch, _ in resumed for p in batch] == [8, 10, 20, 30, 40]  # the time grid continues
    step = np.concatenate([p for p, _ in iter_sampled_frames(path, stride=15)])
    assert list(step) == [0, 15, 30, 45]


@pytest.mark.parametrize(("rotation", "corner"), [(90, (-1, 0)), (-90, (0, -1)), (180, (-1, -1))])
def test_display_rotation_is_applied(tmp_path, rotation, corner):
    path = tmp_path / "rotated.mp4"
    _write(path, np.arange(5) / 25, size=(64, 48), rotation=rotation)
    info = probe(path)
    assert info.rotation == rotation % 360
    assert (info.width, info.height) == ((48, 64) if rotation % 180 else (64, 48))
    _, frames = next(iter(iter_sampled_frames(path, stride=1)))
    assert frames.shape[1:3] == (info.height, info.width)
    # The white block starts top-left; a counter-clockwise quarter turn moves it to the bottom-left.
    assert frames[0][corner][0] > 200 and frames[0][0, 0, 0] < 200


def test_odd_sizes_decode_as_is(tmp_path):
    path = tmp_path / "odd.mkv"
    _write(path, np.arange(10) / 25, size=(65, 49), codec="ffv1")
    assert (probe(path).width, probe(path).height) == (65, 49)
    _, frames = next(iter(iter_sampled_frames(path, stride=5)))
    assert frames.shape == (2, 49, 65, 3)


def test_truncated_and_audio_only_files(tmp_path):
    import av

    whole = tmp_path / "whole.mp4"
    _write(whole, np.arange(100) / 25, movflags="faststart")  # index first: a cut file still opens
    cut = tmp_path / "cut.mp4"
    for fraction in (0.3, 0.5, 0.8, 0.95):  # cut mid-packet or between packets: either way an error
        cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * fraction)])
        with pytest.raises(SemsumError, match="truncated"):
            list(iter_sampled_frames(cut))
    audio_only = tmp_path / "speech.m4a"
    with av.open(str(audio_only), "w") as c:
        s = c.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        c.mux(s.encode(frame))
        c.mux(s.encode())
    with pytest.raises(SemsumError, match="has no video stream"):
        probe(audio_only)


@pytest.mark.parametrize(
    ("name", "sampling"),
    [("bikes.mp4", {"stride": 15}), ("big_buck_bunny_0_30.webm", {"fps": 2.0}), ("vtest.avi", {"stride": 7})],
)
def test_a_resumed_sampler_seeks_past_the_prefix(shared_media, monkeypatch, name, sampling):
    """Resuming after a prefix of picks decodes from the keyframe before its last pick, not from the start, and
    yields exactly the picks, times and frames the whole pass yields after that prefix."""
    from semsum.video import decode

    path = shared_media / name
    whole = iter_sampled_frames(path, batch_size=8, size=(32, 24), **sampling)
    batches = list(whole)
    picks = np.concatenate([p for p, _ in batches])
    frames = np.concatenate([f for _, f in batches])
    k = len(picks) * 2 // 3
    counted = []

    def counting(*args):
        for frame in _frames(*args):
            counted.append(frame)
            yield frame

    _frames = decode._frames
    monkeypatch.setattr(decode, "_frames", counting)
    resumed = iter_sampled_frames(path, batch_size=8, size=(32, 24), resume=(picks[:k], whole.times[:k]), **sampling)
    rest = list(resumed)
    np.testing.assert_array_equal(np.concatenate([p for p, _ in rest]), picks[k:])
    np.testing.assert_array_equal(np.concatenate([f for _, f in rest]), frames[k:])
    assert resumed.times == whole.times and resumed.n_decoded == whole.n_decoded
    assert len(counted) < whole.n_decoded * 0.6  # sought: the first two thirds were not decoded again
