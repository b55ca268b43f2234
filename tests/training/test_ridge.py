import json
from pathlib import Path

import numpy as np
import pytest

from clitest import error_line, run_cli
from semsum.data.splits import load_splits
from semsum.testing import make_synthetic_dataset
from semsum.training.ridge import choose_alpha, fit, predict, ridge_baseline, ridge_fold
from semsum.training.trainer import Tensors, TrainConfig, load_training_data

ALPHAS = (0.1, 10.0, 1000.0)


def json_folds(path: Path, keys: list[str], n_folds: int) -> Path:
    """A PGL-SUM-style JSON split file: disjoint test folds covering every video."""
    folds = [
        {"train_keys": [k for k in keys if k not in keys[i::n_folds]], "test_keys": keys[i::n_folds]}
        for i in range(n_folds)
    ]
    path.write_text(json.dumps(folds))
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("ridge")
    ds = make_synthetic_dataset(root / "syn.h5", n_videos=12, steps=(30, 60), dim=16, seed=2, noise=0.05)
    return root / "syn.h5", json_folds(root / "splits.json", ds.keys(), 3)


def tensors(h5: Path) -> Tensors:
    cfg = TrainConfig(model="ridge")
    return Tensors(load_training_data(h5, cfg), cfg, str(h5))


def test_fit_matches_the_closed_form(synthetic):
    h5, splits = synthetic
    data = tensors(h5)
    train, test = load_splits(splits)[0].train_keys, load_splits(splits)[0].test_keys
    x = np.concatenate([data.x[k].numpy() for k in train]).astype(np.float64)
    y = np.concatenate([data.y[k].numpy() for k in train]).astype(np.float64)
    mean, std = x.mean(0), x.std(0)
    xs = (x - mean) / std
    model = fit(data, train, ALPHAS)
    for j, alpha in enumerate(ALPHAS):
        w = np.linalg.solve(xs.T @ xs + alpha * np.eye(xs.shape[1]), xs.T @ (y - y.mean()))
        for k in test:
            expected = ((data.x[k].numpy() - mean) / std) @ w + y.mean()
            np.testing.assert_allclose(predict(model, data.x[k].numpy())[:, j], expected, rtol=1e-4, atol=1e-4)


def test_alpha_selection_never_reads_test_videos(synthetic):
    h5, splits = synthetic
    split = load_splits(splits)[1]
    clean = ridge_fold(tensors(h5), split, 1, ALPHAS)
    poisoned = tensors(h5)
    rng = np.random.default_rng(0)
    for k in split.test_keys:  # huge features and random targets: any use in selection or fitting would show
        poisoned.x[k][:] = 1e30
        poisoned.y[k][:] = float(rng.random())
    dirty = ridge_fold(poisoned, split, 1, ALPHAS)
    assert dirty.alpha == clean.alpha and dirty.inner_tau == clean.inner_tau
    np.testing.assert_array_equal(dirty.model[-1].coef_, clean.model[-1].coef_)
    assert all(np.abs(dirty.scores[k]).max() > 1e20 for k in split.test_keys)  # the poison was really there
    # and the selection is the best of the inner folds' taus
    assert clean.inner_tau[clean.alpha] == max(choose_alpha(tensors(h5), split.train_keys, ALPHAS)[1].values())


def test_ridge_learns_the_synthetic_rule_and_prints_the_train_table(synthetic):
    h5, splits = synthetic
    results = ridge_baseline(h5, splits, alphas=ALPHAS, inner_folds=3)
    assert results["out_of_fold"]["gtscore"]["kendall_tau"] > 0.5
    assert [f["n_test"] for f in results["folds"]] == [4, 4, 4]
    out = run_cli("baseline", "ridge", "--h5", h5, "--splits", splits)
    assert out.exit_code == 0, out.output
    assert "| fold | alpha | tau (user_summary) |" in out.output
    assert "alpha by GroupKFold over the training videos" in out.output


def test_ridge_needs_h5_and_splits(synthetic):
    assert error_line(run_cli("baseline", "ridge", "--h5", synthetic[0])) == (
        "error: baseline ridge: give --h5 FILE and --splits FILE"
    )
    assert error_line(run_cli("baseline", "human")) == "error: baseline human: give --dataset summe or tvsum"
