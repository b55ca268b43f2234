import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from semsum.align.baselines import fit_ridge
from semsum.align.mapper import apply_mapper
from semsum.align.metrics import mean_cosine
from semsum.align.train import TrainConfig, train_mapper
from semsum.errors import SemsumError
from semsum.nn.loop import EpochLoop
from semsum.testing import make_teacher, teacher_pairs

SMALL = {"depth": 2, "width": 128, "batch_size": 128, "lr": 3e-3, "lr_g": 2e-5}


@pytest.fixture(scope="module")
def pairs():
    """2000 training and 500 held-out pairs of a 32 -> 128 teacher that a linear map cannot fit."""
    x, y = teacher_pairs(make_teacher(in_dim=32, out_dim=128, hidden=32, scale=2.0), 2500)
    return x[:2000], y[:2000], x[2000:], y[2000:]


def test_regression_fits_a_teacher_that_ridge_cannot(pairs):
    x, y, xt, yt = pairs
    ridge, _ = fit_ridge(x, y)
    ridge_cos = mean_cosine(apply_mapper(ridge, xt), yt)
    result = train_mapper(x, y, TrainConfig(epochs=12, **SMALL), xt, yt)
    assert ridge_cos < 0.8
    assert result.history[-1]["val_cosine"] >= 0.95
    assert not result.diverged


@pytest.mark.parametrize(
    "overrides",
    [
        {"mode": "two-stage", "warmup_epochs": 8, "gp": "r1", "gp_weight": 1.0, "feature_matching": 1.0},
        {"mode": "conditional", "warmup_epochs": 8, "spectral_norm": True},
        {"mode": "regression+adversarial", "warmup_epochs": 4, "feature_matching": 1.0},
    ],
)
def test_modes_that_use_pairs_converge_without_divergence(pairs, overrides, tmp_path):
    x, y, xt, yt = pairs
    cfg = TrainConfig(epochs=12, **SMALL, **overrides)
    result = train_mapper(x, y, cfg, xt, yt, log_dir=tmp_path)
    cosines = [row["val_cosine"] for row in result.history]
    assert not result.diverged
    assert cosines[-1] >= 0.8
    assert cosines[-1] >= max(cosines) - 0.05  # no collapse after the best epoch
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"align/loss_d", "align/loss_g", "align/val_cosine", "align/seconds"} <= tags
    assert len(events.Scalars("align/val_cosine")) == 12


def test_pure_adversarial_with_vec2vec_terms_runs_finite(pairs):
    x, y, xt, yt = pairs
    cfg = TrainConfig(
        mode="adversarial", epochs=2, gp="wgan-gp", spectral_norm=True, cycle_weight=1.0, vsp_weight=1.0, **SMALL
    )
    result = train_mapper(x[:256], y[:256], cfg, xt, yt)
    assert not result.diverged
    assert np.isfinite(result.history[-1]["loss_d"]) and np.isfinite(result.history[-1]["val_cosine"])


def test_bad_config_is_a_clear_error(pairs):
    x, y, _, _ = pairs
    with pytest.raises(SemsumError, match="unknown mode 'gan'"):
        train_mapper(x, y, TrainConfig(mode="gan"))
    with pytest.raises(SemsumError, match="unknown gradient penalty"):
        train_mapper(x, y, TrainConfig(mode="adversarial", gp="l2"))
    with pytest.raises(SemsumError, match="2000 source vectors but 10 targets"):
        train_mapper(x, y[:10], TrainConfig())


@pytest.mark.parametrize("mode", ["regression", "two-stage"])
def test_a_killed_run_resumes_to_the_same_weights(pairs, tmp_path, monkeypatch, mode):
    x, y, xt, yt = pairs
    cfg = TrainConfig(mode=mode, epochs=4, warmup_epochs=2, **{**SMALL, "width": 32})
    straight = train_mapper(x[:512], y[:512], cfg, xt, yt)
    real_save = EpochLoop.save

    def save_then_die(loop):
        real_save(loop)
        if len(loop.history) == 3:
            raise KeyboardInterrupt

    state = tmp_path / "run.state"
    monkeypatch.setattr(EpochLoop, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_mapper(x[:512], y[:512], cfg, xt, yt, state_path=state)
    assert state.is_file()
    monkeypatch.setattr(EpochLoop, "save", real_save)
    resumed = train_mapper(x[:512], y[:512], cfg, xt, yt, state_path=state)
    assert not state.exists()
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2, 3]
    for a, b in zip(straight.mapper.state_dict().values(), resumed.mapper.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    other = TrainConfig(mode=mode, epochs=5, warmup_epochs=2, **{**SMALL, "width": 32})
    monkeypatch.setattr(EpochLoop, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_mapper(x[:512], y[:512], cfg, xt, yt, state_path=state)
    with pytest.raises(SemsumError, match="another configuration"):
        train_mapper(x[:512], y[:512], other, xt, yt, state_path=state)
