"""The trainer's options for real features: input standardisation, dropout, and a per-fold lr grid on validation."""

import json

import numpy as np
import pytest
import torch

from semsum.data.h5 import load_dataset, save_dataset
from semsum.errors import SemsumError
from semsum.testing import make_synthetic_dataset
from semsum.training import TrainConfig, load_run, train
from semsum.training.config import LOSSES
from semsum.training.saved import load_model
from semsum.training.trainer import (
    LOSS_FUNCTIONS,
    Trainer,
    load_split_file,
    load_training_data,
    pearson_loss,
    rank_loss,
)
from training.test_training import Interrupt, write_folds


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("options")
    ds = make_synthetic_dataset(root / "syn.h5", n_videos=10, steps=(30, 60), dim=16, seed=6, noise=0.05)
    return root / "syn.h5", write_folds(root / "splits.txt", ds.keys(), 5)


def scaled_copy(h5, out, scale, shift):
    """The same file with every feature dimension scaled and shifted (a standardised model cannot tell)."""
    ds = load_dataset(h5)
    for v in ds:
        v.features["features"] = v.features["features"] * scale + shift
    save_dataset(out, ds)
    return out


def saved_fold(folder):
    """A saved fold's record with its weights as `state_dict`, read the way `load_run` reads it."""
    record, weights = load_model(folder)
    return {**record, "state_dict": weights}


