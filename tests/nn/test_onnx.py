"""ONNX Runtime inference: the same outputs as PyTorch (1e-4), exported once per weights, PyTorch when it fails."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import torch

from semsum.errors import SemsumError
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
    assert [p.name for p in fresh_cache.iterdir()] == [fast.onnx.path.name]


def test_the_export_is_cached_by_weights(fresh_cache, monkeypatch):
    first = build_extractor(random_init=True, input_size=64, runtime="onnx", device="cpu")
    exported = first.onnx.path.stat().st_mtime_ns

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx, "_export", no_export)
    again = build_extractor(random_init=True, input_size=64, runtime="onnx", device="cpu")
    assert again.onnx.path == first.onnx.path and again.onnx.path.stat().st_mtime_ns == exported
    other_seed = build_extractor(random_init=True, input_size=64, runtime="torch", device="cpu", seed=1)
    example = [torch.zeros(2, 3, 64, 64)]
    from semsum.features.pool5 import Pool5

    keys = {onnx.network_key(Pool5(e.model), example) for e in (first, other_seed)}
    assert len(keys) == 2  # other weights, another file


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


def _key_of(path, source: str, monkeypatch) -> str:
    """`network_key` of a `Net` from `source` written to `path` (imported afresh), as a user's next run sees it."""
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("edited_net", path)
    code = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "edited_net", code)
    spec.loader.exec_module(code)
    return onnx.network_key(code.Net(), [torch.zeros(1, 2)])


def test_the_export_name_changes_with_the_code_of_the_graph(tmp_path, monkeypatch):
    source = """import torch
class Net(torch.nn.Linear):
    def __init__(self):
        super().__init__(2, 2)
        torch.nn.init.ones_(self.weight), torch.nn.init.zeros_(self.bias)
    def forward(self, x):
        return super().forward(x){}
"""
    first, same = (_key_of(tmp_path / "net.py", source.format(""), monkeypatch) for _ in range(2))
    other = _key_of(tmp_path / "net.py", source.format(".relu()"), monkeypatch)  # same class and weights, new graph
    assert first == same != other


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


def test_runtime_choice():
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert onnx.use_onnx("auto", cpu) and onnx.use_onnx("onnx", cpu)
    assert not onnx.use_onnx("auto", gpu) and not onnx.use_onnx("torch", cpu)
    with pytest.raises(SemsumError, match="CPU only"):
        onnx.use_onnx("onnx", gpu)
    with pytest.raises(SemsumError, match="runtime must be one of auto, onnx, torch, got 'ort'"):
        onnx.use_onnx("ort", cpu)
