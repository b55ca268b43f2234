"""Decoding only the reference frames (`reference_only`: summarize, shots from the features) against a full decode."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from semsum.pipeline.sampling import SamplingConfig
from semsum.summary.shots import make_shot_detector
from semsum.video.decode import FrameSampler, _open, _reference_frames, _stream, probe

SIZE = (64, 48)


def _sampled(path, reference_only: bool, **sampling) -> tuple[np.ndarray, np.ndarray, FrameSampler]:
    sampler = FrameSampler(path, batch_size=16, size=SIZE, reference_only=reference_only, **sampling)
    batches = list(sampler)
    return np.concatenate([p for p, _ in batches]), np.concatenate([f for _, f in batches]), sampler


@pytest.mark.parametrize("name", ["bikes.mp4", "one-by-one-person-detection.mp4"])
@pytest.mark.parametrize("sampling", [{"stride": 15}, {"stride": 4}, {"fps": 2.0}], ids=str)
def test_each_pick_is_the_frame_a_full_decode_has_at_that_index_and_near_the_grid(shared_media, name, sampling):
    path = shared_media / name
    exact, _, full = _sampled(path, False, **sampling)
    picks, frames, less = _sampled(path, True, **sampling)
    every, all_frames, _ = _sampled(path, False, stride=1)
    assert less.skips and less.n_decoded == full.n_decoded == len(every)
    assert len(picks) == len(exact) and np.all(np.diff(picks) > 0)
    assert 0 < np.abs(picks - exact).max() <= 2  # B-frames skipped: some picks moved, by a frame or two
    np.testing.assert_array_equal(frames, all_frames[picks])  # the index is the frame's, bit for bit
    with av.open(str(path)) as c:
        rate = float(c.streams.video[0].average_rate)
    np.testing.assert_allclose(less.times, picks / rate, atol=0.5 / rate)


def test_the_decoder_skips_the_frames_nothing_refers_to(shared_media):
    with _open(shared_media / "bottle-detection.mp4") as container:
        counted: list[int] = []
        decoded = [i for i, _ in _reference_frames(container, _stream(container, 1), counted)]
    assert len(counted) == 1189 and 500 < len(decoded) < 700  # x264's B-frames: about half the frames
    assert decoded == sorted(set(decoded)) and decoded[0] == 0


@pytest.mark.parametrize("name", ["big_buck_bunny_0_30.webm", "vtest.avi", "car-detection.mp4"])
def test_where_nothing_is_skipped_the_picks_are_those_of_a_full_decode(shared_media, name):
    exact, frames, full = _sampled(shared_media / name, False, stride=15)
    picks, same_frames, less = _sampled(shared_media / name, True, stride=15)
    assert not less.skips  # VP8 and MS-MPEG-4 decode in full, and so does H.264 without B-frames (nothing to skip)
    assert not probe(shared_media / name).skips_nonref
    np.testing.assert_array_equal(picks, exact)
    np.testing.assert_array_equal(same_frames, frames)
    assert less.times == full.times and less.n_decoded == full.n_decoded


def test_a_raw_stream_is_decoded_in_full_and_the_video_says_so(shared_media, tmp_path):
    """A raw H.264 stream has no timestamps to count frames by: every frame is decoded, and `skips_nonref` (what
    summarize asks before it records picks "from reference frames") says so as well."""
    raw = tmp_path / "bottle.h264"
    with av.open(str(shared_media / "bottle-detection.mp4")) as src, av.open(str(raw), "w", format="h264") as dst:
        stream = src.streams.video[0]
        out = dst.add_stream_from_template(stream)
        for packet in src.demux(stream):
            if packet.dts is not None and packet.size:
                packet.stream = out
                dst.mux(packet)
    info = probe(raw)
    assert info.codec == "h264" and info.b_frames and info.container == "h264"
    assert not info.skips_nonref and probe(shared_media / "bottle-detection.mp4").skips_nonref
    *_, sampler = _sampled(raw, True, stride=15)
    assert not sampler.skips


@pytest.mark.parametrize("sampling", [{"stride": 15}, {"fps": 3.0}], ids=str)
def test_a_resumed_pass_continues_with_the_same_picks(shared_media, sampling):
    path = shared_media / "one-by-one-person-detection.mp4"
    picks, frames, whole = _sampled(path, True, **sampling)
    prefix = (picks[:20], np.asarray(whole.times[:20]))
    resumed = FrameSampler(path, batch_size=16, size=SIZE, resume=prefix, reference_only=True, **sampling)
    batches = list(resumed)
    np.testing.assert_array_equal(np.concatenate([p for p, _ in batches]), picks[20:])
    np.testing.assert_array_equal(np.concatenate([f for _, f in batches]), frames[20:])
    assert resumed.times == whole.times and resumed.n_decoded == whole.n_decoded


class _Plugin:
    name = "plugin"

    def __call__(self, video, progress=None):
        raise AssertionError("not run here")


def test_summarize_decodes_less_only_where_shots_come_from_the_features(shared_media):
    h264, vp8 = probe(shared_media / "bikes.mp4"), probe(shared_media / "big_buck_bunny_0_30.webm")
    kts, transnetv2 = make_shot_detector("kts"), make_shot_detector("transnetv2")
    auto_kts, auto_content = make_shot_detector("auto", cpu_frames=1), make_shot_detector("auto")
    sampled = SamplingConfig(stride=15)  # as `summarize` resolved it
    assert sampled.for_shots(kts, h264).reference_only is True
    assert sampled.for_shots(auto_kts, h264).reference_only is True  # beyond `auto`'s --cpu-frames: KTS
    assert sampled.for_shots(auto_content, h264).reference_only is False  # a short one: content reads every frame
    assert sampled.for_shots(transnetv2, h264).reference_only is False
    assert sampled.for_shots(_Plugin(), h264).reference_only is False  # declares nothing: taken to read the frames
    assert sampled.for_shots(kts, vp8).reference_only is False  # VP8: nothing to gain
    assert sampled.for_shots(kts, probe(shared_media / "car-detection.mp4")).reference_only is False
    assert SamplingConfig(stride=3).for_shots(kts, h264).reference_only is False  # too dense
    exact = SamplingConfig(stride=None, reference_only=False)
    assert exact.for_shots(kts, h264) is exact
    assert SamplingConfig().sampler(shared_media / "bikes.mp4").reference_only is False  # dataset files: exact picks


def test_scores_json_records_the_picks_actually_encoded(tmp_path):
    from semsum.features.pool5 import build_extractor
    from semsum.pipeline import CoverageScorer, summarize
    from semsum.summary.shots import KTSDetector
    from semsum.video.synthetic import make_scene_video

    video = tmp_path / "scenes.mp4"
    make_scene_video(video, (3, 3, 3), fps=30, size=(96, 64), audio=False)  # x264's defaults: B-frames
    extractor = build_extractor(random_init=True, input_size=32)
    docs = {}
    for ref in (None, False):
        sampling = SamplingConfig(stride=15, reference_only=ref)
        out, cache = tmp_path / f"out_{ref}", tmp_path / f"cache_{ref}"
        summarize(
            video, out, CoverageScorer(), extractor, KTSDetector(), sampling, cache_dir=cache, show_progress=False
        )
        docs[ref] = json.loads((out / "scores.json").read_text())
    now, exact = docs[None], docs[False]
    assert (now["picks_from"], exact["picks_from"]) == ("reference frames", "every frame")
    assert exact["picks"] == list(range(0, 270, 15)) and now["n_frames"] == exact["n_frames"] == 270
    moved = np.abs(np.array(now["picks"]) - exact["picks"])
    assert 0 < moved.max() <= 2 and now["sampling"] == exact["sampling"] == {"step": 15}
