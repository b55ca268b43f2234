import json
import re

import h5py
import numpy as np
import pytest

from semsum.data import paths
from semsum.data.mrhisum import MrHiSumFile, check_change_points, describe, load_split
from semsum.errors import SemsumError
from semsum.testing import make_mrhisum_file, write_mrhisum_split


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "mr_hisum.h5"
    return path, make_mrhisum_file(path, n_videos=4, seconds=(12, 40), dim=8, seed=3)


def test_reads_the_official_schema_with_picks_every_second(small):
    path, keys = small
    selected = []
    with MrHiSumFile(path) as f:
        assert f.keys() == keys
        for key in keys:
            v = f.read(key)
            assert v.features.shape == (v.n, 8) and v.features.dtype == np.float32
            np.testing.assert_array_equal(v.picks, np.arange(v.n))
            assert v.gtscore.min() >= 0 and v.gtscore.max() <= 1
            # the official count end - start covers every second exactly once
            assert v.n_frame_per_seg.sum() == v.n and v.change_points[-1, 1] == v.n
            assert v.gt_summary.sum() <= 0.15 * v.n
            selected.append(v.gt_summary.sum())
            assert f.length(key) == v.n and f.feature_dim(key) == 8
    assert max(selected) > 0


def test_the_release_without_features_reads_labels_and_names_what_is_missing(tmp_path):
    path = tmp_path / "release.h5"
    make_mrhisum_file(path, n_videos=2, seconds=(10, 12), dim=4, features=False)
    with MrHiSumFile(path) as f:
        assert f.read("video_1", features=False).features is None
        with pytest.raises(SemsumError, match=r"release\.h5: video_2/features: missing$"):
            f.read("video_2")
    assert "2 videos, 0 with features (add YouTube-8M features" in describe(path)


def _break(path, key: str, name: str, value) -> None:
    with h5py.File(path, "a") as f:
        del f[key][name]
        if value is not None:
            f[key].create_dataset(name, data=value)


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("gt_summary", lambda n, cps: None, "video_2/gt_summary: missing"),
        ("gt_summary", lambda n, cps: np.zeros(n - 1), "video_2/gt_summary: has .* expected len\\(gtscore\\)="),
        ("features", lambda n, cps: np.zeros((n + 1, 8), np.float32), "video_2/features: has .* expected len"),
        ("gtscore", lambda n, cps: np.full(n, 1.5), "video_2/gtscore: values must lie in 0..1"),
        ("gtscore", lambda n, cps: np.r_[np.nan, np.zeros(n - 1)], "video_2/gtscore: contains 1 NaN"),
        # inclusive rows, the eccv16 convention: shots would lose a second each under the official count
        ("change_points", lambda n, cps: np.c_[cps[:, 0], cps[:, 1] - 1], "video_2/change_points: .* ends at \\d+"),
        ("change_points", lambda n, cps: np.r_[cps[:-1], [[cps[-1, 0], n - 1]]], "the last shot ends at \\d+, not at"),
        ("change_points", lambda n, cps: cps[1:], "video_2/change_points: the first shot starts at \\d+, not 0"),
        ("change_points", lambda n, cps: np.r_[cps, [[n, n]]], "video_2/change_points: shot \\d+ .* is empty"),
        ("change_points", lambda n, cps: cps[:, 0], "video_2/change_points: expected 2-D"),
    ],
)
def test_a_malformed_video_is_one_line_naming_the_file_video_and_problem(small, name, make, message):
    path, _ = small
    with MrHiSumFile(path) as f:
        v = f.read("video_2")
    _break(path, "video_2", name, make(v.n, v.change_points))
    with MrHiSumFile(path) as f, pytest.raises(SemsumError) as e:
        f.read("video_2")
    assert "\n" not in str(e.value) and str(e.value).startswith(f"{path}: video_2")
    assert re.search(message, str(e.value)), str(e.value)


def test_change_points_in_memory():
    cps = check_change_points(np.array([[0, 2], [2, 5]]), 5)
    assert cps.dtype == np.int64
    with pytest.raises(SemsumError, match="shot 0 ends at 2 but shot 1 starts at 3"):
        check_change_points(np.array([[0, 2], [3, 5]]), 5, "f.h5", "video_9")


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(SemsumError, match="no such file"):
        MrHiSumFile(tmp_path / "absent.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(SemsumError, match="not a readable HDF5 file"):
        MrHiSumFile(tmp_path / "text.h5").keys()


def test_the_official_split_file(shared_data):
    split = load_split(shared_data / "splits" / "mrhisum" / "mr_hisum_split.json")
    assert (len(split.train_keys), len(split.val_keys), len(split.test_keys)) == (27_892, 2_000, 2_000)
    everything = {*split.train_keys, *split.val_keys, *split.test_keys}
    assert everything == {f"video_{i}" for i in range(1, 31_893)}


def test_split_parts_must_be_disjoint_lists(tmp_path):
    path = tmp_path / "split.json"
    path.write_text(json.dumps({"train_keys": ["video_1", "video_2"], "val_keys": ["video_2"], "test_keys": []}))
    with pytest.raises(SemsumError, match="video_2 is in both train_keys and val_keys"):
        load_split(path)
    path.write_text(json.dumps({"train_keys": ["video_1"], "test_keys": []}))
    with pytest.raises(SemsumError, match="val_keys missing"):
        load_split(path)
    write_mrhisum_split(path, [f"video_{i}" for i in range(1, 11)], 2, 3)
    split = load_split(path)
    assert split.val_keys == ("video_6", "video_7") and split.test_keys == ("video_8", "video_9", "video_10")


def test_data_check_knows_mrhisum(tmp_path):
    results = {r.resource.relpath: r for r in paths.check(tmp_path)}
    h5 = results["mrhisum/mr_hisum.h5"]
    assert h5.status == "missing" and not h5.resource.required
    assert "drive.google.com" in h5.resource.source and "YouTube-8M" in h5.resource.source
    make_mrhisum_file(tmp_path / "mrhisum" / "mr_hisum.h5", n_videos=3, seconds=(10, 12), dim=4)
    h5 = {r.resource.relpath: r for r in paths.check(tmp_path)}["mrhisum/mr_hisum.h5"]
    assert (h5.status, h5.detail) == ("ok", "3 videos with features")
