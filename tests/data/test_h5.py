import h5py
import numpy as np
import pytest

from semsum.data.h5 import BENCHMARK_KEYS, PartsWriter, load_dataset, save_dataset
from semsum.errors import SemsumError
from semsum.testing import make_synthetic_dataset


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.h5"
    make_synthetic_dataset(path, n_videos=3, steps=(20, 30), dim=16)
    return path


def test_roundtrip_keeps_every_key(good, tmp_path):
    with h5py.File(good, "a") as f:
        f["video_2"].create_dataset("gtsummary", data=np.zeros(f["video_2/picks"].shape[0]))
        f["video_2"].attrs["note"] = "kept"
    ds = load_dataset(good, require=BENCHMARK_KEYS)
    assert ds.keys() == ["video_1", "video_2", "video_3"]
    out = tmp_path / "copy.h5"
    save_dataset(out, ds)
    again = load_dataset(out, require=BENCHMARK_KEYS)
    v = again["video_2"]
    assert "gtsummary" in v.extra and v.attrs["note"] == "kept"
    assert v.video_name == "synthetic video_2"
    np.testing.assert_array_equal(v.features["features"], ds["video_2"].features["features"])
    with h5py.File(out) as f:
        assert set(f["video_1"].keys()) >= set(BENCHMARK_KEYS) | {"video_name"}


def test_natural_order(tmp_path):
    path = tmp_path / "many.h5"
    make_synthetic_dataset(path, n_videos=11, steps=(5, 6), dim=4)
    assert load_dataset(path).keys()[-2:] == ["video_10", "video_11"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda g: g.__delitem__("gtscore"), "good.h5: video_1/gtscore: missing"),
        (lambda g: g.__delitem__("picks"), "good.h5: video_1/picks: missing"),
        (lambda g: _replace(g, "gtscore", np.zeros(3)), "video_1/gtscore: has 3 along axis 0, expected n_steps="),
        (lambda g: _replace(g, "features", np.full((g["picks"].shape[0], 16), np.nan)), "video_1/features: contains"),
        (lambda g: _replace(g, "user_summary", np.zeros((2, 7))), "video_1/user_summary: has 7 along axis 1"),
        (lambda g: _replace(g, "change_points", np.zeros((4, 3))), "video_1/change_points: expected shape"),
        (lambda g: _replace(g, "picks", np.zeros(g["picks"].shape[0])), "video_1/picks: must increase"),
        (
            lambda g: _replace(g, "features", np.array(["a"] * g["picks"].shape[0], dtype="S1").reshape(-1, 1)),
            "video_1/features: expected numbers",
        ),
    ],
)
def test_broken_files_name_file_and_key(good, edit, message):
    with h5py.File(good, "a") as f:
        edit(f["video_1"])
    with pytest.raises(SemsumError, match=message.replace("(", r"\(")):
        load_dataset(good, require=BENCHMARK_KEYS)


def _replace(group, name, value):
    del group[name]
    group.create_dataset(name, data=value)


def test_not_hdf5_and_missing(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    with pytest.raises(SemsumError, match="bad.h5: not a readable HDF5 file"):
        load_dataset(bad)
    with pytest.raises(SemsumError, match="nope.h5: no such file"):
        load_dataset(tmp_path / "nope.h5")


def test_failed_write_leaves_no_file(good, tmp_path):
    ds = load_dataset(good)
    ds["video_1"].gtscore = np.array([np.nan])
    out = tmp_path / "out.h5"
    with pytest.raises(SemsumError):
        save_dataset(out, ds)
    assert list(tmp_path.iterdir()) == [good]


def test_parts_writer_resumes(good, tmp_path):
    ds = load_dataset(good)
    out = tmp_path / "built.h5"
    w = PartsWriter(out)
    w.put(ds["video_1"])
    assert w.done("video_1") and not w.done("video_2")
    with pytest.raises(SemsumError, match="not finished yet: video_2, video_3"):
        w.finish(ds.keys())
    w2 = PartsWriter(out)  # a restarted job sees the finished part
    assert w2.done("video_1")
    for v in ds:
        if not w2.done(v.key):
            w2.put(v)
    merged = w2.finish(ds.keys(), attrs={"k": "v"})
    assert out.is_file() and not w2.parts.exists()
    assert load_dataset(out).attrs["k"] == "v" and len(merged) == 3
