"""The CLI contract: JSON output, one-line errors, non-zero exit on bad input."""

import json

import numpy as np
import pytest

from clitest import error_line, run_cli
from semsum.data.annotations import load_annotations


def test_baseline_human_json(shared_data):
    result = run_cli("baseline", "human", "--dataset", "summe", "--data-dir", shared_data, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert round(out["kendall_tau"], 3) == 0.205 and round(out["spearman_rho"], 3) == 0.213
    assert out["annotations"] == "summe user_score (GT .mat)" and out["protocol"] == "otani"
    assert len(out["per_video"]) == 25


def test_baseline_random_table(shared_data):
    result = run_cli("baseline", "random", "--dataset", "summe", "--data-dir", shared_data, "--trials", 3)
    assert result.exit_code == 0 and "3 trials" in result.output


@pytest.fixture
def summe_scores(shared_data, tmp_path):
    ann = load_annotations("summe", shared_data)
    rng = np.random.default_rng(0)
    scores = {
        a.name if i % 2 else key: rng.random(a.n_frames).round(3).tolist() for i, (key, a) in enumerate(ann.items())
    }
    return scores


def test_evaluate_json_and_table(shared_data, tmp_path, summe_scores):
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(summe_scores))
    result = run_cli("evaluate", path, "--dataset", "summe", "--data-dir", shared_data, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) >= {"kendall_tau", "spearman_rho", "per_video"} and len(out["per_video"]) == 25
    assert out["annotations"] == "summe user_score (GT .mat)"
    assert abs(out["kendall_tau"]) < 0.05
    table = run_cli("evaluate", path, "--dataset", "summe", "--data-dir", shared_data)
    assert table.exit_code == 0 and "Air_Force_One" in table.output
    assert "annotations: summe user_score (GT .mat)" in " ".join(table.output.split())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.update({"video_99": [0.1]}), "unknown video 'video_99'"),
        (lambda s: s.update({"video_1": s["video_1"][:-1]}), "video_1 (Air_Force_One) has 4493 scores for 4494 frames"),
        (lambda s: s.update({"video_1": [float("nan")] * 4494}), "video_1 (Air_Force_One) contains NaN"),
        (lambda s: s.update({"video_1": "oops"}), "video_1: expected a list of numbers"),
    ],
)
def test_evaluate_bad_input(shared_data, tmp_path, summe_scores, edit, message):
    edit(summe_scores)
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(summe_scores))
    line = error_line(run_cli("evaluate", path, "--dataset", "summe", "--data-dir", shared_data))
    assert "scores.json" in line and message in line


def test_missing_files(tmp_path, shared_data):
    assert "no such file" in error_line(run_cli("evaluate", tmp_path / "x.json", "--dataset", "tvsum"))
    (tmp_path / "bad.json").write_text("{")
    assert "not valid JSON" in error_line(run_cli("evaluate", tmp_path / "bad.json", "--dataset", "tvsum"))
    line = error_line(run_cli("baseline", "human", "--dataset", "tvsum", "--data-dir", tmp_path))
    assert "TVSum annotation file missing" in line


def test_data_check(shared_data, tmp_path):
    ok = run_cli("data", "check", "--data-dir", shared_data)
    assert ok.exit_code == 0 and "eccv16_dataset_tvsum_google_pool5.h5" in ok.output
    missing = run_cli("data", "check", "--data-dir", tmp_path)
    assert missing.exit_code == 1 and "summe/GT" in missing.output and "get it from" in missing.output
    assert missing.output.strip().splitlines()[-1].startswith("error: ")


def test_data_splits(shared_data):
    result = run_cli("data", "splits", shared_data / "splits/pgl-sum/tvsum_splits.json", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["test_sets_disjoint"] is False and info["videos_tested"] == 34
    text = run_cli("data", "splits", shared_data / "splits/csta/SumMe_splits.txt")
    assert "disjoint test sets (k-fold)" in text.output
