import numpy as np
import pytest

from semsum.data.annotations import Annotation, annotations_from_h5
from semsum.data.h5 import load_dataset
from semsum.errors import SemsumError
from semsum.evaluation.metrics import f_score
from semsum.evaluation.protocols import evaluate
from semsum.summary.keyshots import frame_scores, select_keyshots
from semsum.testing import make_synthetic_dataset


def _tvsum_like(n_frames=300, users=3, seed=0):
    rng = np.random.default_rng(seed)
    scores = np.repeat(rng.integers(1, 6, (users, n_frames // 30 + 1)), 30, axis=1)[:, :n_frames].astype(float)
    return {"video_1": Annotation("vid", "video_1", "tvsum", n_frames, 30.0, scores, scores.mean(0))}


def test_otani_is_mean_over_annotators():
    ann = _tvsum_like()
    users = ann["video_1"].user_scores
    result = evaluate({"video_1": users[0]}, ann)
    from semsum.evaluation.metrics import rank_correlations

    t, r = rank_correlations(users[0], users)
    assert result.kendall_tau == pytest.approx(t.mean()) and result.spearman_rho == pytest.approx(r.mean())
    assert result.f_score is None and result.per_video["video_1"]["name"] == "vid"
    assert (result.protocol, result.annotations) == ("otani", "tvsum per-annotator scores")


def test_csta_tvsum_sees_only_every_15th_frame():
    ann = _tvsum_like(users=1)
    truth = ann["video_1"].user_scores[0]
    off_grid = np.arange(len(truth)) % 15 != 0
    pred = truth.copy()  # equal to the annotator on every 15th frame, reversed order elsewhere
    pred[off_grid] = -np.arange(len(truth))[off_grid]
    csta = evaluate({"video_1": pred}, ann, "csta")
    otani = evaluate({"video_1": pred}, ann, "otani")
    assert csta.kendall_tau == pytest.approx(1.0) and otani.kendall_tau < 0.5


def test_keys_by_name_and_bad_input():
    ann = _tvsum_like()
    ok = evaluate({"vid": np.arange(300.0)}, ann, source="s.json")
    assert list(ok.per_video) == ["video_1"]
    with pytest.raises(SemsumError, match="s.json: unknown video 'video_9'"):
        evaluate({"video_9": np.zeros(300)}, ann, source="s.json")
    with pytest.raises(SemsumError, match="s.json: video_1 \\(vid\\) has 299 scores for 300 frames"):
        evaluate({"video_1": np.zeros(299)}, ann, source="s.json")
    with pytest.raises(SemsumError, match="NaN"):
        evaluate({"video_1": np.full(300, np.nan)}, ann, source="s.json")
    with pytest.raises(SemsumError, match="unknown protocol"):
        evaluate({"video_1": np.zeros(300)}, ann, "f1")


def test_csta_summe_style_and_f_score_with_h5(tmp_path):
    ds = make_synthetic_dataset(tmp_path / "s.h5", n_videos=2, steps=(40, 50), dim=8)
    ds = load_dataset(tmp_path / "s.h5")
    ann = annotations_from_h5(ds)
    scores = {v.key: frame_scores(v.gtscore, v.picks, v.n_frames) for v in ds}
    with pytest.raises(SemsumError, match="needs --h5"):
        evaluate(scores, ann, "csta")
    result = evaluate(scores, ann, "csta", h5=ds)
    # against a file's binary user summaries the numbers are named for what they are, not for a protocol
    assert (result.protocol, result.annotations) == ("keyshots", "file user_summary")
    assert evaluate(scores, ann, "otani").to_dict()["protocol"] == "user_summary"
    v = ds["video_1"]
    summary = select_keyshots(frame_scores(v.gtscore, v.picks, v.n_frames), v.change_points).summary
    from scipy import stats

    expected = stats.kendalltau(summary, v.user_summary.mean(0)).statistic
    assert result.per_video["video_1"]["kendall_tau"] == pytest.approx(expected)
    assert result.per_video["video_1"]["f_score"] == pytest.approx(f_score(summary, v.user_summary, "max"))
    assert result.kendall_tau > 0.2  # gtscore drives the synthetic users' choices
