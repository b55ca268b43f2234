import json
import shutil

import h5py
import numpy as np
import pytest
import torch

from clitest import error_line, run_cli
from semsum.data.mrhisum import MrHiSumFile
from semsum.errors import SemsumError
from semsum.evaluation.metrics import rank_correlations
from semsum.models import get_model
from semsum.testing import make_mrhisum_file, write_mrhisum_split
from semsum.training.saved import load_model, read_record
from semsum.training.stream import Passes, StreamConfig, accumulate_gradients, train_stream

DIM = 16


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("mrhisum")
    keys = make_mrhisum_file(root / "mh.h5", n_videos=26, seconds=(30, 50), dim=DIM, seed=5, noise=0.05)
    write_mrhisum_split(root / "split.json", keys, val=3, test=5)
    return root / "mh.h5", root / "split.json", keys


def _config(**changes) -> StreamConfig:
    base = dict(model="vasnet", epochs=2, batch_size=4, lr=1e-3, workers=0, pass_frames=200, seed=1)
    return StreamConfig(**{**base, **changes})


def test_passes_sort_a_batch_and_bound_its_padded_steps():
    items = [(f"v{n}", np.ones((n, 3), np.float16), np.ones(n, np.float32)) for n in (20, 50, 10, 30, 30)]
    passes = Passes(100)(items)
    assert [p.keys for p in passes] == [["v50", "v30"], ["v30", "v20", "v10"]]
    assert [tuple(p.x.shape) for p in passes] == [(2, 50, 3), (3, 30, 3)]
    assert passes[1].x.dtype == torch.float16 and passes[1].mask.sum(1).tolist() == [30, 20, 10]
    assert all(p.mask.numel() <= 100 for p in passes)


