"""`align train --mode auto`: ridge or the MLP, whichever fits held-out training videos better."""

import json

import numpy as np
import pytest

from semsum.align.commands import train_from_h5
from semsum.align.mapper import apply_mapper, load_mapper
from semsum.align.metrics import mean_cosine
from semsum.align.pairs import collect_pairs
from semsum.align.train import TrainConfig
from semsum.data.h5 import load_dataset
from semsum.testing import make_synthetic_dataset, make_teacher

CONFIG = TrainConfig(epochs=10, width=64, batch_size=64, device="cpu")


def linear_teacher(x: np.ndarray) -> np.ndarray:
    """A noisy linear map 16 -> 32: what ridge fits best from little data."""
    w = np.random.default_rng(5).normal(size=(16, 32)) / 4
    y = x @ w
    return y + 0.3 * y.std() * np.random.default_rng(6).normal(size=y.shape)


@pytest.mark.parametrize(
    ("embed", "steps", "expected"),
    [(linear_teacher, (15, 25), "ridge"), (make_teacher(16, 32, 8), (60, 90), "regression")],
    ids=["linear-little-data", "nonlinear"],
)
def test_auto_keeps_the_better_fit_and_records_both_scores(tmp_path, embed, steps, expected):
    h5 = tmp_path / "d.h5"
    keys = make_synthetic_dataset(h5, n_videos=10, steps=steps, dim=16, embed=embed).keys()
    split = tmp_path / "s.json"
    split.write_text(json.dumps([{"train_keys": keys[:8], "test_keys": keys[8:]}]))
    common = {"splits": split, "fold": 0, "val_fraction": 0.25}
    report = train_from_h5(h5, tmp_path / "auto.pt", CONFIG, auto=True, **common)
    auto = load_mapper(tmp_path / "auto.pt")
    assert auto.config.mode == expected
    assert set(auto.config.candidates) == {"ridge", "regression"}
    assert max(auto.config.candidates, key=auto.config.candidates.get) == expected
    assert f"auto chose {expected}" in report and "ridge 0." in report and "regression 0." in report
    # On unseen test videos, auto is within 0.01 of the better of ridge and the MLP trained alone.
    train_from_h5(h5, tmp_path / "ridge.pt", CONFIG, ridge=True, **common)
    train_from_h5(h5, tmp_path / "mlp.pt", CONFIG, **common)
    x, y, _ = collect_pairs(load_dataset(h5), "features", "features_mllm", keys[8:])
    test = {name: mean_cosine(apply_mapper(load_mapper(tmp_path / f"{name}.pt"), x), y) for name in ("ridge", "mlp")}
    assert mean_cosine(apply_mapper(auto, x), y) >= max(test.values()) - 0.01
    assert (test["ridge"] > test["mlp"]) == (expected == "ridge")


def test_cli_mode_auto_reports_the_choice(tmp_path):
    from typer.testing import CliRunner

    from semsum.cli import app

    h5 = tmp_path / "d.h5"
    make_synthetic_dataset(h5, n_videos=4, steps=(15, 20), dim=16, embed=linear_teacher)
    args = ["align", "train", "--h5", str(h5), "--out", str(tmp_path / "m.pt"), "--mode", "auto", "--epochs", "1"]
    result = CliRunner().invoke(app, [*args, "--width", "32"])
    assert result.exit_code == 0, result.output
    assert "auto chose" in result.output
    assert set(load_mapper(tmp_path / "m.pt").config.candidates) == {"ridge", "regression"}
