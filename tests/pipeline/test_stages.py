"""The summarize stages pass immutable results, and caching wraps them: keyed by each stage's name and declared
options, in the folder the caller names, with progress through a callback (random-init GoogLeNet, 64 px)."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest
import torch

from semsum.features.pool5 import build_extractor
from semsum.pipeline import CoverageScorer, SamplingConfig, sample_video, summarize
from semsum.pipeline.cache import ARRAYS, stage_key
from semsum.pipeline.scorers import score_video
from semsum.summary.shots import KTSDetector, KTSOptions, detect_shots, make_units


@pytest.fixture(scope="module")
def extractor():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield build_extractor(random_init=True, input_size=64)
    torch.set_num_threads(threads)


def test_each_stage_returns_an_immutable_result(shared_media, extractor):
    video, _ = sample_video(shared_media / "bikes.mp4", extractor, SamplingConfig(stride=15))
    shots = detect_shots(KTSDetector(), video)
    units = make_units(shots, video, max_steps=3)
    scores = score_video(CoverageScorer(), video, units)
    assert shots.detector == "kts" and len(units) >= len(shots.frames) and scores.steps.shape == (video.n_steps,)
    assert units.segments[-1, 1] == video.n_steps - 1 and scores.frames.shape == (video.n_frames,)
    for array in (video.picks, video.times, video.features["features"], shots.frames, units.segments, scores.steps):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0
    with pytest.raises(TypeError):
        video.features["more"] = video.features["features"]
    for result, name in ((video, "n_frames"), (shots, "detector"), (units, "frames"), (scores, "scorer")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, name, None)


class _Counted(KTSDetector):
    """KTS counting its runs."""

    calls = 0

    def __call__(self, video, progress=None):
        _Counted.calls += 1
        return super().__call__(video, progress)


class _Undeclared:
    """A detector with no declared options (as a plugin may be): never cached, so it runs every time."""

    name = "undeclared"
    calls = 0

    def __call__(self, video):
        _Undeclared.calls += 1
        return np.array([[0, video.n_frames - 1]])


class _Interrupting:
    """A scorer interrupted as by Ctrl-C."""

    name = "interrupting"

    def __call__(self, video, units):
        raise KeyboardInterrupt


def test_the_cache_is_the_callers_folder_keyed_by_declared_options(tmp_path, shared_media, extractor, feature_cache):
    clip, cache = shared_media / "bikes.mp4", tmp_path / "cache"
    before = sorted(feature_cache.iterdir())
    seen = []

    def record(stage, done, total):
        seen.append((stage, done, total))

    def run(detector, out):
        return summarize(clip, tmp_path / out, CoverageScorer(), extractor, detector, cache_dir=cache, progress=record)

    first = run(_Counted(), "a")
    assert sorted(feature_cache.iterdir()) == before  # not $SEMSUM_CACHE: the folder given
    doc = json.loads(first.scores_path.read_text())
    assert doc["features_cache"] == str(first.features_cache) and first.features_cache.parent == cache
    assert list(cache.iterdir()) == [first.features_cache]  # one entry: the features, and KTS's shots inside
    names = sorted(p.name for p in first.features_cache.iterdir())
    assert names == sorted([*(f"{name}.npy" for name in ARRAYS), "meta.json", "stages"])
    assert len(list(cache.glob("*/stages/*/meta.json"))) == 1
    stages = [s for s, _, _ in seen]
    order = ["features", "shots", "units", "scores", "summary"]
    assert [s for i, s in enumerate(stages) if s not in stages[:i]] == order
    assert seen[stages.index("shots") - 1] == ("features", first.video.n_steps, first.video.n_steps)
    assert seen[-1] == ("summary", first.summary_frames, first.summary_frames)
    for stage in order:  # each starts at 0 of an unknown total, only goes forward, and ends with done == total
        updates = [(d, t) for s, d, t in seen if s == stage]
        assert updates[0] in ((0, None), (0, updates[-1][1])) and updates[-1][0] == updates[-1][1] > 0
        assert all(d1 <= d2 for (d1, _), (d2, _) in itertools.pairwise(updates)), (stage, updates)
    kts_layers = [(d, t) for s, d, t in seen if s == "shots"][1:-1]
    assert kts_layers and all(0 < d <= t for d, t in kts_layers)  # KTS reports its layers as it goes
    run(_Counted(), "b")
    assert _Counted.calls == 1  # the same name and options: the cached shots
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C while scoring: the shots detected before it are kept
        summarize(clip, tmp_path / "x", _Interrupting(), extractor, _Counted(KTSOptions(3)), cache_dir=cache)
    run(_Counted(KTSOptions(max_segment=3)), "f")
    assert _Counted.calls == 2 and not (tmp_path / "x").exists()
    other = run(_Counted(KTSOptions(max_segment=2)), "c")
    assert _Counted.calls == 3 and len(list(cache.glob("*/stages/*/meta.json"))) == 3  # another option, another entry
    assert len(other.shots) > len(first.shots)
    for out in ("d", "e"):
        run(_Undeclared(), out)
    assert _Undeclared.calls == 2 and len(list(cache.glob("*/stages/*/meta.json"))) == 3


def test_a_stage_key_is_its_name_and_declared_options():
    assert stage_key(KTSDetector(KTSOptions(max_segment=7))) == {
        "name": "kts",
        "options": {"max_segment": 7, "feature_key": "features"},
    }
    assert stage_key(_Undeclared()) is None


def test_sampling_step_is_the_deprecated_name_of_stride():
    with pytest.warns(DeprecationWarning, match=r"`SamplingConfig\(step=...\)` is deprecated .*: use stride="):
        sampling = SamplingConfig(step=30)
    assert sampling == SamplingConfig(stride=30) and sampling.to_dict() == {"step": 30}  # scores.json's key stays
    with pytest.warns(DeprecationWarning, match="`SamplingConfig.step` is deprecated .*: use SamplingConfig.stride"):
        assert sampling.step == 30
