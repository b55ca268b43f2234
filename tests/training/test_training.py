import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import Result

import semsum
from clitest import PROGRESS_LINE, error_line, run_cli
from semsum.data.annotations import annotations_from_h5, load_annotations
from semsum.data.h5 import STRIDE, Dataset, VideoData, load_dataset, save_dataset
from semsum.errors import SemsumError
from semsum.evaluation.metrics import rank_correlations
from semsum.evaluation.protocols import evaluate
from semsum.testing import make_synthetic_dataset, uniform_shots
from semsum.training import TrainConfig, load_run, train
from semsum.training.saved import load_model, read_record


def write_folds(path: Path, keys: list[str], n_folds: int) -> Path:
    """A CSTA-format split file: disjoint test folds covering every video."""
    lines = []
    for i in range(n_folds):
        test = keys[i::n_folds]
        lines.append(f"Synthetic/split{i}/{','.join(k for k in keys if k not in test)}/{','.join(test)}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    ds = make_synthetic_dataset(root / "syn.h5", n_videos=10, steps=(30, 60), dim=32, seed=4, noise=0.05)
    return root / "syn.h5", write_folds(root / "splits.txt", ds.keys(), 5), ds


def oof_tau_against_truth(run_dir: Path, ds) -> float:
    run = load_run(run_dir)
    taus = []
    for v in ds:
        pred = run.predict_video(v.key, v.features["features"])
        taus.append(rank_correlations(pred, v.gtscore[None])[0][0])
    return float(np.mean(taus))


def test_vasnet_learns_and_shuffled_labels_do_not(synthetic, tmp_path):
    h5, splits, ds = synthetic
    cfg = TrainConfig(model="vasnet", epochs=8, seed=1)
    results = train(h5, splits, tmp_path / "real", cfg, show_progress=False)
    rng = np.random.default_rng(0)
    shuffled = load_dataset(h5)
    for v in shuffled:
        v.gtscore = rng.permutation(v.gtscore)
    save_dataset(tmp_path / "shuffled.h5", shuffled)
    train(tmp_path / "shuffled.h5", splits, tmp_path / "control", cfg, show_progress=False)
    learned = oof_tau_against_truth(tmp_path / "real", ds)
    control = oof_tau_against_truth(tmp_path / "control", ds)
    assert learned > 0.4, learned
    assert abs(control) < 0.15, control
    assert results["out_of_fold"]["gtscore"]["kendall_tau"] == pytest.approx(learned, abs=1e-6)
    assert len(results["folds"]) == 5 and results["selection"] == "last"
    # a synthetic file is no benchmark: its own binary user summaries, never under a protocol's name
    assert results["annotations"]["source"] == "file user_summary" and results["annotations"]["benchmark"] is None
    assert results["protocols"] == ["user_summary", "keyshots"]
    for name in results["protocols"]:
        assert -1 <= results["mean_over_folds"][name]["kendall_tau"] <= 1
    assert results["out_of_fold"]["user_summary"]["f_score"] is not None
    assert "| mean |" in (tmp_path / "real" / "results.md").read_text()
    scores = json.loads((tmp_path / "real" / "scores.json").read_text())
    assert {k: len(s) for k, s in scores.items()} == {v.key: v.n_frames for v in ds}
    assert list((tmp_path / "real" / "tb").iterdir())  # TensorBoard event files


def test_csta_learns_on_synthetic_data(tmp_path):
    ds = make_synthetic_dataset(tmp_path / "s.h5", n_videos=6, steps=(20, 30), dim=32, seed=2, noise=0.05)
    splits = write_folds(tmp_path / "splits.txt", ds.keys(), 3)
    cfg = TrainConfig(model="csta", epochs=3, seed=1, model_kwargs={"cnn_weights": "random"})
    results = train(tmp_path / "s.h5", splits, tmp_path / "run", cfg, show_progress=False)
    assert results["cnn_init"] == "random"
    assert oof_tau_against_truth(tmp_path / "run", ds) > 0.3


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("select", ["last", "val"])
def test_resume_after_a_kill_gives_the_same_weights(synthetic, tmp_path, select):
    h5, splits, _ = synthetic
    cfg = TrainConfig(model="vasnet", epochs=3, seed=5, select=select, deterministic=True)
    train(h5, splits, tmp_path / "straight", cfg, show_progress=False)

    def kill(fold, epoch, step):
        if (fold, epoch, step) == (2, 1, 3):
            raise Interrupt

    with pytest.raises(Interrupt):
        train(h5, splits, tmp_path / "resumed", cfg, hook=kill, show_progress=False)
    assert (tmp_path / "resumed" / "fold_2" / "checkpoint.pt").is_file()
    assert not (tmp_path / "resumed" / "fold_2" / "model.json").exists()
    train(h5, splits, tmp_path / "resumed", cfg, show_progress=False)
    for fold in range(5):
        a, a_weights = load_model(tmp_path / "straight" / f"fold_{fold}")
        b, b_weights = load_model(tmp_path / "resumed" / f"fold_{fold}")
        assert a["selected_epoch"] == b["selected_epoch"]
        for name, value in a_weights.items():
            assert torch.equal(value, b_weights[name]), (fold, name)
        assert not (tmp_path / "resumed" / f"fold_{fold}" / "checkpoint.pt").exists()


def test_csta_resumes_to_the_same_weights(synthetic, tmp_path):
    """CSTA (BatchNorm, attention dropout, channels-last CNN) resumed mid-epoch equals a straight run."""
    h5, splits, _ = synthetic
    cfg = TrainConfig(model="csta", epochs=2, seed=3, model_kwargs={"cnn_weights": "random"})

    def kill(fold, epoch, step):
        if (epoch, step) == (1, 2):
            raise Interrupt

    train(h5, splits, tmp_path / "straight", cfg, show_progress=False, folds=[1])
    with pytest.raises(Interrupt):
        train(h5, splits, tmp_path / "resumed", cfg, hook=kill, show_progress=False, folds=[1])
    train(h5, splits, tmp_path / "resumed", cfg, show_progress=False, folds=[1])
    a = load_model(tmp_path / "straight" / "fold_1")[1]
    b = load_model(tmp_path / "resumed" / "fold_1")[1]
    assert a.keys() == b.keys()
    for name, value in a.items():
        assert torch.equal(value, b[name]), name


def test_resume_refuses_other_settings(synthetic, tmp_path):
    h5, splits, _ = synthetic
    train(h5, splits, tmp_path / "run", TrainConfig(model="vasnet", epochs=1), show_progress=False)
    with pytest.raises(SemsumError, match="different settings"):
        train(h5, splits, tmp_path / "run", TrainConfig(model="vasnet", epochs=1, lr=0.1), show_progress=False)


def test_wrong_width_and_missing_gtscore_are_clear_errors(synthetic, tmp_path):
    h5, splits, _ = synthetic
    train(h5, splits, tmp_path / "run", TrainConfig(model="vasnet", epochs=1), show_progress=False)
    run = load_run(tmp_path / "run", fold=1)
    with pytest.raises(SemsumError, match="trained on 32-d features"):
        run.predict(np.zeros((10, 64), dtype=np.float32))
    assert run.predict(np.zeros((10, 32), dtype=np.float32)).shape == (10,)
    no_gt = load_dataset(h5)
    for v in no_gt:
        v.gtscore = None
    save_dataset(tmp_path / "nogt.h5", no_gt)
    with pytest.raises(SemsumError, match="gtscore: missing"):
        train(tmp_path / "nogt.h5", splits, tmp_path / "x", TrainConfig(model="vasnet"), show_progress=False)
    with pytest.raises(SemsumError, match="no fold 7"):
        load_run(tmp_path / "run", fold=7)


def test_concatenated_feature_keys(synthetic, tmp_path):
    h5, splits, _ = synthetic
    both = load_dataset(h5)
    for v in both:
        v.features["features_mllm"] = v.features["features"][:, :8] * 2
    save_dataset(tmp_path / "both.h5", both)
    cfg = TrainConfig(model="vasnet", epochs=1, feature_keys=("features", "features_mllm"))
    results = train(tmp_path / "both.h5", splits, tmp_path / "run", cfg, show_progress=False)
    assert results["in_dim"] == 40
    assert load_run(tmp_path / "run").feature_keys == ["features", "features_mllm"]


def cli(*args: str) -> subprocess.CompletedProcess:
    code = "from semsum.cli import app; app()"
    env = {**os.environ, "PYTHONPATH": str(Path(semsum.__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, env=env)


def test_cli_train_predict_and_errors(synthetic, tmp_path):
    h5, splits, ds = synthetic
    run = tmp_path / "run"
    r = cli("train", "--h5", str(h5), "--splits", str(splits), "--model", "vasnet", "--epochs", "1", "--out", str(run))
    assert r.returncode == 0, r.stderr
    assert "| mean |" in r.stdout
    r = cli("predict", "--run", str(run), "--h5", str(h5), "--out", str(tmp_path / "s.json"))
    assert r.returncode == 0, r.stderr
    scores = json.loads((tmp_path / "s.json").read_text())
    assert len(scores["video_1"]) == ds["video_1"].n_frames
    assert scores == json.loads((run / "scores.json").read_text())  # out-of-fold, as in training
    r = cli("predict", "--run", str(run), "--h5", str(h5), "--fold", "9", "--out", str(tmp_path / "x.json"))
    assert r.returncode == 1 and r.stderr.startswith("error:") and "no fold 9" in r.stderr


def test_test_best_selection_is_labelled_as_the_published_protocol(synthetic, tmp_path):
    h5, splits, _ = synthetic
    cfg = TrainConfig(model="vasnet", epochs=3, select="test-best")
    results = train(h5, splits, tmp_path / "run", cfg, show_progress=False)
    assert "published CSTA protocol" in results["selection_label"]
    assert "leaks test information" in (tmp_path / "run" / "results.md").read_text()
    for fold in results["folds"]:
        history = read_record(tmp_path / "run" / f"fold_{fold['fold']}")["history"]
        assert all("test_tau" in row and "test_rho" in row for row in history)
        # the official rule: keep the last epoch whose test tau and rho both beat the best so far
        chosen, tau, rho = None, -np.inf, -np.inf
        for row in history:
            if row["test_tau"] > tau and row["test_rho"] > rho:
                chosen, tau, rho = row["epoch"], row["test_tau"], row["test_rho"]
        assert fold["selected_epoch"] == chosen


SUMME_SHORTEST = ("video_12", "video_8", "video_11", "video_19")  # 950 to 1751 frames: quick to train on


def summe_like_file(path: Path, data_dir: Path, extra_frames: int = 0) -> Path:
    """An eccv16 file of four SumMe videos as the field's release has them, and no `dataset` attribute: the real
    frame counts (plus `extra_frames`), binary user summaries (user_score > 0), gtscore, tiny 8-d features."""
    anns = load_annotations("summe", data_dir)
    rng = np.random.default_rng(0)
    videos = {}
    for key in SUMME_SHORTEST:
        a = anns[key]
        n_frames = a.n_frames + extra_frames
        picks = np.arange(0, n_frames, STRIDE)
        gtscore = a.gt_score[np.minimum(picks, a.n_frames - 1)]
        shots = uniform_shots(n_frames, 60)
        videos[key] = VideoData(
            key=key,
            n_frames=n_frames,
            picks=picks,
            features={"features": (rng.normal(size=(len(picks), 8)) + gtscore[:, None]).astype(np.float32)},
            gtscore=gtscore.astype(np.float32),
            user_summary=np.pad(a.user_scores > 0, ((0, 0), (0, extra_frames))).astype(np.float32),
            change_points=shots,
            n_frame_per_seg=shots[:, 1] - shots[:, 0] + 1,
        )
    save_dataset(path, Dataset(videos=videos))
    return path


def train_summe_like(tmp_path: Path, shared_data: Path, data_dir: Path) -> tuple[Result, Path, Path]:
    """`semsum train` (VASNet, 1 epoch, 2 folds) on a `summe_like_file` with annotations from `data_dir`;
    returns the command's result, the file and the run directory."""
    h5 = summe_like_file(tmp_path / "summe.h5", shared_data)
    splits = write_folds(tmp_path / "splits.txt", list(SUMME_SHORTEST), 2)
    run = tmp_path / "run"
    options = ("--splits", splits, "--model", "vasnet", "--epochs", 1, "--out", run, "--data-dir", data_dir)
    return run_cli("train", "--h5", h5, *options), h5, run


def test_train_on_a_summe_file_reports_what_predict_and_evaluate_give(shared_data, tmp_path):
    r, h5, run = train_summe_like(tmp_path, shared_data, shared_data)
    scores = tmp_path / "scores.json"
    assert r.exit_code == 0, r.output
    printed = " ".join(r.output.split())
    assert "Annotations: summe user_score (GT .mat) (frame counts of 4 of the 25 SumMe videos)" in printed
    assert "tau (otani)" in printed and "tau (csta)" in printed
    results = json.loads((run / "results.json").read_text())
    assert results["annotations"]["benchmark"] == "summe" and results["protocols"] == ["otani", "csta"]
    r = run_cli("predict", "--run", run, "--h5", h5, "--out", scores)
    assert r.exit_code == 0 and "--dataset summe" in " ".join(r.output.split()), r.output
    for protocol in ("otani", "csta"):
        options = ("--protocol", protocol, "--h5", h5, "--data-dir", shared_data, "--json")
        r = run_cli("evaluate", scores, "--dataset", "summe", *options)
        assert r.exit_code == 0, r.output
        evaluated = json.loads(r.output)
        assert evaluated["protocol"] == protocol and evaluated["annotations"] == "summe user_score (GT .mat)"
        for metric in ("kendall_tau", "spearman_rho", "f_score"):
            assert results["out_of_fold"][protocol][metric] == pytest.approx(evaluated[metric], abs=1e-9)
    wrong = error_line(run_cli("evaluate", scores, "--dataset", "tvsum", "--h5", h5, "--data-dir", shared_data))
    assert "summe.h5: holds SumMe (frame counts of 4 of the 25 SumMe videos), not tvsum" in wrong
    # and these are not the numbers of the file's binary user summaries (the substitution the issue found)
    frames = {k: np.asarray(v) for k, v in json.loads(scores.read_text()).items()}
    binary = evaluate(frames, annotations_from_h5(load_dataset(h5)), "otani")
    assert binary.kendall_tau != pytest.approx(results["out_of_fold"]["otani"]["kendall_tau"], abs=1e-6)


def test_a_file_of_no_benchmark_is_evaluated_against_its_user_summaries_and_says_so(shared_data, tmp_path):
    h5 = summe_like_file(tmp_path / "other.h5", shared_data, extra_frames=1)
    splits = write_folds(tmp_path / "splits.txt", list(SUMME_SHORTEST), 2)
    cfg = TrainConfig(model="vasnet", epochs=1)
    results = train(h5, splits, tmp_path / "run", cfg, data_dir=shared_data, show_progress=False)
    assert results["annotations"]["source"] == "file user_summary" and results["annotations"]["benchmark"] is None
    assert results["protocols"] == ["user_summary", "keyshots"] and "otani" not in results["out_of_fold"]
    table = (tmp_path / "run" / "results.md").read_text()
    assert "Annotations: file user_summary" in table and "tau (user_summary)" in table and "otani)" not in table
    ds = load_dataset(h5)
    frames = {k: np.asarray(v) for k, v in json.loads((tmp_path / "run" / "scores.json").read_text()).items()}
    expected = evaluate(frames, annotations_from_h5(ds), "otani", ds)
    assert results["out_of_fold"]["user_summary"]["kendall_tau"] == pytest.approx(expected.kendall_tau, abs=1e-12)
    assert expected.protocol == "user_summary" and expected.annotations == "file user_summary"


def test_a_recognised_benchmark_without_its_annotations_says_so_in_one_line(shared_data, tmp_path):
    empty = tmp_path / "no_data"
    empty.mkdir()
    r, _, run = train_summe_like(tmp_path, shared_data, empty)
    assert r.exit_code == 0, r.output
    warning = [
        line for line in r.stderr.strip().splitlines() if not PROGRESS_LINE.match(line)
    ]  # one line, beside progress
    assert len(warning) == 1 and warning[0].startswith("warning: ") and "SumMe" in warning[0]
    assert "annotations are missing" in warning[0] and "semsum data check" in warning[0]
    results = json.loads((run / "results.json").read_text())
    assert results["annotations"]["note"] in warning[0] and results["protocols"] == ["user_summary", "keyshots"]
    assert "semsum data check" in (run / "results.md").read_text()
