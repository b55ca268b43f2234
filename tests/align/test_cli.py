import json

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from semsum.align.mapper import load_mapper
from semsum.cli import app
from semsum.data.h5 import load_dataset, save_dataset
from semsum.testing import make_synthetic_dataset, make_teacher

runner = CliRunner()


@pytest.fixture
def h5(tmp_path):
    """Six synthetic videos with 16-d `features` and 32-d `features_mllm` from a teacher."""
    path = tmp_path / "s.h5"
    make_synthetic_dataset(path, n_videos=6, steps=(20, 30), dim=16, embed=make_teacher(16, 32, 8))
    return path


def _train(*args: str):
    return runner.invoke(app, ["align", "train", *args, "--epochs", "2", "--width", "32"])


def test_train_then_apply_adds_features_mapped(h5, tmp_path):
    result = _train("--h5", str(h5), "--mode", "regression", "--out", str(tmp_path / "m.pt"))
    assert result.exit_code == 0, result.output
    assert "held-out cosine" in result.output
    mapper = load_mapper(tmp_path / "m.pt")
    assert (mapper.config.in_dim, mapper.config.out_dim, mapper.config.mode) == (16, 32, "regression")
    result = runner.invoke(
        app, ["align", "apply", "--mapper", str(tmp_path / "m.pt"), "--h5", str(h5), "--out", str(tmp_path / "o.h5")]
    )
    assert result.exit_code == 0, result.output
    before, after = load_dataset(h5), load_dataset(tmp_path / "o.h5")
    for video in after:
        assert video.features["features_mapped"].shape == (video.n_steps, 32)
        np.testing.assert_array_equal(video.features["features"], before[video.key].features["features"])
        np.testing.assert_array_equal(video.user_summary, before[video.key].user_summary)


def test_ridge_mode_and_a_split_fold_use_only_training_videos(h5, tmp_path):
    # Test videos get a target of another width: if any of their pairs leaked in, pairing would fail.
    dataset = load_dataset(h5)
    for key in ("video_5", "video_6"):
        dataset[key].features["features_mllm"] = np.zeros((dataset[key].n_steps, 7), np.float32)
    save_dataset(h5, dataset)
    split = tmp_path / "splits.json"
    keys = dataset.keys()
    split.write_text(json.dumps([{"train_keys": keys[:4], "test_keys": keys[4:]}]))
    args = ["--h5", str(h5), "--mode", "ridge", "--out", str(tmp_path / "r.pt")]
    result = _train(*args, "--splits", str(split), "--fold", "0")
    assert result.exit_code == 0, result.output
    assert load_mapper(tmp_path / "r.pt").config.depth == 0
    assert _train(*args).exit_code == 1


def test_wrong_width_and_missing_key_are_one_line_errors_naming_the_video(h5, tmp_path):
    assert _train("--h5", str(h5), "--out", str(tmp_path / "m.pt")).exit_code == 0
    other = tmp_path / "other.h5"
    make_synthetic_dataset(other, n_videos=2, steps=(20, 30), dim=12)
    result = runner.invoke(
        app, ["align", "apply", "--mapper", str(tmp_path / "m.pt"), "--h5", str(other), "--out", str(tmp_path / "o.h5")]
    )
    assert result.exit_code == 1
    assert "error:" in result.output and "video_1/features" in result.output and "[n_steps, 16]" in result.output
    assert not (tmp_path / "o.h5").exists()
    with h5py.File(h5, "a") as f:
        del f["video_3/features_mllm"]
    result = _train("--h5", str(h5), "--out", str(tmp_path / "m2.pt"))
    assert result.exit_code == 1
    assert "video_3 has no feature key 'features_mllm'" in result.output
    assert not (tmp_path / "m2.pt").exists()


def test_unknown_mode_is_a_clear_error(h5, tmp_path):
    result = _train("--h5", str(h5), "--mode", "gan", "--out", str(tmp_path / "m.pt"))
    assert result.exit_code == 1 and "unknown mode 'gan'" in result.output
