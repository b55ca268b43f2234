import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from semsum.errors import SemsumError
from semsum.nn.googlenet import GoogLeNet, fold_batchnorm, load_googlenet
from semsum.nn.weights import torch_hub_dir


def test_torchvision_layout_and_size():
    m = GoogLeNet()
    # torchvision.models.googlenet(aux_logits=False) has exactly this many parameters and state_dict entries.
    assert sum(p.numel() for p in m.parameters()) == 6_624_904
    assert len(m.state_dict()) == 344
    keys = m.state_dict().keys()
    assert {
        "conv1.conv.weight",
        "inception3a.branch2.1.bn.running_mean",
        "inception5b.branch4.1.conv.weight",
        "fc.weight",
    } <= set(keys)


def test_shapes_for_any_image_size():
    m = GoogLeNet().eval()
    with torch.inference_mode():
        assert m.features(torch.randn(2, 3, 224, 224)).shape == (2, 1024)
        assert m.features(torch.randn(1, 3, 97, 161)).shape == (1, 1024)
        assert m(torch.randn(1, 3, 224, 224)).shape == (1, 1000)


def test_loads_a_torchvision_style_file_with_aux_heads(tmp_path):
    src = GoogLeNet().eval()
    state = src.state_dict()
    state["aux1.conv.conv.weight"] = torch.zeros(128, 512, 1, 1)  # torchvision's file carries aux heads
    path = tmp_path / "googlenet.pth"
    torch.save(state, path)
    loaded = load_googlenet(path)
    x = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        torch.testing.assert_close(loaded.features(x), src.features(x))
    assert not loaded.training


def test_folded_batchnorm_computes_the_same_features():
    torch.manual_seed(0)
    m = GoogLeNet().eval()
    for bn in (x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d)):  # statistics far from (0, 1)
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.2, 0.2)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    folded = fold_batchnorm(m)
    assert not any(isinstance(x, torch.nn.BatchNorm2d) for x in folded.modules())
    x = torch.randn(3, 3, 96, 96)
    with torch.inference_mode():
        torch.testing.assert_close(folded.features(x), m.features(x), rtol=1e-4, atol=1e-5)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in before.items())  # the original is left as it was


def test_bad_weights_files(tmp_path):
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv1.weight": torch.zeros(1)}, wrong)
    with pytest.raises(SemsumError, match="wrong.pth: not torchvision GoogLeNet weights"):
        load_googlenet(wrong)
    junk = tmp_path / "junk.pth"
    junk.write_text("junk")
    with pytest.raises(SemsumError, match="junk.pth: not a readable GoogLeNet weights file"):
        load_googlenet(junk)


def test_offline_download_error_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("SEMSUM_GOOGLENET_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # the hub cache: TORCH_HOME/hub

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(SemsumError) as e:
        load_googlenet()
    msg = str(e.value)
    assert "googlenet-1378be20.pth" in msg and "--googlenet-weights" in msg and "\n" not in msg


@pytest.mark.parametrize(
    "env",
    [{}, {"TORCH_HOME": "/tmp/th"}, {"XDG_CACHE_HOME": "/tmp/xdg"}, {"TORCH_HOME": "~/th", "XDG_CACHE_HOME": "/x"}],
)
def test_the_hub_folder_is_torchs_own(env, monkeypatch):
    """`torch_hub_dir` finds the weights where torch's hub keeps them, without importing torch."""
    for name in ("TORCH_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert torch_hub_dir() == Path(torch.hub.get_dir())


def test_the_weights_label_names_the_hub_file_without_torch(tmp_path):
    """The features cache is keyed by the weights file's name: found in the hub cache without importing torch."""
    code = (
        "import sys; from semsum.features.googlenet import weights_label; "
        "print(weights_label(None, False)); print('torch' in sys.modules)"
    )
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / "googlenet-1378be20.pth").write_bytes(b"weights")
    env = {k: v for k, v in os.environ.items() if k != "SEMSUM_GOOGLENET_WEIGHTS"} | {"TORCH_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == [f"imagenet: {tmp_path / 'hub' / 'checkpoints' / 'googlenet-1378be20.pth'}", "False"]


@pytest.fixture
def one_thread():
    """Two shared cores: one torch thread avoids OpenMP oversubscription stalls (10x here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_extractor_preprocessing_and_batches(tmp_path, one_thread):
    import numpy as np

    from semsum.device import resolve_device
    from semsum.features.pool5 import IMAGENET_MEAN, IMAGENET_STD, build_extractor, preprocess

    grey = np.full((2, 40, 60, 3), 124, np.uint8)
    x = preprocess(grey, 32)
    assert x.shape == (2, 3, 32, 32)
    for c in range(3):  # a flat image stays flat through the resize: (v - mean) / std per channel
        expected = (124 / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
        np.testing.assert_allclose(x[:, c], np.full((2, 32, 32), expected), atol=1e-4, rtol=0)
    extractor = build_extractor(random_init=True, input_size=64)
    assert extractor.weights == "random-init" and extractor.device == str(resolve_device())
    frames = np.random.default_rng(0).integers(0, 256, size=(3, 50, 70, 3), dtype=np.uint8)
    feats = extractor(frames)
    assert feats.shape == (3, 1024) and feats.dtype == np.float32
    assert extractor.offset.shape == (1024,) and (feats + extractor.offset >= 0).all()  # pool5 after ReLU
    np.testing.assert_allclose(extractor(frames[1:2]), feats[1:2], rtol=1e-4, atol=1e-5)  # batch-independent
    many = np.concatenate([frames] * 4)  # 12 frames: more than one forward pass on CPU
    np.testing.assert_allclose(extractor(many), np.concatenate([feats] * 4), rtol=1e-4, atol=1e-5)
    again = build_extractor(random_init=True, input_size=64)  # seeded: the same random network
    np.testing.assert_allclose(again(frames), feats, rtol=1e-4, atol=1e-5)
    # Real weights: a torchvision-layout file given by path is used and named in the output.
    path = tmp_path / "googlenet.pth"
    torch.save(GoogLeNet().state_dict(), path)
    assert build_extractor(path, input_size=64).weights == f"imagenet: {path}"


def _torch_preprocess(frames, size: int) -> torch.Tensor:
    """The preprocessing as torch computes it (semsum's up to session 10): the reference for numpy's."""
    from semsum.nn.weights import IMAGENET_MEAN, IMAGENET_STD

    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255.0)
    if x.shape[-2:] != (size, size):
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def test_preprocessing_without_torch_is_torchs_to_the_bit():
    """Frames at the input size are preprocessed in numpy (no torch imported): every uint8 value in every channel
    gives torch's float32 to the bit; resized frames too."""
    import numpy as np

    from semsum.features.pool5 import preprocess

    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    every = np.stack([np.stack([np.roll(values, c, axis=0)] * 3, axis=-1)[None] for c in range(3)])[:, 0]
    resized = np.random.default_rng(0).integers(0, 256, size=(2, 20, 30, 3), dtype=np.uint8)
    for frames in (every, resized):
        np.testing.assert_array_equal(preprocess(frames, 16), _torch_preprocess(frames, 16).numpy())
