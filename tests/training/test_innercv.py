"""Inner cross-validation (`select = "inner-cv"`): the epoch count chosen on the training videos' own folds, then a
refit on all of them that is exactly a plain run of that length; no test video read; resumable."""

import json

import numpy as np
import pytest
import torch

from semsum.errors import SemsumError
from semsum.testing import make_synthetic_dataset
from semsum.training import TrainConfig, train
from semsum.training.innercv import inner_groups, mean_curve
from training.test_train_options import saved_fold, trained_fold
from training.test_training import Interrupt, write_folds

OPTIONS = {"model": "vasnet", "epochs": 3, "seed": 4, "lr": 1e-3, "select": "inner-cv", "inner_folds": 4}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("innercv")
    ds = make_synthetic_dataset(root / "syn.h5", n_videos=10, steps=(30, 60), dim=16, seed=3, noise=0.05)
    return root / "syn.h5", write_folds(root / "splits.txt", ds.keys(), 5)


def test_inner_groups_partition_the_training_videos_by_seed_and_fold():
    keys = [f"v{i}" for i in range(11)]
    groups = inner_groups(keys, 4, seed=1, fold=0)
    assert sorted(k for g in groups for k in g) == sorted(keys)
    assert sorted(len(g) for g in groups) == [2, 3, 3, 3]
    assert groups == inner_groups(keys, 4, seed=1, fold=0)
    assert groups != inner_groups(keys, 4, seed=1, fold=1) and groups != inner_groups(keys, 4, seed=2, fold=0)
    with pytest.raises(SemsumError, match="5 groups of 4 training videos"):
        inner_groups(keys[:4], 5, seed=1, fold=0)


def test_the_mean_curve_averages_every_inner_run_per_epoch():
    runs = [
        [{"train_loss": 1.0, "val_tau": 0.1, "seconds": 2.0}, {"train_loss": 0.5, "val_tau": 0.3, "seconds": 1.0}],
        [{"train_loss": 3.0, "val_tau": 0.2, "seconds": 4.0}, {"train_loss": 1.5, "val_tau": -0.1, "seconds": 1.0}],
    ]
    rows = mean_curve(runs)
    assert [r["epoch"] for r in rows] == [0, 1]
    assert rows[0]["train_loss"] == 2.0 and rows[1]["train_loss"] == 1.0
    assert rows[0]["val_tau"] == pytest.approx(0.15) and rows[1]["val_tau"] == pytest.approx(0.1)
    assert rows[0]["seconds"] == 6.0


def test_the_chosen_count_is_refitted_as_a_plain_run_of_that_length(synthetic, tmp_path):
    h5, splits = synthetic
    record = trained_fold(h5, splits, tmp_path / "inner", TrainConfig(**OPTIONS), poison=False)
    taus = [row["val_tau"] for row in record["history"]]
    epoch = record["selected_epoch"]
    assert len(taus) == 3 and epoch == int(np.argmax(taus))
    assert record["refit_videos"] == (epoch + 1) * len(record["train_keys"]) == (epoch + 1) * 8
    groups = record["inner_val_keys"]
    assert sorted(k for g in groups for k in g) == sorted(record["train_keys"]) and len(groups) == 4
    assert not set(record["test_keys"]) & set(record["train_keys"])
    # the oracle: `last` with that many epochs on all training videos (same seed, init and order) gives these weights
    plain_cfg = TrainConfig(**{**OPTIONS, "select": "last", "epochs": epoch + 1})
    plain = trained_fold(h5, splits, tmp_path / "plain", plain_cfg, poison=False)
    for name, value in plain["state_dict"].items():
        assert torch.equal(value, record["state_dict"][name]), name
    assert sorted(p.name for p in (tmp_path / "inner" / "fold_1").iterdir()) == ["model.json", "model.safetensors"]


def test_a_refit_by_steps_sees_as_many_videos_as_an_inner_run(synthetic, tmp_path):
    h5, splits = synthetic
    record = trained_fold(h5, splits, tmp_path / "steps", TrainConfig(**OPTIONS, refit_by="steps"), poison=False)
    passes = trained_fold(h5, splits, tmp_path / "passes", TrainConfig(**OPTIONS), poison=False)
    assert record["selected_epoch"] == passes["selected_epoch"]  # the choice is the same, only the refit's length
    assert record["refit_videos"] == (record["selected_epoch"] + 1) * 6  # 8 training videos, inner runs on 6


def test_inner_cross_validation_reads_no_test_video(synthetic, tmp_path):
    h5, splits = synthetic
    cfg = TrainConfig(**OPTIONS, lr_grid=(1e-2, 1e-4))
    clean = trained_fold(h5, splits, tmp_path / "clean", cfg, poison=False)
    dirty = trained_fold(h5, splits, tmp_path / "dirty", cfg, poison=True)
    assert [r["val_tau"] for r in clean["history"]] == [r["val_tau"] for r in dirty["history"]]
    assert clean["selected_epoch"] == dirty["selected_epoch"] and clean["history"][0]["lr"] in (1e-2, 1e-4)
    for name, value in clean["state_dict"].items():
        assert torch.equal(value, dirty["state_dict"][name]), name


def test_inner_cross_validation_resumes_after_a_kill(synthetic, tmp_path):
    h5, splits = synthetic
    cfg = TrainConfig(**OPTIONS)
    train(h5, splits, tmp_path / "straight", cfg, show_progress=False, folds=[0])
    steps = []

    def kill(fold, epoch, step):  # in the third inner run's second epoch
        steps.append(step)
        if len(steps) == 2 * 3 * 6 + 6 + 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(h5, splits, tmp_path / "resumed", cfg, hook=kill, show_progress=False, folds=[0])
    assert (tmp_path / "resumed" / "fold_0" / "inner_2" / "checkpoint.pt").is_file()
    train(h5, splits, tmp_path / "resumed", cfg, show_progress=False, folds=[0])
    a, b = saved_fold(tmp_path / "straight" / "fold_0"), saved_fold(tmp_path / "resumed" / "fold_0")
    assert a["selected_epoch"] == b["selected_epoch"] and a["refit_videos"] == b["refit_videos"]
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name
    results = json.loads((tmp_path / "resumed" / "results.json").read_text())
    assert results["selection"] == "inner-cv" and "cross-validation inside" in results["selection_label"]
    assert results["folds"][0]["val_tau"] == b["history"][b["selected_epoch"]]["val_tau"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inner_folds": 1}, "inner_folds must be at least 2"),
        ({"refit": True}, "needs select 'val'"),
        ({"val_every": 2}, "needs select 'val'"),
        ({"refit_by": "epochs"}, "unknown refit_by 'epochs'"),
    ],
)
def test_bad_inner_cv_options_are_clear_errors(kwargs, message):
    with pytest.raises(SemsumError, match=message):
        TrainConfig(**{**OPTIONS, **kwargs})
