"""Shot detectors behind one interface: conversions between steps and frames, the checks, the KTS detector."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from semsum.errors import SemsumError
from semsum.summary.kts import kts
from semsum.summary.shots import (
    KTSDetector,
    Units,
    boundaries_to_shots,
    check_shots,
    cuts_to_shots,
    make_shot_detector,
    step_segments,
)


def test_shots_from_step_boundaries():
    picks = np.arange(0, 100, 15)  # 7 steps
    assert boundaries_to_shots(np.array([2, 5]), picks, 100).tolist() == [[0, 29], [30, 74], [75, 99]]
    assert boundaries_to_shots(np.array([], dtype=int), picks, 100).tolist() == [[0, 99]]


def test_step_segments_of_pick_aligned_shots_are_the_kts_segments():
    picks = np.arange(0, 100, 15)
    assert step_segments(boundaries_to_shots(np.array([2, 5]), picks, 100), picks).tolist() == [[0, 1], [2, 4], [5, 6]]


@pytest.mark.parametrize(
    ("shots", "problem"),
    [
        (np.array([[1, 9]]), "covering frames 0-9"),
        (np.array([[0, 4], [6, 9]]), "contiguous"),
        (np.array([[0, 4], [5, 8]]), "covering frames 0-9"),
        (np.array([[0, 4], [5, 3], [4, 9]]), "contiguous"),
        (np.zeros((0, 2), dtype=int), "integer array"),
        (np.array([[0.0, 9.0]]), "integer array"),
    ],
)
def test_check_shots_names_the_problem(shots, problem):
    with pytest.raises(SemsumError, match=problem):
        check_shots(shots, 10, "clip.mp4: shot detector x")
    assert check_shots(np.array([[0, 4], [5, 9]], dtype=np.int32), 10, "x").dtype == np.int64


def test_kts_detector_is_kts_in_frames_and_built_by_name():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(20, 8)) + 5 * rng.normal(size=8) for _ in range(3)])
    video = SimpleNamespace(path=Path("v.mp4"), n_frames=900, picks=np.arange(0, 900, 15), features={"features": x})
    detector = make_shot_detector("kts", device="cpu", max_segment=0)
    assert isinstance(detector, KTSDetector) and detector.options.max_segment is None  # 0: unbounded, as None
    with pytest.raises(
        SemsumError, match=r"^shot detector kts takes no option --threshold \(its options: --max-segment\)$"
    ):
        make_shot_detector("kts", device="cpu", max_segment=0, threshold=0.9)
    shots = detector(video)
    np.testing.assert_array_equal(shots, boundaries_to_shots(kts(x, max_segment=None), video.picks, 900))
    assert shots[1:, 0].tolist() == [300, 600]
    with pytest.raises(SemsumError, match="KTS needs the feature key 'features'"):
        detector(SimpleNamespace(path=Path("v.mp4"), n_frames=900, picks=video.picks, features={}))


def test_auto_runs_content_on_a_cpu_and_kts_beyond_cpu_frames_if_set(shared_media):
    from semsum.summary.shots import AutoDetector

    clip = shared_media / "bikes.mp4"  # 250 frames, hard cuts at 30, 76, 137, 187, 242
    rng = np.random.default_rng(0)
    short = SimpleNamespace(
        path=clip, n_frames=250, picks=np.arange(0, 250, 15), features={"features": rng.random((17, 8))}
    )
    auto = make_shot_detector("auto", device="cpu", cpu_frames=9000)
    assert isinstance(auto, AutoDetector) and auto.name == "auto"
    assert auto(short)[1:, 0].tolist() == [30, 76, 137, 187, 242] and auto.name_for(short) == "auto: content"
    x = np.concatenate([rng.normal(size=(60, 8)) + 5 * rng.normal(size=8) for _ in range(2)])
    long = SimpleNamespace(path=clip, n_frames=9001, picks=np.arange(0, 9001, 76)[:120], features={"features": x})
    assert auto(long)[1:, 0].tolist() == [60 * 76] and auto.name_for(long) == "auto: kts"
    assert auto.name == "auto" and auto.name_for(short) == "auto: content"  # no state left by the last video
    few = make_shot_detector("auto", device="cpu", cpu_frames=249)
    assert few.name_for(short) == "auto: kts"
    unbounded = make_shot_detector("auto", device="cpu")  # the default, 0: the content detector on every video
    assert unbounded.options.cpu_frames == 0 and unbounded.name_for(long) == "auto: content"


def test_auto_runs_transnetv2_on_a_gpu_whatever_the_length():
    from semsum.summary.shots import AutoDetector, AutoOptions

    auto = AutoDetector(AutoOptions(), device="cpu")
    auto.options = replace(auto.options, gpu=True)  # as built on a CUDA device (none here); nothing is loaded
    for n_frames in (250, 100_000):
        assert auto.name_for(SimpleNamespace(n_frames=n_frames)) == "auto: transnetv2"


def test_units_steps_is_the_deprecated_name_of_segments():
    units = Units(np.array([[0, 29], [30, 99]]), np.array([[0, 1], [2, 6]]))
    with pytest.warns(DeprecationWarning, match="`Units.steps` is deprecated .*: use Units.segments"):
        assert units.steps is units.segments


def test_cuts_to_shots_start_a_shot_at_frame_0_and_at_each_cut():
    assert cuts_to_shots(np.array([3, 7]), 10).tolist() == [[0, 2], [3, 6], [7, 9]]
    assert cuts_to_shots(np.array([], dtype=np.int64), 1).tolist() == [[0, 0]]
    assert cuts_to_shots([3], 10).dtype == np.int64
