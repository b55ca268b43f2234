import h5py
import numpy as np
import pytest

from clitest import error_line, run_cli
from semsum.data import paths
from semsum.data.annotations import load_annotations
from semsum.data.benchmarks import recognise
from semsum.data.h5 import load_dataset
from semsum.errors import SemsumError
from semsum.features.umt import default_source, import_umt_tvsum, make_shots

# video_45 is the shortest TVSum video; video_48 (kLxoNp-UchI) has one audio row more than its other streams.
SLICE = ("video_45", "video_48")


@pytest.fixture(scope="module")
def imported(shared_data, tmp_path_factory):
    notes: list[str] = []
    out = tmp_path_factory.mktemp("umt") / "tvsum_i3d.h5"
    import_umt_tvsum(out, data_dir=shared_data, keys=SLICE, note=notes.append)
    return load_dataset(out, require=("features", "gtscore", "user_summary", "change_points")), notes


def test_keys_shapes_and_picks(imported, shared_data):
    ds, _ = imported
    anns = load_annotations("tvsum", shared_data)
    assert ds.keys() == list(SLICE)
    assert recognise(ds).dataset == "tvsum"
    for v in ds:
        ann = anns[v.key]
        assert v.video_name == ann.name and v.n_frames == ann.n_frames
        n = v.n_steps
        assert {k: x.shape for k, x in v.features.items()} == {
            "features": (n, 2048),
            "features_rgb": (n, 1024),
            "features_audio": (n, 2048),
            "features_title": (n, 512),
        }
        np.testing.assert_array_equal(v.features["features"][:, :1024], v.features["features_rgb"])
        assert np.all(v.features["features_title"] == v.features["features_title"][0])
        # picks: the first frame of each 2 s clip, all inside the video, about 2 s apart
        fps = v.attrs["fps"]  # the video's own rate (the annotations' is from a length rounded to seconds)
        np.testing.assert_array_equal(v.picks, np.floor(np.arange(n) * 2 * fps + 1e-6))
        assert v.picks[-1] < v.n_frames <= v.picks[-1] + 6 * fps  # cropping may drop clips at the end
        assert v.user_summary.shape == (20, v.n_frames)
        assert v.change_points[0, 0] == 0 and v.change_points[-1, 1] == v.n_frames - 1


def test_gtscore_and_user_summaries_follow_the_annotations(imported, shared_data):
    ds, _ = imported
    anns = load_annotations("tvsum", shared_data)
    for v in ds:
        ann = anns[v.key]
        i = v.n_steps // 2
        assert v.gtscore[i] == pytest.approx(ann.user_scores[:, v.picks[i] : v.picks[i + 1]].mean(), rel=1e-5)
        for user, summary in zip(ann.user_scores, v.user_summary, strict=True):
            chosen = summary > 0
            assert 0 < chosen.sum() <= 0.15 * v.n_frames
            for start, end in v.change_points:  # whole shots only
                assert len(set(summary[start : end + 1])) == 1
            assert user[chosen].mean() > user[~chosen].mean()


def test_cropping_is_reported_per_video(imported):
    _, notes = imported
    assert notes == [
        "video_48 (kLxoNp-UchI): streams have rgb 64, flow 64, audio 65, scores 64 rows, "
        "65 clips start inside the video: cropped to 64"
    ]


def test_kts_shots_and_a_bad_method():
    x = np.repeat(np.eye(3), 10, axis=0)
    picks = np.arange(30) * 60
    np.testing.assert_array_equal(make_shots("kts:15", x, picks, 1800)[:, 0], [0, 600, 1200])
    np.testing.assert_array_equal(make_shots("uniform:4", x, picks, 1800)[:2], [[0, 239], [240, 479]])
    with pytest.raises(SemsumError, match="unknown shot method 'even'"):
        make_shots("even", x, picks, 1800)


def test_scores_that_disagree_with_the_annotations_are_refused(shared_data, tmp_path):
    source = tmp_path / "bad.h5"
    with h5py.File(default_source(shared_data), "r") as f, h5py.File(source, "w") as g:
        f.copy("iVt07TCkFM0", g)
        g["iVt07TCkFM0/clip_scores"][3, 0] = 5 - g["iVt07TCkFM0/clip_scores"][3, 0] % 5
    with pytest.raises(SemsumError, match="clip_scores differ from the TVSum annotations"):
        import_umt_tvsum(tmp_path / "out.h5", source, shared_data, keys=["video_45"])
    assert not (tmp_path / "out.h5").exists()


def test_data_check_verifies_the_source(shared_data):
    (result,) = [r for r in paths.check(shared_data) if r.resource is paths.UMT_TVSUM]
    assert (result.status, result.detail) == ("ok", "sha256 matches")


def test_cli_missing_source(tmp_path):
    result = run_cli("data", "import", "umt-tvsum", "--out", tmp_path / "x.h5", "--source", tmp_path / "none.h5")
    assert error_line(result) == f"error: {tmp_path / 'none.h5'}: no such file; {paths.WHERE_HINT}"
    assert not (tmp_path / "x.h5").exists()
