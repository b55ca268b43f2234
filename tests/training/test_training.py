import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import semsum
from semsum.data.h5 import load_dataset, save_dataset
from semsum.errors import SemsumError
from semsum.evaluation.metrics import rank_correlations
from semsum.testing import make_synthetic_dataset
from semsum.training import TrainConfig, load_run, train


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
    for protocol in ("otani", "csta"):
        assert -1 <= results["mean_over_folds"][protocol]["kendall_tau"] <= 1
    assert results["out_of_fold"]["otani"]["f_score"] is not None
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
    assert not (tmp_path / "resumed" / "fold_2" / "model.pt").exists()
    train(h5, splits, tmp_path / "resumed", cfg, show_progress=False)
    for fold in range(5):
        a = torch.load(tmp_path / "straight" / f"fold_{fold}" / "model.pt", weights_only=False)
        b = torch.load(tmp_path / "resumed" / f"fold_{fold}" / "model.pt", weights_only=False)
        assert a["selected_epoch"] == b["selected_epoch"]
        for name, value in a["state_dict"].items():
            assert torch.equal(value, b["state_dict"][name]), (fold, name)
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
    a = torch.load(tmp_path / "straight" / "fold_1" / "model.pt", weights_only=False)["state_dict"]
    b = torch.load(tmp_path / "resumed" / "fold_1" / "model.pt", weights_only=False)["state_dict"]
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
        history = torch.load(tmp_path / "run" / f"fold_{fold['fold']}" / "model.pt", weights_only=False)["history"]
        assert all("test_tau" in row and "test_rho" in row for row in history)
        # the official rule: keep the last epoch whose test tau and rho both beat the best so far
        chosen, tau, rho = None, -np.inf, -np.inf
        for row in history:
            if row["test_tau"] > tau and row["test_rho"] > rho:
                chosen, tau, rho = row["epoch"], row["test_tau"], row["test_rho"]
        assert fold["selected_epoch"] == chosen
