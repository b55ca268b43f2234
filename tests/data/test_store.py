"""The one resumable store: an entry is finished only once its marker is written, whoever writes it."""

from __future__ import annotations

import pytest

from semsum.data.h5 import PartsWriter
from semsum.data.store import Store, settings_key
from semsum.errors import SemsumError
from semsum.testing import make_synthetic_dataset


def test_an_entry_is_finished_only_after_its_marker(tmp_path):
    store = Store(tmp_path / "s")
    key = f"train/{settings_key({'epochs': 3, 'seed': 1})}"
    folder = store.begin(key)
    (folder / "model.pt").write_bytes(b"weights")
    assert folder.is_dir() and not store.finished(key)  # filled but not marked: a killed writer's leftovers
    assert store.markers("*/*") == []
    store.finish(key, {"seconds": 1.5})
    assert store.finished(key) and store.meta(key) == {"seconds": 1.5}
    assert Store(tmp_path / "s").finished(key)  # another run sees it
    assert store.markers("*/*") == [folder / "meta.json"] and store.markers("align/*") == []
    with pytest.raises(SemsumError, match="no such file"):
        store.meta("train/other")


def test_settings_key_covers_every_setting_and_ignores_their_order():
    assert settings_key({"a": 1, "b": [1, 2]}) == settings_key({"b": [1, 2], "a": 1})
    assert settings_key({"a": 1, "b": [1, 2]}) != settings_key({"a": 1, "b": [2, 1]})
    assert len(settings_key({})) == 16


def test_a_part_written_without_its_marker_is_not_done(tmp_path):
    ds = make_synthetic_dataset(tmp_path / "good.h5", n_videos=2, steps=(20, 30), dim=16)
    writer = PartsWriter(tmp_path / "built.h5")
    writer.put(ds["video_1"], {"seconds": 0.5})
    assert writer.store.meta("video_1") == {"key": "video_1", "seconds": 0.5}
    (writer.store.begin("video_2") / PartsWriter.PART).write_bytes(b"half a file")  # killed while writing
    assert writer.done("video_1") and not writer.done("video_2")
    assert writer.load("video_1").key == "video_1"
