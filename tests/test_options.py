"""Options belong to their implementations: declared once, generated into the CLI, refused where they do not apply."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from clitest import error_line, run_cli
from semsum import models
from semsum.errors import SemsumError
from semsum.pipeline.stages import StageConfig, route
from semsum.registry import ENCODERS, SCORERS, SHOT_DETECTORS, declares, implementations, option, option_fields

GROUPS = (ENCODERS, SHOT_DETECTORS, SCORERS)


def _pairs() -> list[tuple[str, str, str]]:
    """Every (group, implementation, option of another implementation of the group) that it does not take."""
    pairs = []
    for group in GROUPS:
        declared = option_fields((group,))
        for impl in implementations(group):
            pairs += [(group, impl.name, dest) for dest in declared if dest not in impl.dests()]
    return pairs


@pytest.mark.parametrize(("group", "name", "dest"), _pairs())
def test_every_option_an_implementation_does_not_take_is_a_one_line_error(group, name, dest):
    chosen = [i for i in implementations(group) if i.name == name]
    with pytest.raises(SemsumError) as raised:
        route({dest: option_fields((group,))[dest].default}, chosen)
    flag = "--" + dest.replace("_", "-")
    assert str(raised.value).startswith(f"{chosen[0].what} takes no option {flag} (its options: ")
    assert "\n" not in str(raised.value)


def test_an_option_goes_to_every_chosen_stage_that_takes_it():
    stages = StageConfig("fx", "auto", "run", options={"mapper": "m.pt", "max_segment": 0, "input_size": 64})
    (fx, fx_options), (auto, auto_options), (run, run_options) = route(stages.options, stages.chosen())
    assert (fx.name, auto.name, run.name) == ("fx", "auto", "run")
    assert fx_options.mapper == run_options.mapper == "m.pt" and fx_options.input_size == 64
    assert auto_options == auto.options_class(max_segment=0) and run_options.run_input == "mllm"


def test_the_cli_refuses_a_pair_in_one_line_before_any_work(tmp_path, shared_media):
    clip = shared_media / "bikes.mp4"
    line = error_line(run_cli("summarize", clip, "-o", tmp_path / "o", "--shots", "transnetv2", "--max-segment", "50"))
    assert line == "error: shot detector transnetv2 takes no option --max-segment (its options: --threshold, --runtime)"
    line = error_line(run_cli("summarize", clip, "-o", tmp_path / "o", "--run-input", "mapped"))
    assert line == "error: scorer coverage takes no option --run-input (its options: none)"
    line = error_line(run_cli("dataset", "build", "--videos", tmp_path, "--out", tmp_path / "x.h5", "--threshold", "1"))
    assert line.startswith("error: shot detector kts takes no option --threshold")
    line = error_line(run_cli("dataset", "build", "--videos", tmp_path, "--out", tmp_path / "x.h5", "--actors", "2"))
    assert line == "error: --actors is an option of --executor ray, not of --executor local"
    assert not (tmp_path / "o").exists() and not (tmp_path / "x.h5").exists()


def test_every_registered_option_reaches_summarize_and_the_app():
    for command in ("summarize", "app"):
        text = run_cli(command, "--help").output
        for dest in option_fields(GROUPS):
            assert f"--{dest.replace('_', '-')} " in text, (command, dest)
    assert "--threshold" not in run_cli("extract", "mllm", "--help").output
    assert "--windows-per-batch" in run_cli("extract", "mllm", "--help").output


def test_shared_defaults_are_declared_once():
    from semsum.features.googlenet import INPUT_SIZE
    from semsum.pipeline.sampling import SamplingConfig

    fields = option_fields(GROUPS)
    assert fields["input_size"].default == INPUT_SIZE == 224
    text = run_cli("summarize", "--help").output
    assert f"[default: {SamplingConfig().batch_size}]" in " ".join(text.split()) and SamplingConfig().batch_size == 32
    assert all(dataclasses.is_dataclass(i.options_class) for i in implementations(*GROUPS))


@dataclass(frozen=True)
class TinyOptions:
    hidden: int = option(8, "Hidden width of the test model.")


class Tiny(nn.Module):
    def __init__(self, in_dim: int, hidden: int = 8):
        super().__init__()
        self.hidden = hidden
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.net(x)).squeeze(-1)


@declares(TinyOptions)
def _tiny(in_dim: int, **kwargs) -> nn.Module:
    return Tiny(in_dim, **kwargs)


def test_train_accepts_a_model_a_test_registers_with_its_option(monkeypatch, tmp_path):
    from semsum.testing import make_synthetic_dataset

    monkeypatch.setitem(models.MODELS, "tiny", _tiny)
    h5, splits = tmp_path / "syn.h5", tmp_path / "splits.txt"
    keys = make_synthetic_dataset(h5, n_videos=4, steps=(20, 30), dim=16, seed=0).keys()
    folds = [
        f"Synthetic/split{i}/{','.join(k for k in keys if k not in keys[i::2])}/{','.join(keys[i::2])}" for i in (0, 1)
    ]
    splits.write_text("\n".join(folds) + "\n")
    args = ["train", "--h5", h5, "--splits", splits, "--model", "tiny", "--epochs", "1", "--out", tmp_path / "run"]
    result = run_cli(*args, "--hidden", "4")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert config["model"] == "tiny" and config["model_kwargs"] == {"hidden": 4}
    vasnet = [*args[:6], "vasnet", "--epochs", "1", "--out", tmp_path / "r2"]
    line = error_line(run_cli(*vasnet, "--cnn-weights", "random"))
    assert line == "error: summarizer vasnet takes no option --cnn-weights (its options: none)"
