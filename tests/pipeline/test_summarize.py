"""`summarize` end to end: a generated 5-scene video and the six real clips (random-init GoogLeNet, 64 px)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from semsum.errors import SemsumError
from semsum.features.pool5 import build_extractor
from semsum.pipeline import CoverageScorer, SamplingConfig, sample_video, summarize
from semsum.summary import content
from semsum.summary.shots import KTSDetector, content_units, detect_shots, step_segments
from semsum.video.decode import iter_sampled_frames, probe
from semsum.video.synthetic import make_scene_video

STRIDE = 15


@pytest.fixture(scope="module")
def extractor():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two shared cores: one thread avoids OpenMP oversubscription stalls
    yield build_extractor(random_init=True, input_size=64)
    torch.set_num_threads(threads)


def _check_outputs(result, budget=0.15):
    """summary.mp4 decodes, matches scores.json, and lasts at most the budget plus one shot."""
    doc = json.loads(result.scores_path.read_text())
    info = probe(result.summary_path, exact=True)
    shots = doc["units"]
    assert shots[0]["start_frame"] == 0 and shots[-1]["end_frame"] == doc["n_frames"] - 1
    assert all(a["end_frame"] + 1 == b["start_frame"] for a, b in itertools.pairwise(shots))
    chosen = [s for s in shots if s["selected"]]
    assert [shots.index(s) for s in chosen] == doc["selected_units"] and chosen
    kept = sum(s["end_frame"] - s["start_frame"] + 1 for s in chosen)
    assert info.n_frames == kept == doc["summary"]["n_frames"]
    longest = max(s["end_frame"] - s["start_frame"] + 1 for s in shots)
    assert kept <= budget * doc["n_frames"] + longest
    assert info.fps == pytest.approx(doc["fps"], rel=1e-3)
    assert info.has_audio == doc["has_audio"] == doc["summary"]["has_audio"]
    written = doc["summary"]  # how the writer made it: frames copied and re-encoded, and why it re-encoded
    assert written["frames_copied"] + written["frames_encoded"] == kept
    assert (written["writer"] == "smart cut") == (written["frames_copied"] > 0) == (not written["why_encoded"])
    assert len(doc["frame_scores"]) == doc["n_frames"] and len(doc["step_scores"]) == len(doc["picks"])
    means = [np.mean(doc["frame_scores"][s["start_frame"] : s["end_frame"] + 1]) for s in shots]
    np.testing.assert_allclose(means, [s["score"] for s in shots], atol=1e-5)
    assert doc["scorer"].startswith("coverage") and doc["shot_detector"] == "kts"
    assert doc["features"] == {"encoder": "googlenet", "description": "GoogLeNet pool5, random-init", "dim": 1024}
    assert result.timeline_path.stat().st_size > 10_000
    return doc


def _near(boundaries, cuts, n_frames, tol=STRIDE):
    """Every cut has a KTS boundary (or the video's end) within `tol` frames."""
    ends = np.concatenate([boundaries, [n_frames]])
    return all(np.abs(ends - c).min() <= tol for c in cuts)


def test_generated_five_scene_video_end_to_end(tmp_path, extractor):
    video = tmp_path / "scenes.mp4"
    cuts = make_scene_video(video, scene_seconds=(12, 12, 12, 12, 12), fps=15, size=(96, 72))
    result = summarize(video, tmp_path / "out", CoverageScorer(), extractor, KTSDetector(), show_progress=False)
    boundaries = result.shots[1:, 0]
    assert len(boundaries) == len(cuts) and np.abs(boundaries - np.array(cuts)).max() <= STRIDE
    doc = _check_outputs(result)
    assert doc["shot_boundaries"] == boundaries.tolist() and doc["duration"] == pytest.approx(60.0)
    assert result.summary_seconds <= 0.15 * 60 + 12
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["scores.json", "summary.mp4", "timeline.png"]


# Why the writer re-encodes the clips whose packets cannot be copied into an H.264 mp4 (scores.json says it).
WHY_ENCODED = {
    "big_buck_bunny_0_30.webm": "the video is vp8, not H.264",
    "vtest.avi": "the video is msmpeg4, not H.264",
}
# Hard cuts checked by eye on the decoded frames (first frame of the new shot); see docs/summarize.md.
REAL_CUTS = {"bikes.mp4": [30, 76, 137, 187, 242], "big_buck_bunny_0_30.webm": [283, 376, 551]}


@pytest.mark.parametrize(
    "name",
    [
        "big_buck_bunny_0_30.webm",
        "bikes.mp4",
        "bottle-detection.mp4",
        "car-detection.mp4",
        "one-by-one-person-detection.mp4",
        "vtest.avi",
    ],
)
def test_summarize_real_clips(tmp_path, shared_media, extractor, name):
    result = summarize(
        shared_media / name, tmp_path / "out", CoverageScorer(), extractor, KTSDetector(), show_progress=False
    )
    _check_outputs(result)
    assert result.summary_has_audio == probe(shared_media / name).has_audio
    if name in WHY_ENCODED:
        assert result.summary_writer["why_encoded"] == WHY_ENCODED[name]
    if name in REAL_CUTS:
        boundaries = result.shots[1:, 0]
        assert _near(boundaries, REAL_CUTS[name], result.video.n_frames)
        assert len(boundaries) <= 3 * len(REAL_CUTS[name])  # and not a boundary everywhere
    # What a person wants to watch: several moments, the budget filled, never exceeded.
    doc = json.loads(result.scores_path.read_text())
    kept = [u for u in doc["units"] if u["selected"]]
    segments = sum(
        1 for a, b in itertools.pairwise([None, *kept]) if a is None or b["start_frame"] != a["end_frame"] + 1
    )
    assert segments >= (3 if doc["duration"] > 60 else 2)
    assert 0.85 * doc["budget"] * doc["n_frames"] <= result.summary_frames <= doc["budget"] * doc["n_frames"]


def test_long_shots_become_several_content_units():
    picks = np.arange(0, 300, 15)
    x = np.repeat(np.eye(4) * 10, [6, 4, 5, 5], axis=0)  # four blocks of steps with different content
    units = content_units(np.array([[0, 40], [41, 299]]), picks, x, max_steps=6)
    # The first shot stays whole; the second is split where its content changes (steps 6, 10, 15), never
    # into equal budget-sized pieces; parts start at picks, the shot keeps its own first frame.
    assert units.tolist() == [[0, 40], [41, 89], [90, 149], [150, 224], [225, 299]]
    assert all(len(np.flatnonzero((picks >= s) & (picks <= e))) <= 6 for s, e in units)
    assert step_segments(units, picks).tolist() == [[0, 2], [3, 5], [6, 9], [10, 14], [15, 19]]


def test_step_segments_skip_shots_without_a_pick():
    shots = np.array([[0, 20], [21, 25], [26, 59]])  # the middle shot holds no pick
    assert step_segments(shots, np.arange(0, 60, 15)).tolist() == [[0, 1], [2, 3]]


class _RedScorer:
    """A pixel scorer through the interface: how red each sampled frame is (re-decoded via iter_frames)."""

    name = "red (test scorer)"

    def __call__(self, video, units):
        picks, reds = [], []
        for batch_picks, frames in video.iter_frames(batch_size=7, size=(16, 16)):
            picks.append(batch_picks)
            reds.append(frames[..., 0].mean(axis=(1, 2)) - frames[..., 1:].mean(axis=(1, 2, 3)))
        assert np.array_equal(np.concatenate(picks), video.picks)
        assert video.features["features"].shape == (video.n_steps, 1024)
        return np.concatenate(reds)


def test_a_custom_scorer_drives_the_selection(tmp_path, extractor):
    from semsum.video.synthetic import scene_frame

    video = tmp_path / "scenes.mp4"
    make_scene_video(video, scene_seconds=(4, 4, 4), fps=15, size=(64, 48), audio=False)
    redness = [scene_frame(s, 0.5, 64, 48).astype(float) for s in range(3)]
    reddest = int(np.argmax([f[..., 0].mean() - f[..., 1:].mean() for f in redness]))
    result = summarize(video, tmp_path / "out", _RedScorer(), extractor, KTSDetector(), budget=0.3, show_progress=False)
    doc = json.loads(result.scores_path.read_text())
    assert doc["scorer"] == "red (test scorer)"
    kept = [s for s in doc["units"] if s["selected"]]
    red = range(reddest * 60, (reddest + 1) * 60)
    in_red = sum(len(range(max(s["start_frame"], red.start), min(s["end_frame"] + 1, red.stop))) for s in kept)
    assert in_red >= 0.5 * result.summary_frames  # the reddest scene holds most of the summary


class _Counting:
    """The real extractor, counting the frames it runs on and stopping after `stop_after` batches."""

    def __init__(self, inner, stop_after=None):
        self.inner, self.stop_after, self.frames, self.batches = inner, stop_after, 0, 0
        self.name, self.dim, self.input_size, self.description = "googlenet", 1024, inner.input_size, inner.description
        self.options = inner.options  # the same declared options: the same cache entry

    def __call__(self, frames):
        if self.stop_after is not None and self.batches == self.stop_after:
            raise KeyboardInterrupt  # what a user's Ctrl-C does mid-extraction
        self.batches += 1
        self.frames += len(frames)
        return self.inner(frames)


def test_feature_extraction_resumes_after_an_interruption(tmp_path, shared_media, extractor):
    clip, cache = shared_media / "bottle-detection.mp4", tmp_path / "cache"  # 80 sampled frames
    batches = SamplingConfig(batch_size=16)
    clean, _ = sample_video(clip, extractor, batches)
    killed = _Counting(extractor, stop_after=3)
    with pytest.raises(KeyboardInterrupt):  # no periodic save: what is kept is saved on the interrupt itself
        sample_video(clip, killed, batches, cache=cache, save_seconds=1e9)
    resumed = _Counting(extractor)
    video, _ = sample_video(clip, resumed, batches, cache=cache)
    assert (killed.frames, resumed.frames) == (40, 40)  # only the batches not saved before the kill (8 + 16 + 16)
    np.testing.assert_allclose(video.features["features"], clean.features["features"], rtol=1e-5, atol=1e-6)
    assert video.n_frames == clean.n_frames and np.array_equal(video.picks, clean.picks)
    again = _Counting(extractor)
    cached, _ = sample_video(clip, again, batches, cache=cache)
    assert again.frames == 0  # complete: the network does not run again
    np.testing.assert_array_equal(cached.features["features"], video.features["features"])
    np.testing.assert_allclose(cached.times, np.arange(80) * 15 / 29.83, atol=0.02)  # each pick's time, for seeking
    other = _Counting(extractor)
    sample_video(clip, other, SamplingConfig(stride=30, batch_size=16), cache=cache)
    assert other.frames == 40  # other settings: another entry


class _CountedKTS(KTSDetector):
    """KTS, counting its runs (the same name and settings as KTS, so it shares KTS's cached shots)."""

    calls = 0

    def __call__(self, video):
        _CountedKTS.calls += 1
        return super().__call__(video)


def test_a_rerun_neither_decodes_nor_encodes_and_reuses_shots(tmp_path, shared_media, extractor, monkeypatch):
    from semsum.pipeline import sampling

    clip = shared_media / "bikes.mp4"
    first = summarize(clip, tmp_path / "a", CoverageScorer(), extractor, KTSDetector(), show_progress=False)
    _CountedKTS.calls = 0

    def no_decoding(*args, **kwargs):
        raise AssertionError("the re-run decoded the video")

    monkeypatch.setattr(sampling, "iter_sampled_frames", no_decoding)
    counting = _Counting(extractor)
    second = summarize(clip, tmp_path / "b", CoverageScorer(), counting, _CountedKTS(), budget=0.3, show_progress=False)
    assert counting.frames == 0 and _CountedKTS.calls == 0
    np.testing.assert_array_equal(second.shots, first.shots)
    assert second.summary_frames > first.summary_frames  # another budget, same features and shots


def test_a_failing_run_leaves_the_output_folder_as_it_was(tmp_path, shared_media, extractor):
    class Failing:
        name = "failing"

        def __call__(self, video, units):
            raise SemsumError("scorer failed")

    out = tmp_path / "new"
    with pytest.raises(SemsumError, match="scorer failed"):
        summarize(shared_media / "bikes.mp4", out, Failing(), extractor, KTSDetector(), show_progress=False)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "mine.txt").write_text("x")
    with pytest.raises(SemsumError, match="scorer failed"):
        summarize(shared_media / "bikes.mp4", kept, Failing(), extractor, KTSDetector(), show_progress=False)
    assert [p.name for p in kept.iterdir()] == ["mine.txt"]