def test_standardised_inputs_are_fitted_on_training_videos_and_kept_in_the_run(synthetic, tmp_path):
    h5, splits = synthetic
    cfg = TrainConfig(model="vasnet", epochs=2, seed=1, select="val", standardize=True, dropout=0.2)
    assert cfg.model_kwargs == {"standardize": True, "dropout": 0.2}
    train(h5, splits, tmp_path / "raw", cfg, show_progress=False, folds=[0])
    record = saved_fold(tmp_path / "raw" / "fold_0")
    ds = load_dataset(h5)
    fit = [k for k in record["train_keys"] if k not in record["val_keys"]]
    rows = np.concatenate([ds.videos[k].features["features"] for k in fit]).astype(np.float64)
    np.testing.assert_allclose(record["state_dict"]["input_mean"], rows.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(record["state_dict"]["input_std"], rows.std(0), rtol=1e-5)
    # a scaled and shifted copy of the features trains the same model, and the loaded run applies the statistics
    other = scaled_copy(h5, tmp_path / "scaled.h5", np.linspace(0.5, 40, 16), 7.0)
    train(other, splits, tmp_path / "scaled", cfg, show_progress=False, folds=[0])
    key = record["test_keys"][0]
    a = load_run(tmp_path / "raw").predict_video(key, ds.videos[key].features["features"])
    b = load_run(tmp_path / "scaled").predict_video(key, load_dataset(other).videos[key].features["features"])
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    saved = json.loads((tmp_path / "raw" / "config.json").read_text())["config"]
    assert saved["standardize"] and saved["model_kwargs"] == {"standardize": True, "dropout": 0.2}


def test_default_options_leave_the_model_unchanged(synthetic, tmp_path):
    h5, splits = synthetic
    train(h5, splits, tmp_path / "run", TrainConfig(model="vasnet", epochs=1), show_progress=False, folds=[0])
    state = saved_fold(tmp_path / "run" / "fold_0")
    assert "input_mean" not in state["state_dict"] and state["model_kwargs"] == {}


def trained_fold(h5, splits, out, cfg: TrainConfig, poison: bool):
    """Fold 1 trained with `cfg`, saved; with `poison`, huge features and random targets on its test videos: any
    use of them in selection would show."""
    ds = load_training_data(h5, cfg)
    trainer = Trainer(cfg, ds, load_split_file(splits, ds), out)
    if poison:
        rng = np.random.default_rng(0)
        for k in trainer.splits[1].test_keys:
            trainer.data.x[k][:] = 1e30
            trainer.data.y[k][:] = torch.from_numpy(rng.random(len(trainer.data.y[k]), dtype=np.float32))
    trainer.train_fold(1)
    return saved_fold(out / "fold_1")


def grid_fold(h5, splits, out, poison: bool):
    cfg = TrainConfig(model="vasnet", epochs=2, seed=3, select="val", lr_grid=(1e-2, 1e-4), standardize=True)
    return trained_fold(h5, splits, out, cfg, poison)


def test_the_lr_grid_is_chosen_on_validation_videos_only(synthetic, tmp_path):
    h5, splits = synthetic
    clean, dirty = grid_fold(h5, splits, tmp_path / "clean", False), grid_fold(h5, splits, tmp_path / "dirty", True)
    assert clean["history"][0]["lr"] == dirty["history"][0]["lr"]
    assert clean["selected_epoch"] == dirty["selected_epoch"]
    for name, value in clean["state_dict"].items():
        assert torch.equal(value, dirty["state_dict"][name]), name
    # every rate's checkpoint is removed once the fold's model is saved
    assert not list((tmp_path / "clean" / "fold_1").rglob("checkpoint.pt"))


def test_an_lr_grid_resumes_after_a_kill(synthetic, tmp_path):
    h5, splits = synthetic
    cfg = TrainConfig(model="vasnet", epochs=2, seed=2, select="val", lr_grid=(1e-3, 1e-4))
    train(h5, splits, tmp_path / "straight", cfg, show_progress=False, folds=[0])

    def kill(fold, epoch, step):
        if epoch == 1 and step == 2 and (tmp_path / "resumed" / "fold_0" / "lr_0.0001").exists():
            raise Interrupt

    with pytest.raises(Interrupt):
        train(h5, splits, tmp_path / "resumed", cfg, hook=kill, show_progress=False, folds=[0])
    train(h5, splits, tmp_path / "resumed", cfg, show_progress=False, folds=[0])
    a = saved_fold(tmp_path / "straight" / "fold_0")
    b = saved_fold(tmp_path / "resumed" / "fold_0")
    assert a["history"][0]["lr"] == b["history"][0]["lr"] and a["selected_epoch"] == b["selected_epoch"]
    # the chosen rate is reported with the fold, in results.json and results.md
    fold = json.loads((tmp_path / "resumed" / "results.json").read_text())["folds"][0]
    assert fold["lr"] == a["history"][0]["lr"]
    assert f"lr {fold['lr']:g}" in (tmp_path / "resumed" / "results.md").read_text()
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr_grid": (1e-3, 1e-4)}, "needs select 'val'"),
        ({"dropout": 1.0}, "dropout must be in"),
        ({"loss": "l1"}, "unknown loss 'l1'"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, message):
    with pytest.raises(SemsumError, match=message):
        TrainConfig(model="vasnet", **kwargs)


def test_the_pearson_loss_is_one_minus_numpys_correlation_and_ignores_scale():
    assert tuple(LOSS_FUNCTIONS) == LOSSES  # every loss a config accepts is one the trainer has
    rng = np.random.default_rng(1)
    pred, target = rng.random(50), rng.random(50)
    got = pearson_loss(torch.tensor(pred), torch.tensor(target))
    assert float(got) == pytest.approx(1 - np.corrcoef(pred, target)[0, 1], abs=1e-12)
    assert float(pearson_loss(torch.tensor(3 * pred + 7), torch.tensor(target))) == pytest.approx(float(got), abs=1e-12)
    assert float(pearson_loss(torch.tensor(target), torch.tensor(target))) == pytest.approx(0, abs=1e-12)
    assert (
        float(pearson_loss(torch.ones(50, dtype=torch.float64), torch.tensor(target))) == 1
    )  # constant: 0 correlation


def test_the_rank_loss_is_the_weighted_pairwise_logistic_loss_of_standardised_scores():
    """Against a double loop over the pairs in numpy; free of the predictions' scale and offset; lower for the
    target's own order than for its reverse; 0 for a constant target."""
    rng = np.random.default_rng(2)
    pred, target = rng.random(40), rng.integers(1, 6, 40) / 5  # annotator-like targets: many ties
    z = (pred - pred.mean()) / pred.std()
    num = den = 0.0
    for i in range(40):
        for j in range(40):
            if target[i] > target[j]:
                w = target[i] - target[j]
                num, den = num + w * np.log1p(np.exp(-(z[i] - z[j]))), den + w
    got = float(rank_loss(torch.tensor(pred), torch.tensor(target)))
    assert got == pytest.approx(num / den, rel=1e-10)
    assert float(rank_loss(torch.tensor(5 * pred - 2), torch.tensor(target))) == pytest.approx(got, rel=1e-10)
    ordered, reversed_ = (float(rank_loss(torch.tensor(s * target), torch.tensor(target))) for s in (1.0, -1.0))
    assert ordered < got < reversed_
    assert float(rank_loss(torch.tensor(pred), torch.full((40,), 0.5, dtype=torch.float64))) == 0


def test_runs_trained_on_the_correlation_and_rank_losses_learn_and_say_so(synthetic, tmp_path):
    """Other weights than MSE's from the same seed, the loss recorded in config.json, and test scores that rank
    the synthetic videos' steps as their gtscore does, as well as MSE's (measured: tau .70 for MSE, .69 for the
    correlation, .69 for the rank loss)."""
    h5, splits = synthetic
    runs = {}
    for loss in ("mse", "pearson", "rank"):
        cfg = TrainConfig(model="vasnet", epochs=3, lr=1e-3, loss=loss)
        train(h5, splits, tmp_path / loss, cfg, show_progress=False, folds=[0])
        runs[loss] = saved_fold(tmp_path / loss / "fold_0")
    tau = {
        k: json.loads((tmp_path / k / "results.json").read_text())["folds"][0]["gtscore"]["kendall_tau"] for k in runs
    }
    for loss in ("pearson", "rank"):
        a, b = runs["mse"]["state_dict"], runs[loss]["state_dict"]
        assert any(not torch.equal(a[k], b[k]) for k in a)
        assert json.loads((tmp_path / loss / "config.json").read_text())["config"]["loss"] == loss
        assert tau[loss] > 0.6 and tau[loss] > tau["mse"] - 0.05, tau
