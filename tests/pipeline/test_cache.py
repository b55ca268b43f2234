"""The features cache on the shared `Store`: an entry folder, finished by its marker, never hit with other settings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semsum.errors import SemsumError
from semsum.pipeline.cache import CachedVideo, FeatureCache, StageEntry, read_entry


def _video(n: int, n_frames: int | None) -> CachedVideo:
    thumbs = ((0, np.full((4, 6, 3), 7, np.uint8)),)
    return CachedVideo(np.arange(n) * 15, np.arange(n) / 2.0, np.ones((n, 3), np.float32), n_frames, thumbs)


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "clip.bin"
    path.write_bytes(b"the video's bytes")
    return path


def test_an_entry_is_a_store_folder_finished_by_its_marker(tmp_path, clip):
    cache = FeatureCache(tmp_path / "cache", clip, {"step": 15, "size": (224, 224)})
    assert cache.load() is None and cache.path.parent == tmp_path / "cache"
    cache.save(_video(4, None))  # a prefix
    prefix = cache.load()
    assert prefix is not None and not prefix.complete and len(prefix.picks) == 4
    assert json.loads((cache.path / "meta.json").read_text())["n_frames"] is None
    cache.save(_video(6, 90))
    settings, done = read_entry(cache.path)
    assert done.complete and done.n_frames == 90 and settings == cache.settings
    np.testing.assert_array_equal(done.thumbnails[0][1], np.full((4, 6, 3), 7, np.uint8))
    renamed = clip.rename(tmp_path / "renamed.bin")  # the same bytes: the same entry
    same = FeatureCache(tmp_path / "cache", renamed, {"step": 15, "size": (224, 224)})
    assert same.path == cache.path and same.load().n_frames == 90
    assert FeatureCache(tmp_path / "cache", renamed, {"step": 30, "size": (224, 224)}).load() is None


def test_unfinished_unreadable_or_foreign_entries_are_misses(tmp_path, clip):
    cache = FeatureCache(tmp_path / "cache", clip, {"step": 15})
    cache.save(_video(5, 75))
    (cache.path / "features.npy").write_bytes(b"not an array")
    assert cache.load() is None
    with pytest.raises(SemsumError, match="not a readable features entry"):
        read_entry(cache.path)
    cache.save(_video(5, 75))
    np.save(cache.path / "features.npy", np.ones((3, 3), np.float32))  # a rewrite cut short: lengths differ
    assert cache.load() is None
    cache.save(_video(5, 75))
    meta = json.loads((cache.path / "meta.json").read_text())
    (cache.path / "meta.json").write_text(json.dumps({**meta, "settings": {"step": 30}}))  # made with other settings
    assert cache.load() is None
    cache.store.reopen(cache.key)  # unfinished: no marker
    assert cache.load() is None and (cache.path / "picks.npy").is_file()


def test_stage_results_live_inside_the_features_entry(tmp_path, clip):
    cache = FeatureCache(tmp_path / "cache", clip, {"step": 15})
    cache.save(_video(5, 75))
    kts, other = {"name": "kts", "options": {"max_segment": 7}}, {"name": "kts", "options": {"max_segment": 8}}
    StageEntry(cache, kts).save({"shots": [[0, 74]]})
    assert StageEntry(cache, kts).load() == {"shots": [[0, 74]]} and StageEntry(cache, other).load() is None
    assert StageEntry(cache, kts).path.parent == cache.path / "stages"
    (StageEntry(cache, kts).path / "meta.json").write_text("{")
    assert StageEntry(cache, kts).load() is None
    cache.remove()
    assert not cache.path.exists()