def test_a_video_shorter_than_any_unit_gets_its_best_unit_and_a_warning(tmp_path, extractor):
    video = tmp_path / "one_second.mp4"
    make_scene_video(video, scene_seconds=(1.0,), fps=30, size=(64, 48), audio=False)
    result = summarize(video, tmp_path / "out", CoverageScorer(), extractor, KTSDetector(), show_progress=False)
    assert len(result.selected) == 1 and result.summary_frames > 0.15 * 30
    assert (
        "over the budget" in result.warnings[0]
        and "over the budget" in json.loads(result.scores_path.read_text())["warnings"][0]
    )


def _counting_decodes(monkeypatch) -> list[str]:
    """The files the content detector decodes by itself from now on (its pass of its own)."""
    decoded: list[str] = []

    def counted(path, **kwargs):
        decoded.append(str(path))
        return iter_sampled_frames(path, **kwargs)

    monkeypatch.setattr(content, "iter_sampled_frames", counted)
    return decoded


def test_content_shots_read_the_sampling_pass(tmp_path, shared_media, extractor, monkeypatch):
    """`summarize` shows every decoded frame to the content detector's watcher: its values equal those of a pass of
    its own, which it then never makes (features not cached yet: a cached pass decodes nothing to show)."""
    clip, detector = shared_media / "bikes.mp4", content.ContentDetector()
    own = detector.values(probe(clip, exact=True))  # 250 frames decoded by the detector itself
    decoded = _counting_decodes(monkeypatch)
    fresh = tmp_path / "cache"
    result = summarize(
        clip, tmp_path / "out", CoverageScorer(), extractor, detector, show_progress=False, cache_dir=fresh
    )
    assert decoded == [] and result.shot_detector == "content"
    np.testing.assert_array_equal(result.video.per_frame[detector.watcher().key], own)
    assert result.shots[1:, 0].tolist() == [30, 76, 137, 187, 242]  # its five hard cuts, as from its own pass


def test_a_resumed_pass_leaves_content_values_to_the_detector(tmp_path, shared_media, extractor, monkeypatch):
    """A pass resumed after an interruption saw only the frames after its prefix: no values are kept from it, and
    the detector decodes the file itself, to the same shots."""
    clip, cache, detector = shared_media / "bikes.mp4", tmp_path / "cache", content.ContentDetector()
    batches = SamplingConfig(batch_size=4)  # 17 sampled frames: 5 batches
    with pytest.raises(KeyboardInterrupt):
        sample_video(clip, _Counting(extractor, stop_after=2), batches, cache=cache, watcher=detector.watcher())
    video, _ = sample_video(clip, extractor, batches, cache=cache, watcher=detector.watcher())
    assert dict(video.per_frame) == {}
    decoded = _counting_decodes(monkeypatch)
    assert detect_shots(detector, video).frames[1:, 0].tolist() == [30, 76, 137, 187, 242]
    assert decoded == [str(clip)]