def test_passes_add_up_to_the_gradient_of_the_whole_batch():
    items = [
        (str(n), np.random.default_rng(n).normal(size=(n, 8)).astype(np.float32), np.linspace(0, 1, n))
        for n in (9, 5, 3)
    ]
    items = [(k, x, y.astype(np.float32)) for k, x, y in items]
    grads = []
    for frames in (1, 1000):  # one video per pass, or the whole batch at once
        torch.manual_seed(0)
        model = get_model("vasnet", 8).eval()  # no dropout: the same function either way
        loss = accumulate_gradients(model, Passes(frames)(items), torch.device("cpu"))
        grads.append((loss, [p.grad.clone() for p in model.parameters()]))
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-6)
    for a, b in zip(grads[0][1], grads[1][1], strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def _shuffled(h5, out):
    """A copy whose gtscore is permuted within each video: no signal left to learn."""
    shutil.copy(h5, out)
    rng = np.random.default_rng(0)
    with h5py.File(out, "a") as f:
        for key in f:
            f[key]["gtscore"][...] = rng.permutation(f[key]["gtscore"][()])
    return out


def _test_tau(run, h5) -> float:
    scores = json.loads((run / "scores.json").read_text())
    with MrHiSumFile(h5) as f:
        return float(np.mean([rank_correlations(s, f.read(k, False).gtscore[None])[0][0] for k, s in scores.items()]))


@pytest.mark.parametrize(
    ("model", "changes"),
    [
        ("pgl-sum", {"lr": 5e-3, "epochs": 5, "model_kwargs": {"output_size": 64}}),
        ("vasnet", {"lr": 1e-4, "epochs": 4}),
        ("csta", {"lr": 1e-3, "epochs": 2, "model_kwargs": {"cnn_weights": "random"}}),
    ],
)
def test_models_learn_the_synthetic_signal_above_a_shuffled_control(synthetic, tmp_path, model, changes):
    h5, split, _ = synthetic
    cfg = _config(model=model, batch_size=2, select="last", **changes)
    train_stream(h5, split, tmp_path / "real", cfg, show_progress=False)
    train_stream(_shuffled(h5, tmp_path / "shuffled.h5"), split, tmp_path / "control", cfg, show_progress=False)
    learned, control = _test_tau(tmp_path / "real", h5), _test_tau(tmp_path / "control", h5)
    assert learned > 0.25 and learned > control + 0.15, (learned, control)


def test_results_report_test_metrics_for_each_validation_choice(synthetic, tmp_path):
    h5, split, keys = synthetic
    results = train_stream(
        h5, split, tmp_path / "run", _config(float16=True, workers=2, prefetch=1), show_progress=False
    )
    assert set(results["by_selection"]) == {"last", "f1", "map50", "map15"}
    assert results["selection"] == "map50" and set(results["test"]) == {"f1", "map50", "map15"}
    best = max(range(2), key=lambda e: (results["history"][e]["val_map50"], e))  # later epochs win ties
    assert results["selected_epoch"] == best
    assert results["n_videos"] == {"train": 18, "val": 3, "test": 5}
    scores = json.loads((tmp_path / "run" / "scores.json").read_text())
    with MrHiSumFile(h5) as f:
        assert {k: len(v) for k, v in scores.items()} == {k: f.length(k) for k in keys[-5:]}
    assert "best val map50 (saved model)" in (tmp_path / "run" / "results.md").read_text()
    assert read_record(tmp_path / "run")["selected_epoch"] == best
    assert train_stream(
        h5, split, tmp_path / "run", _config(float16=True, workers=2, prefetch=1), show_progress=False
    ) == json.loads((tmp_path / "run" / "results.json").read_text())
    with pytest.raises(SemsumError, match="holds a run with different settings"):
        train_stream(h5, split, tmp_path / "run", _config(lr=0.5), show_progress=False)


def test_resume_after_a_kill_gives_the_same_weights(synthetic, tmp_path):
    h5, split, _ = synthetic
    cfg = _config(model="pgl-sum", epochs=3, model_kwargs={"output_size": 32})
    train_stream(h5, split, tmp_path / "straight", cfg, show_progress=False)

    def kill(fold, epoch, step):
        if (epoch, step) == (1, 2):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_stream(h5, split, tmp_path / "resumed", cfg, hook=kill, show_progress=False)
    assert (tmp_path / "resumed" / "checkpoint.pt").is_file()
    train_stream(h5, split, tmp_path / "resumed", cfg, show_progress=False)
    a, a_weights = load_model(tmp_path / "straight")
    b, b_weights = load_model(tmp_path / "resumed")
    assert a["selected_epoch"] == b["selected_epoch"]
    for name, value in a_weights.items():
        assert torch.equal(value, b_weights[name]), name
    assert not (tmp_path / "resumed" / "checkpoint.pt").exists()


def test_split_keys_missing_from_the_file_are_a_clear_error(synthetic, tmp_path):
    h5, _, keys = synthetic
    split = tmp_path / "split.json"
    write_mrhisum_split(split, [*keys, "video_99"], val=2, test=1)
    with pytest.raises(SemsumError, match="test_keys names 'video_99', which .*mh.h5 does not contain"):
        train_stream(h5, split, tmp_path / "run", _config(), show_progress=False)


def test_cli_train_stream(synthetic, tmp_path):
    h5, split, _ = synthetic
    args = ["train-stream", "--h5", h5, "--split", split, "--model", "vasnet", "--epochs", "1", "--batch-size", "8"]
    result = run_cli(*args, "--workers", "0", "--lr", "1e-4", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert "best val map50 (saved model)" in result.output
    assert json.loads((tmp_path / "run" / "results.json").read_text())["config"]["weight_decay"] == 1e-4
    # The run's saved model serves `predict` on the Mr.HiSum file; `evaluate` reads what it writes.
    scores = tmp_path / "scores.json"
    result = run_cli("predict", "--run", tmp_path / "run", "--h5", h5, "--out", scores)
    assert result.exit_code == 0, result.output
    assert "--dataset mrhisum" in result.output
    predicted = json.loads(scores.read_text())
    assert sorted(predicted) == sorted(MrHiSumFile(h5).keys())
    for key, test_scores in json.loads((tmp_path / "run" / "scores.json").read_text()).items():
        np.testing.assert_allclose(predicted[key], test_scores, rtol=1e-5, atol=1e-6)  # as the run scored its test set
    result = run_cli("evaluate", scores, "--dataset", "mrhisum", "--h5", h5, "--json")
    assert result.exit_code == 0, result.output
    assert {"f1", "map50", "map15"} <= set(json.loads(result.output))
    missing = tmp_path / "missing.json"
    write_mrhisum_split(missing, ["video_1", "video_2", "video_404"], val=1, test=1)
    assert "names 'video_404'" in error_line(run_cli(*args, "--split", missing, "--out", tmp_path / "other"))
