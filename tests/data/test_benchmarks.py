import dataclasses

import numpy as np
import pytest

from semsum.data import benchmarks, paths
from semsum.data.annotations import annotations_present, load_annotations
from semsum.data.benchmarks import FRAME_COUNTS, recognise
from semsum.data.h5 import Dataset, VideoData, load_dataset, save_dataset


def frames_file(counts: dict[str, int]) -> Dataset:
    """A dataset in memory whose videos have only keys and frame counts (all `recognise` reads besides the file)."""
    return Dataset(videos={k: VideoData(k, n, np.arange(0, n, 15)) for k, n in counts.items()})


@pytest.mark.parametrize("dataset", ["summe", "tvsum"])
def test_frame_counts_are_the_annotations(shared_data, dataset):
    annotations = load_annotations(dataset, shared_data)
    assert FRAME_COUNTS[dataset] == tuple(annotations[f"video_{i}"].n_frames for i in range(1, len(annotations) + 1))
    assert annotations_present(dataset, shared_data)


def test_no_key_has_the_same_frame_count_in_both_benchmarks():
    assert set(enumerate(FRAME_COUNTS["summe"])).isdisjoint(enumerate(FRAME_COUNTS["tvsum"]))


def test_recognised_by_frame_counts_whole_or_subset_and_not_when_one_video_differs():
    summe = {f"video_{i}": n for i, n in enumerate(FRAME_COUNTS["summe"], 1)}
    whole = recognise(frames_file(summe))
    assert whole.dataset == "summe" and whole.how == "frame counts of all 25 SumMe videos"
    subset = recognise(frames_file({"video_3": 14019, "video_45": 2500}))
    assert subset.dataset == "tvsum" and subset.how == "frame counts of 2 of the 50 TVSum videos"
    for other in ({**summe, "video_2": summe["video_2"] + 1}, {**summe, "video_26": 950}, {"clip": 4494}):
        assert recognise(frames_file(other)).dataset is None
    assert "neither SumMe's nor TVSum's" in recognise(frames_file({"video_1": 4494 + 15})).how


def test_recognised_by_sha256_hashing_only_at_a_release_size(tmp_path, monkeypatch):
    save_dataset(tmp_path / "release.h5", frames_file({"video_1": 700, "video_2": 800}))
    ds = load_dataset(tmp_path / "release.h5")
    hashed = []
    monkeypatch.setattr(paths, "sha256_file", lambda p: hashed.append(p) or "f" * 64)
    assert recognise(ds).dataset is None and hashed == []  # the size is no release's: never hashed
    size = (tmp_path / "release.h5").stat().st_size
    monkeypatch.setitem(benchmarks.RELEASES, "tvsum", dataclasses.replace(paths.TVSUM_H5, size=size, sha256="f" * 64))
    found = recognise(ds)
    assert found.dataset == "tvsum" and found.how == "sha256 of the released eccv16_dataset_tvsum_google_pool5.h5"
    assert hashed == [tmp_path / "release.h5"]
    monkeypatch.setitem(benchmarks.RELEASES, "tvsum", dataclasses.replace(paths.TVSUM_H5, size=size))
    assert recognise(ds).dataset is None  # same size, other hash: frame counts decide (none here)


def test_annotations_absent_from_an_empty_folder(tmp_path):
    assert not annotations_present("summe", tmp_path) and not annotations_present("tvsum", tmp_path)
