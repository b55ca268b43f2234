import numpy as np
import pytest

from semsum.align.pairs import collect_pairs, training_keys
from semsum.data.h5 import Dataset
from semsum.data.splits import Split
from semsum.errors import SemsumError
from semsum.testing import synthetic_video


def _dataset() -> Dataset:
    rng = np.random.default_rng(0)
    videos = [synthetic_video(f"video_{i}", 10 + i, dim=4, rng=rng) for i in (1, 2, 3)]
    for v in videos:
        v.features["features_mllm"] = np.full((v.n_steps, 6), float(v.n_steps), np.float32)
    return Dataset({v.key: v for v in videos}, path="f.h5")


def test_pairs_are_the_same_pick_of_the_same_video():
    ds = _dataset()
    x, y, owner = collect_pairs(ds, keys=["video_3", "video_1"])
    assert x.shape == (13 + 11, 4) and y.shape == (24, 6)
    np.testing.assert_array_equal(x[:13], ds["video_3"].features["features"])
    assert owner[:13] == ["video_3"] * 13 and set(y[13:, 0]) == {11.0}


def test_missing_target_key_names_the_video():
    ds = _dataset()
    del ds["video_2"].features["features_mllm"]
    with pytest.raises(SemsumError, match=r"f.h5: video_2 has no feature key 'features_mllm' \(has: features\)"):
        collect_pairs(ds)


def test_different_lengths_name_the_video():
    ds = _dataset()
    ds["video_3"].features["features_mllm"] = np.zeros((5, 6), np.float32)
    with pytest.raises(SemsumError, match=r"f.h5: video_3: 'features' has 13 steps but 'features_mllm' has 5"):
        collect_pairs(ds)


def test_with_a_split_only_training_videos_are_used():
    ds = _dataset()
    splits = [Split(("video_1", "video_3"), ("video_2",)), Split(("video_2",), ("video_1", "video_3"))]
    assert training_keys(ds, splits, 0) == ["video_1", "video_3"]
    assert training_keys(ds, splits, 1) == ["video_2"]
    assert training_keys(ds, None, None) == ["video_1", "video_2", "video_3"]
    with pytest.raises(SemsumError, match="fold 2 out of range"):
        training_keys(ds, splits, 2)
    with pytest.raises(SemsumError, match="not in the file: video_9"):
        training_keys(ds, [Split(("video_9",), ("video_1",))], 0)
