"""Content shots: OpenCV's HSV and PySceneDetect's ContentDetector (0.7.2) as oracles, its flash filter on constructed
sequences, edge videos.

Tolerance: none. `content.rgb_to_hsv` is OpenCV's 8-bit arithmetic (checked here on all 2^24 colours), the summed
absolute differences are integers, and the mean and the average of H, S and V are the same float64 operations in the
same order as PySceneDetect's, so on the same frames the values are equal to the bit, and the cuts with them.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import av
import cv2
import numpy as np
import pytest
from scenedetect.common import FrameTimecode
from scenedetect.detector import FlashFilter
from scenedetect.detectors import ContentDetector as PySceneDetectContent
from scenedetect.stats_manager import StatsManager

from semsum.errors import SemsumError
from semsum.summary import content as ct
from semsum.summary.shots import detect_shots, make_shot_detector
from semsum.video.decode import iter_sampled_frames
from semsum.video.write import Mp4Writer

FPS = 25.0


def _decoded(path: Path, stop: int | None = None) -> np.ndarray:
    """The frames of `path` before `stop` (None: all) at the detector's size, as it decodes them."""
    batches = []
    for picks, frames in iter_sampled_frames(path, stride=1, size=ct.FRAME_SIZE, nearest=True):
        batches.append(frames)
        if stop is not None and picks[-1] >= stop - 1:
            break
    return np.concatenate(batches)[:stop]


def _mp4(path: Path, frames: np.ndarray) -> SimpleNamespace:
    """`frames` written to `path` at FPS, as the video a shot detector reads."""
    writer = Mp4Writer(path, FPS, frames.shape[2], frames.shape[1])
    for frame in frames:
        writer.add_frame(frame)
    writer.close()
    return SimpleNamespace(path=path, n_frames=len(frames), picks=np.arange(0, len(frames), 15), features={})


