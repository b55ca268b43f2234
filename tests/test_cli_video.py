"""`semsum summarize` and `semsum dataset build` from the command line: outputs, broken inputs, resume."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from clitest import error_line, run_cli
from semsum.data.annotations import load_annotations
from semsum.data.h5 import BENCHMARK_KEYS, PartsWriter, VideoData, load_dataset
from semsum.pipeline.cache import read_entry
from semsum.summary.keyshots import select_units, unit_scores
from semsum.video.synthetic import make_scene_video

FEATURES = ("--random-googlenet", "--input-size", "32")  # features do not matter here: small is fast
FAST = (*FEATURES, "--shots", "kts")  # and KTS needs no second pass over the frames


def test_summarize_command(tmp_path, shared_media):
    out = tmp_path / "out"
    result = run_cli("summarize", shared_media / "car-detection.mp4", "-o", out, *FEATURES, "--budget", "0.2")
    assert result.exit_code == 0, result.output
    assert "scorer: coverage" in result.output and "with audio" in result.output
    doc = json.loads((out / "scores.json").read_text())
    # 30 s at 12.5 fps: sampled every 4th frame, so that each moment of the summary holds a few picks
    assert doc["budget"] == 0.2 and doc["sampling"] == {"step": 4} and doc["summary"]["has_audio"]
    assert doc["shot_detector"] == "auto: content" and doc["shot_boundaries"] == []  # one shot: no flicker cuts
    assert sorted(p.name for p in out.iterdir()) == ["scores.json", "summary.mp4", "timeline.png"]


def test_summarize_at_a_target_fps(tmp_path, shared_media):
    out = tmp_path / "out"
    result = run_cli("summarize", shared_media / "bikes.mp4", "-o", out, *FAST, "--fps", "4")
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "scores.json").read_text())
    assert doc["sampling"] == {"fps": 4.0} and len(doc["picks"]) == 40


def test_broken_inputs_give_one_line_errors_and_no_output(tmp_path, shared_media, broken_videos):
    cases = [
        (broken_videos["text"], "not a readable video file"),
        (broken_videos["empty"], "empty file"),
        (broken_videos["truncated"], "truncated"),
        (broken_videos["audio_only"], "has no video stream"),
    ]
    for path, problem in cases:
        out = tmp_path / f"out_{path.stem}"
        line = error_line(run_cli("summarize", path, "-o", out, *FAST))
        assert problem in line and str(path) in line
        assert not out.exists()
    missing = tmp_path / "nowhere.pth"
    assert "GoogLeNet weights file not found" in error_line(
        run_cli("summarize", shared_media / "bikes.mp4", "--googlenet-weights", missing)
    )
    assert "not both" in error_line(run_cli("summarize", shared_media / "bikes.mp4", "--stride", 5, "--fps", 2, *FAST))


def test_dataset_build_without_annotations_resumes(tmp_path, shared_media):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(shared_media / "bikes.mp4", videos / "b.mp4")
    make_scene_video(videos / "a.mp4", scene_seconds=(2, 2), fps=15, size=(48, 36), audio=False)
    (videos / "readme.txt").write_text("not a video")
    out = tmp_path / "built.h5"
    # A part left by an interrupted build is kept, not recomputed.
    done = VideoData("video_1", 60, np.arange(0, 60, 15), {"features": np.full((4, 1024), 7.0, np.float32)})
    done.change_points, done.n_frame_per_seg, done.video_name = np.array([[0, 59]]), np.array([60]), "a"
    PartsWriter(out).put(done)
    result = run_cli("dataset", "build", "--videos", videos, "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    ds = load_dataset(out, require=("features", "change_points", "n_frame_per_seg"))
    assert ds.keys() == ["video_1", "video_2"] and not (tmp_path / "built.h5.parts").exists()
    assert (ds["video_1"].features["features"] == 7.0).all()
    b = ds["video_2"]
    assert b.video_name == "b" and b.n_frames == 250 and b.picks.tolist() == list(range(0, 250, 15))
    assert b.features["features"].shape == (17, 1024)
    assert b.change_points[0, 0] == 0 and b.change_points[-1, 1] == 249
    assert (b.n_frame_per_seg == b.change_points[:, 1] - b.change_points[:, 0] + 1).all()
    assert ds.attrs["features"] == "GoogLeNet pool5, random-init"


@pytest.mark.parametrize(
    ("dataset", "name", "fps", "seconds"), [("summe", "Jumps", 25, 19), ("tvsum", "iVt07TCkFM0", 24, 52.083)]
)
def test_dataset_build_with_benchmark_annotations(tmp_path, shared_data, dataset, name, fps, seconds):
    """A stand-in video with the annotated frame count, named as the benchmark names the video."""
    ann = next(a for a in load_annotations(dataset, shared_data).values() if a.name == name)
    videos = tmp_path / "videos"
    make_scene_video(videos / f"{name}.mp4", scene_seconds=(seconds, seconds), fps=fps, size=(32, 24), audio=False)
    out = tmp_path / f"{dataset}.h5"
    result = run_cli(
        "dataset", "build", "--videos", videos, "--out", out, "--annotations", dataset, "--data-dir", shared_data, *FAST
    )
    assert result.exit_code == 0, result.output
    ds = load_dataset(out, require=BENCHMARK_KEYS)
    assert ds.keys() == [ann.key] and ds.attrs["dataset"] == dataset
    v = ds[ann.key]
    assert v.n_frames == ann.n_frames and v.video_name == name
    if dataset == "summe":
        np.testing.assert_allclose(v.gtscore, ann.gt_score[v.picks], rtol=1e-6)
        np.testing.assert_array_equal(v.user_summary, ann.user_scores > 0)
    else:
        mean = ann.user_scores.mean(axis=0)
        np.testing.assert_allclose(v.gtscore, ((mean - mean.min()) / (mean.max() - mean.min()))[v.picks], rtol=1e-5)
        assert v.user_summary.shape == (20, ann.n_frames)
        for user, summary in zip(ann.user_scores, v.user_summary, strict=True):
            chosen = select_units(unit_scores(user, v.change_points), v.change_points, v.n_frames, 0.15)
            expected = np.zeros(v.n_frames)
            for i in chosen:
                expected[v.change_points[i, 0] : v.change_points[i, 1] + 1] = 1
            np.testing.assert_array_equal(summary, expected)
            assert summary.sum() <= 0.15 * v.n_frames


def test_dataset_build_rejects_unmatched_videos(tmp_path, shared_data, shared_media):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(shared_media / "bikes.mp4", videos / "bikes.mp4")
    build = ("dataset", "build", "--videos", videos, "--out", tmp_path / "x.h5", "--annotations", "summe")
    line = error_line(run_cli(*build, "--data-dir", shared_data, *FAST))
    assert "bikes.mp4 matches no summe video" in line
    shutil.move(videos / "bikes.mp4", videos / "Jumps.mp4")
    result = run_cli(*build, "--data-dir", shared_data, *FAST)  # a failed video: named, exit status 2
    assert result.exit_code == 2, result.output
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
    assert "Jumps.mp4: decodes to 250 frames" in line and "950" in line
    assert not (tmp_path / "x.h5").exists()


def test_summarize_with_a_trained_run(tmp_path, shared_media):
    from semsum.testing import make_synthetic_dataset
    from semsum.training import TrainConfig, load_run, train

    def trained(dim: int, name: str):
        ds = make_synthetic_dataset(tmp_path / f"{name}.h5", n_videos=4, steps=(20, 30), dim=dim, seed=1)
        keys = ds.keys()
        lines = [f"Synthetic/split{i}/{','.join(k for k in keys if k != t)}/{t}" for i, t in enumerate(keys[:2])]
        (tmp_path / f"{name}.txt").write_text("\n".join(lines) + "\n")
        cfg = TrainConfig(model="vasnet", epochs=1, device="cpu")
        train(tmp_path / f"{name}.h5", tmp_path / f"{name}.txt", tmp_path / name, cfg, show_progress=False)
        return tmp_path / name

    run = trained(1024, "run1024")
    out = tmp_path / "out"
    result = run_cli("summarize", shared_media / "bikes.mp4", "-o", out, "--run", run, *FAST)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "scores.json").read_text())
    assert doc["scorer"] == f"run {run} (features)" and f"scorer: run {run}" in result.output
    _, cached = read_entry(doc["features_cache"])  # the scores are the run's prediction on these features
    expected = load_run(run).predict(cached.features)
    np.testing.assert_allclose(doc["step_scores"], expected - min(expected.min(), 0) + 1e-9, rtol=1e-5, atol=1e-6)
    small = trained(32, "run32")
    line = error_line(run_cli("summarize", shared_media / "bikes.mp4", "-o", tmp_path / "o2", "--run", small, *FAST))
    assert "trained on 32-d features; summarize computes 1024-d" in line
    assert not (tmp_path / "o2").exists()  # refused before any decoding
    assert "no trained model" in error_line(run_cli("summarize", shared_media / "bikes.mp4", "--run", tmp_path, *FAST))
