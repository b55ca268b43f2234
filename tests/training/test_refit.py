"""Selection inside an epoch (`val_every`), refit on all training videos after it (`refit`), and the input
projection (`project`, `input_dropout`): chosen on validation videos only, resumable, predicted as saved."""

import json

import numpy as np
import pytest
import torch

from semsum.data.h5 import load_dataset
from semsum.errors import SemsumError
from semsum.models import get_model
from semsum.testing import make_synthetic_dataset
from semsum.training import TrainConfig, load_run, train
from semsum.training.refit import refit_videos
from training.test_train_options import saved_fold, trained_fold
from training.test_training import Interrupt, write_folds

OPTIONS = {"select": "val", "val_every": 3, "refit": True, "project": 8, "input_dropout": 0.1}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("refit")
    ds = make_synthetic_dataset(root / "syn.h5", n_videos=10, steps=(30, 60), dim=16, seed=9, noise=0.05)
    return root / "syn.h5", write_folds(root / "splits.txt", ds.keys(), 5)


def refit_fold(h5, splits, out, poison: bool = False, **options):
    """Fold 1 trained with `OPTIONS` and `options` (see `trained_fold`)."""
    cfg = TrainConfig(model="vasnet", epochs=2, seed=4, lr=1e-3, **{**OPTIONS, **options})
    return trained_fold(h5, splits, out, cfg, poison)


def test_selection_and_refit_read_no_test_video(synthetic, tmp_path):
    h5, splits = synthetic
    clean = refit_fold(h5, splits, tmp_path / "clean")
    dirty = refit_fold(h5, splits, tmp_path / "dirty", poison=True)
    assert clean["selected_epoch"] == dirty["selected_epoch"] and clean["refit_videos"] == dirty["refit_videos"]
    for name, value in clean["state_dict"].items():
        assert torch.equal(value, dirty["state_dict"][name]), name
    assert not list((tmp_path / "clean" / "fold_1").rglob("checkpoint.pt"))


def test_in_epoch_checks_and_refit_record_where_selection_stopped(synthetic, tmp_path):
    h5, splits = synthetic
    record = refit_fold(h5, splits, tmp_path / "run")
    n_train, n_val = len(record["train_keys"]), len(record["val_keys"])
    rows = record["history"]
    # every epoch row keeps its best validation tau and the number of training videos seen at it
    assert all(0 < row["val_seen"] <= n_train - n_val for row in rows)
    epoch = record["selected_epoch"]
    assert rows[epoch]["val_tau"] == max(row["val_tau"] for row in rows)
    best = {"epoch": epoch, "seen": rows[epoch]["val_seen"]}
    assert record["refit_videos"] == refit_videos(best, n_train - n_val, n_train)
    # the saved weights are the refit's, not the selection run's
    plain = refit_fold(h5, splits, tmp_path / "plain", refit=False)
    assert "refit_videos" not in plain
    assert not torch.equal(plain["state_dict"]["ka.weight"], record["state_dict"]["ka.weight"])


def test_refit_videos_count_the_chosen_passes():
    assert refit_videos({"epoch": 0, "seen": 32}, 32, 40) == 40
    assert refit_videos({"epoch": 1, "seen": 8}, 32, 40) == 50
    assert refit_videos({"epoch": 0, "seen": 1}, 32, 10) == 1
    # the same updates instead of the same passes: as many videos as the selection run had seen
    assert refit_videos({"epoch": 1, "seen": 8}, 32, 40, by="steps") == 40
    assert refit_videos({"epoch": 3, "seen": 32}, 32, 40, by="steps") == 128


def test_a_refit_resumes_after_a_kill(synthetic, tmp_path):
    h5, splits = synthetic
    cfg = TrainConfig(model="vasnet", epochs=2, seed=5, **OPTIONS)
    train(h5, splits, tmp_path / "straight", cfg, show_progress=False, folds=[0])

    straight = saved_fold(tmp_path / "straight" / "fold_0")
    n_fit = len(straight["train_keys"]) - len(straight["val_keys"])
    assert straight["refit_videos"] > len(straight["train_keys"])  # the kill lands in the refit's second pass
    steps = []

    def kill(fold, epoch, step):
        steps.append(step)
        if len(steps) == 2 * n_fit + len(straight["train_keys"]) + 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(h5, splits, tmp_path / "resumed", cfg, hook=kill, show_progress=False, folds=[0])
    train(h5, splits, tmp_path / "resumed", cfg, show_progress=False, folds=[0])
    a, b = straight, saved_fold(tmp_path / "resumed" / "fold_0")
    assert a["refit_videos"] == b["refit_videos"]
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name


def test_a_projected_model_is_saved_and_predicted_as_trained(synthetic, tmp_path):
    h5, splits = synthetic
    cfg = TrainConfig(model="vasnet", epochs=1, seed=1, select="val", project=8, input_dropout=0.2, standardize=True)
    assert cfg.model_kwargs == {"standardize": True, "project": 8, "input_dropout": 0.2}
    train(h5, splits, tmp_path / "run", cfg, show_progress=False, folds=[0])
    record = saved_fold(tmp_path / "run" / "fold_0")
    assert record["state_dict"]["input_projection.1.weight"].shape == (8, 16)
    assert record["state_dict"]["ka.weight"].shape[1] == 8  # the model itself works at the projected width
    key = record["test_keys"][0]
    x = load_dataset(h5).videos[key].features["features"]
    model = get_model("vasnet", 16, standardize=True, project=8, input_dropout=0.2)
    model.load_state_dict(record["state_dict"])
    expected = model.eval()(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(load_run(tmp_path / "run").predict_video(key, x), expected, rtol=1e-5, atol=1e-6)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert saved["project"] == 8 and saved["input_dropout"] == 0.2


@pytest.mark.parametrize("name", ["vasnet", "pgl-sum", "csta"])
def test_the_projection_comes_after_the_standardisation_and_keeps_padded_batches_exact(name):
    torch.manual_seed(0)
    extra = {"cnn_weights": "random"} if name == "csta" else {}
    model = get_model(name, 12, standardize=True, project=6, **extra).eval()
    model.input_mean.fill_(3.0)
    x = torch.randn(2, 9, 12) + 3.0
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[1, 5:] = False
    with torch.no_grad():
        batched = model(x, mask)
        assert torch.allclose(batched[1, :5], model(x[1, :5]), atol=1e-5)
        projected = model.input_projection(x[0] - 3.0)
        model._forward_pre_hooks.clear()
        assert torch.allclose(model(projected), batched[0], atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"refit": True}, "needs select 'val'"),
        ({"val_every": 4, "select": "test-best"}, "needs select 'val'"),
        ({"val_every": -1, "select": "val"}, "val_every must be"),
        ({"project": 0}, "project >= 1"),
        ({"input_dropout": 1.0}, "input_dropout in"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, message):
    with pytest.raises(SemsumError, match=message):
        TrainConfig(model="vasnet", **kwargs)