def _pyscenedetect(frames: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """PySceneDetect's ContentDetector at its defaults on RGB `frames`: per-frame content_val and the cuts."""
    detector = PySceneDetectContent()
    detector.stats_manager = StatsManager()
    cuts = []
    for i, frame in enumerate(frames):
        found = detector.process_frame(FrameTimecode(i, fps=FPS), np.ascontiguousarray(frame[..., ::-1]))  # BGR
        cuts += [t.frame_num for t in found]
    cuts += [t.frame_num for t in detector.post_process(FrameTimecode(len(frames) - 1, fps=FPS))]
    values = [detector.stats_manager.get_metrics(i, ["content_val"])[0] for i in range(len(frames))]
    return np.array([0.0 if v is None else v for v in values]), cuts  # the first frame has none: 0.0


def test_hsv_is_opencvs_for_every_colour():
    for red in range(0, 256, 32):
        r, g, b = np.meshgrid(np.arange(red, red + 32), np.arange(256), np.arange(256), indexing="ij")
        image = np.stack([r, g, b], axis=-1).astype(np.uint8).reshape(-1, 256, 3)
        np.testing.assert_array_equal(ct.rgb_to_hsv(image), cv2.cvtColor(image, cv2.COLOR_RGB2HSV))


def test_values_and_cuts_on_a_real_clip_are_pyscenedetects(shared_media):
    video = SimpleNamespace(path=shared_media / "bikes.mp4", n_frames=250)
    values, cuts = _pyscenedetect(_decoded(video.path))
    detector = ct.ContentDetector()
    np.testing.assert_array_equal(detector.values(video), values)
    assert cuts == [30, 76, 137, 187, 242]  # its five hard cuts (benchmarks/shots.md)
    assert detector(video)[1:, 0].tolist() == cuts


def test_a_join_with_a_flash_is_cut_as_pyscenedetect_cuts_it(shared_media, tmp_path):
    """Pieces of three real clips, each inside one shot, and three white frames in the last: the flash starts a shot
    and its end is merged into it (PySceneDetect's merge filter), as the oracle does on the same decoded frames."""
    pieces = [("big_buck_bunny_0_30.webm", 100, 50), ("bikes.mp4", 80, 48), ("vtest.avi", 300, 52)]
    frames = np.concatenate([_decoded(shared_media / name, first + n)[first:] for name, first, n in pieces])
    frames[120:123] = 255
    video = _mp4(tmp_path / "join.mp4", frames)
    values, cuts = _pyscenedetect(_decoded(video.path))
    shots = detect_shots(ct.ContentDetector(), video).frames
    np.testing.assert_array_equal(ct.ContentDetector().values(video), values)
    assert shots[1:, 0].tolist() == cuts == [50, 98, 120]


@pytest.mark.parametrize(
    ("above", "min_scene_len", "cuts"),
    [
        ([20, 40], 15, [20, 40]),  # far enough apart: both
        ([5, 30], 15, [30]),  # the first shot would last 5 frames: no cut yet, and merging is not enabled yet
        ([20, 25], 15, [20]),  # a flash after a cut: its end merges, and no 15 frames follow the merge's start
        ([20, 25, 42], 15, [20, 42]),  # the merge started at 25 ends on the last above frame, 17 frames later
        ([20, 21, 22, 23], 15, [20]),  # a run of high frames (a fast pan, a dissolve): one cut
        ([20, 21, 22, 23], 0, [20, 21, 22, 23]),  # no filter: every frame at or above the threshold
    ],
)
def test_the_flash_filter_on_constructed_sequences(above, min_scene_len, cuts):
    values = np.full(80, 5.0)
    values[above] = 27.0  # at the threshold counts
    assert ct.cuts_from_values(values, 27.0, min_scene_len).tolist() == cuts


@pytest.mark.parametrize("min_scene_len", [0, 1, 3, 15])
def test_the_flash_filter_is_pyscenedetects_on_random_sequences(min_scene_len):
    rng = np.random.default_rng(min_scene_len)
    for density in (0.02, 0.1, 0.3, 0.7):
        above = rng.random(400) < density
        above[0] = False  # the first frame's content_val is 0.0
        oracle, expected = FlashFilter(FlashFilter.Mode.MERGE, min_scene_len), []
        for t, flag in enumerate(above.tolist()):
            expected += [c.frame_num for c in oracle.filter(FrameTimecode(t, fps=FPS), flag)]
        assert ct.cuts_from_values(np.where(above, 30.0, 1.0), 27.0, min_scene_len).tolist() == expected


def test_shots_cover_every_frame_of_a_one_frame_and_a_one_shot_video(tmp_path):
    one = _mp4(tmp_path / "one.mp4", np.full((1, 54, 96, 3), 128, np.uint8))
    ramp = np.linspace(0, 200, 60).astype(np.uint8)[:, None, None, None]  # a slow fade: no cut
    still = _mp4(tmp_path / "still.mp4", np.broadcast_to(ramp, (60, 54, 96, 3)).copy())
    detector = make_shot_detector("content")
    assert detect_shots(detector, one).frames.tolist() == [[0, 0]]
    assert detect_shots(detector, still).frames.tolist() == [[0, 59]]


def test_progress_counts_frames_and_a_changed_file_is_an_error(shared_media):
    seen = []
    video = SimpleNamespace(path=shared_media / "bikes.mp4", n_frames=250)
    ct.ContentDetector()(video, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(8, 250), (72, 250), (136, 250), (200, 250), (250, 250)]  # a first batch of 8, then 64s
    with pytest.raises(SemsumError, match="decoded 250 frames for content shots but 251"):
        ct.ContentDetector()(SimpleNamespace(path=video.path, n_frames=251))


def test_the_registered_detector_and_its_options():
    detector = make_shot_detector("content", content_threshold=40.0, min_scene_len=5)
    assert (detector.name, detector.reads_frames) == ("content", True)
    assert (detector.options.content_threshold, detector.options.min_scene_len) == (40.0, 5)
    with pytest.raises(SemsumError, match="threshold must be > 0 and min_scene_len >= 0"):
        make_shot_detector("content", min_scene_len=-1)


def test_the_watcher_keeps_values_only_of_every_frame_seen_in_order(shared_media):
    path = shared_media / "bikes.mp4"
    detector = ct.ContentDetector()
    own = detector.values(SimpleNamespace(path=path, n_frames=250))
    whole, skipped, short = detector.watcher(), detector.watcher(), detector.watcher()
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            whole(i, frame)
            skipped(i + (i >= 100), frame)  # frame 100 never shown
            if i < 200:
                short(i, frame)
    np.testing.assert_array_equal(whole.result(250), own)
    assert skipped.result(250) is None and short.result(250) is None
