import pytest

from semsum.data.splits import describe, load_splits, video_folds
from semsum.errors import SemsumError

FAMILIES = {
    "csta/SumMe_splits.txt": (25, True),
    "csta/TVSum_splits.txt": (50, True),
    "msva/summe_random_non_overlap_splits.json": (25, True),
    "msva/tvsum_ordered_non_overlap_splits.json": (50, True),
    "pgl-sum/summe_splits.json": (25, False),
    "pgl-sum/tvsum_splits.json": (50, False),
    "vasnet/summe_splits.json": (25, False),
    "dsnet/summe.yml": (25, False),
    "dsnet/tvsum.yml": (50, False),
}


@pytest.mark.parametrize(("rel", "expected"), FAMILIES.items())
def test_real_split_files(shared_data, rel, expected):
    n_videos, disjoint = expected
    splits = load_splits(shared_data / "splits" / rel)
    info = describe(splits)
    assert info["n_splits"] == 5
    assert info["videos"] == n_videos
    assert info["test_sets_disjoint"] is disjoint
    assert not info["train_test_overlap"]
    assert all(k.startswith("video_") for s in splits for k in (*s.train_keys, *s.test_keys))
    if disjoint:
        assert info["videos_tested"] == n_videos


def test_pgl_sum_union_of_tests(shared_data):
    assert describe(load_splits(shared_data / "splits/pgl-sum/summe_splits.json"))["videos_tested"] == 18
    assert describe(load_splits(shared_data / "splits/pgl-sum/tvsum_splits.json"))["videos_tested"] == 34


def test_augmented_splits_keep_dataset(shared_data):
    splits = load_splits(shared_data / "splits/dsnet/summe_aug.yml")
    keys = {k for s in splits for k in s.train_keys}
    assert any(k.startswith("eccv16_dataset_ovp_google_pool5/") for k in keys)
    assert all(k.startswith("eccv16_dataset_summe_google_pool5/") for s in splits for k in s.test_keys)


def test_bad_split_files(tmp_path):
    p = tmp_path / "s.json"
    p.write_text('{"a": 1}')
    with pytest.raises(SemsumError, match="s.json: expected a list"):
        load_splits(p)
    t = tmp_path / "s.txt"
    t.write_text("SumMe/split0/only-three\n")
    with pytest.raises(SemsumError, match="s.txt: line 1"):
        load_splits(t)


def test_folds_test_every_video_once():
    keys = [f"video_{i}" for i in range(11)]
    folds = video_folds(keys, 5)
    assert sorted(k for f in folds for k in f.test_keys) == sorted(keys)
    assert all(not set(f.train_keys) & set(f.test_keys) for f in folds)
