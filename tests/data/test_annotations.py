import numpy as np
import pytest

from semsum.data.annotations import load_annotations
from semsum.errors import SemsumError


def test_summe(shared_data):
    ann = load_annotations("summe", shared_data)
    assert list(ann)[:2] == ["video_1", "video_2"] and len(ann) == 25
    assert ann["video_1"].name == "Air_Force_One" and ann["video_25"].name == "playing_ball"
    assert ann["video_1"].n_frames == 4494 and ann["video_1"].fps == 25
    assert sum(a.n_users for a in ann.values()) == 390
    assert sum(a.n_frames for a in ann.values()) == 109_820
    assert ann["video_1"].user_scores.max() > 1  # raw segment indices, not just 0/1


def test_summe_binary_summaries_match_the_h5_export(shared_data):
    """PROVENANCE: the eccv16 user_summary equals user_score > 0; check against its tsv export for one video."""
    ann = load_annotations("summe", shared_data)
    rows = [
        line.split("\t")
        for line in (shared_data / "extra/mmil-pgl-sum/SumMe/ydata-anno.tsv").read_text().splitlines()
        if line.startswith("video_3\t")
    ]
    exported = np.array([[float(x) for x in r[2].split(",")] for r in rows])
    np.testing.assert_array_equal(exported, ann["video_3"].user_scores > 0)


def test_tvsum(shared_data):
    ann = load_annotations("tvsum", shared_data)
    v = ann["video_1"]
    assert len(ann) == 50 and v.name == "AwmHb44_ouw" and v.n_frames == 10597 and v.n_users == 20
    assert v.category == "VT" and 29 < v.fps < 31
    assert sum(a.n_frames for a in ann.values()) == 352_353
    assert set(np.unique(v.user_scores)) <= {1, 2, 3, 4, 5}
    np.testing.assert_allclose(v.gt_score, v.user_scores.mean(0))


def test_missing_and_unknown(tmp_path):
    with pytest.raises(SemsumError, match="expected the 25 SumMe .mat files, found 0"):
        load_annotations("summe", tmp_path)
    with pytest.raises(SemsumError, match="TVSum annotation file missing"):
        load_annotations("tvsum", tmp_path)
    with pytest.raises(SemsumError, match="unknown dataset 'ovp'"):
        load_annotations("ovp", tmp_path)
