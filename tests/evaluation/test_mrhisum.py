import json
import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from clitest import error_line, run_cli
from semsum.data.mrhisum import MrHiSumFile, MrHiSumVideo
from semsum.errors import SemsumError
from semsum.evaluation.mrhisum import (
    average_precision,
    clip_scores,
    evaluate,
    machine_summary,
    official_softmax,
    summary_f1,
    top_clips,
    video_metrics,
)
from semsum.testing import make_mrhisum_file


def video(gtscore, change_points=None, gt_summary=None, key="video_1") -> MrHiSumVideo:
    n = len(gtscore)
    cps = np.array([[0, n]]) if change_points is None else np.array(change_points)
    summary = np.zeros(n, np.uint8) if gt_summary is None else np.array(gt_summary, np.uint8)
    return MrHiSumVideo(key, np.array(gtscore, np.float32), cps, summary)


def test_constant_prediction_is_one_tied_threshold():
    v = video(np.repeat([1.0, 0.8, 0.2, 0.0], 5))  # 4 clips; top 50 % = clips 0 and 1; 15 %: int(0.6) = 0 clips
    m = video_metrics(np.full(20, 0.3), v)
    assert m["map50"] == pytest.approx(0.5)  # one threshold: precision 2 / 4 at full recall
    assert m["map15"] == 0.0  # no positive clip: scikit-learn's 0


def test_ground_truth_ties_at_the_boundary_take_the_earlier_clip_on_short_inputs():
    gt = clip_scores(np.repeat([1.0, 0.5, 0.5, 0.0], 5))
    # torch's descending argsort (what the official code calls) keeps index order among ties for short inputs
    np.testing.assert_array_equal(top_clips(gt, 2), [1, 1, 0, 0])
    m = video_metrics(np.repeat([0.9, 0.1, 0.8, 0.0], 5), video(np.repeat([1.0, 0.5, 0.5, 0.0], 5)))
    assert m["map50"] == pytest.approx((1 + 2 / 3) / 2)  # ranking: positive, negative, positive, negative


def test_videos_shorter_than_one_clip_have_no_positives_and_no_summary():
    m = video_metrics(np.array([0.2, 0.9, 0.5]), video([0.1, 0.7, 0.3]))
    assert m == {"f1": 0.0, "map50": 0.0, "map15": 0.0}  # 1 clip: 1 // 2 = 0 positives; budget floor(0.45) = 0 s


def test_a_last_partial_clip_is_the_mean_of_its_seconds():
    np.testing.assert_array_equal(clip_scores(np.arange(7, dtype=np.float32)).numpy(), [2.0, 5.5])
    m = video_metrics(np.r_[np.ones(5), 0, 0], video(np.r_[np.zeros(5), 1, 1]))
    assert m["map50"] == pytest.approx(0.5)


def test_the_official_softmax_rounds_close_scores_into_ties():
    clips = torch.tensor([0.0, 1e-8])
    assert official_softmax(clips)[0] == official_softmax(clips)[1]  # exp(1e-8) == 1 in float32
    v = video(np.r_[np.zeros(5), np.ones(5)])  # clip 1 is the one positive
    assert average_precision([0, 1], clips.numpy()) == 1.0  # ranked first without the softmax
    assert video_metrics(np.r_[np.zeros(5), np.full(5, 1e-8)], v)["map50"] == pytest.approx(0.5)


def test_shot_values_read_the_next_shots_first_second():
    # Shots [0, 3), [3, 6), [6, 20): only second 6 scores, yet the official value of [3, 6) reads it (end inclusive).
    scores = np.zeros(20)
    scores[6] = 1.0
    summary = machine_summary(scores, np.array([[0, 3], [3, 6], [6, 20]]))
    np.testing.assert_array_equal(np.flatnonzero(summary), [3, 4, 5])  # budget floor(0.15 x 20) = 3 seconds


def test_f1_in_percent_with_the_per_second_epsilon():
    gt = np.zeros(20, np.uint8)
    gt[3:6] = 1
    assert summary_f1(gt, gt) == pytest.approx(100 * 3 / (3 + 20 * 1e-8), rel=1e-12)
    assert summary_f1(np.zeros(20, np.uint8), gt) == 0.0
    half = np.zeros(20, np.uint8)
    half[4:10] = 1  # 2 of 6 selected seconds overlap 2 of 3 ground-truth seconds
    assert summary_f1(half, gt) == pytest.approx(100 * 2 * (2 / 6) * (2 / 3) / (2 / 6 + 2 / 3), rel=1e-6)


def test_average_precision_equals_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        y = (rng.random(n) < 0.4).astype(int)
        s = rng.integers(0, 4, n).astype(np.float32) / 3  # many ties
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn warns when there is no positive
            expected = average_precision_score(y, s)
        assert average_precision(y, s) == pytest.approx(expected, abs=1e-12)


def test_metrics_average_over_videos_and_errors_name_the_video():
    a = video(np.linspace(0, 1, 30), [[0, 10], [10, 30]], key="video_1")
    b = video(np.linspace(1, 0, 25), [[0, 25]], key="video_2")
    scores = {"video_1": np.linspace(0, 1, 30), "video_2": np.linspace(0, 1, 25)}
    result = evaluate(scores, [a, b])
    for m in ("f1", "map50", "map15"):
        assert getattr(result, m) == pytest.approx(np.mean([result.per_video[k][m] for k in scores]))
    assert result.per_video["video_1"]["map50"] == 1.0 and result.per_video["video_2"]["map50"] < 1.0
    with pytest.raises(SemsumError, match=r"^s.json: video_2 has 24 scores for 25 seconds$"):
        evaluate({"video_2": np.zeros(24)}, [b], "s.json")
    with pytest.raises(SemsumError, match="video_3 is not a video of the Mr.HiSum file"):
        evaluate({"video_3": np.zeros(24)}, [a, b])
    with pytest.raises(SemsumError, match="video_1 contains NaN"):
        evaluate({"video_1": np.full(30, np.nan)}, [a, b])


def test_cli_evaluate_mrhisum(tmp_path):
    h5 = tmp_path / "mr_hisum.h5"
    keys = make_mrhisum_file(h5, n_videos=3, seconds=(40, 60), dim=4, seed=1, features=False)
    with MrHiSumFile(h5) as f:
        labels = [f.read(k, features=False) for k in keys]
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({v.key: v.gtscore.tolist() for v in labels}))
    result = run_cli("evaluate", scores, "--dataset", "mrhisum", "--h5", h5, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["dataset"] == "mrhisum" and set(out["per_video"]) == set(keys)
    assert out["map50"] == 1.0 and out["map15"] == 1.0  # the ground truth ranks its own clips perfectly
    expected = evaluate({v.key: v.gtscore for v in labels}, labels)
    assert out["f1"] == pytest.approx(expected.f1)
    text = run_cli("evaluate", scores, "--dataset", "mrhisum", "--h5", h5)
    assert text.exit_code == 0 and "mAP@50" in text.output and "Mr.HiSum: 3 videos" in text.output
    assert "needs --h5" in error_line(run_cli("evaluate", scores, "--dataset", "mrhisum"))
    scores.write_text(json.dumps({"video_9": [0.1]}))
    assert "video_9 is not a video of the Mr.HiSum file" in error_line(
        run_cli("evaluate", scores, "--dataset", "mrhisum", "--h5", h5)
    )
