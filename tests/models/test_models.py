import numpy as np
import pytest
import torch

from semsum.errors import SemsumError
from semsum.models import count_parameters, get_model
from semsum.models.csta import CSTA, sinusoidal_encoding
from semsum.models.vasnet import StdLayerNorm
from semsum.nn.googlenet import GoogLeNet


def test_csta_parameter_count_matches_official_default_config():
    model = get_model("csta", 1024, cnn_weights="random")
    assert count_parameters(model) == 9_779_851
    assert count_parameters(model, ("googlenet.fc.",)) == 8_754_851


@pytest.mark.parametrize("width", [4096, 5120])
def test_csta_other_widths_change_only_embeddings_and_cls(width):
    extra = (width - 1024) * (2 * 1024 + 3)  # key and value embeddings read the input width, plus the CLS token
    assert count_parameters(get_model("csta", width, cnn_weights="random")) == 9_779_851 + extra


def test_csta_random_cnn_keeps_pytorch_default_init_as_the_official_code():
    # The official GoogleNet_Att is built with init_weights=None: PyTorch's kaiming-uniform defaults
    # (conv1: bound 1/sqrt(147), std ~0.048), not torchvision's truncated normal (std 0.01).
    torch.manual_seed(0)
    official = CSTA(16, cnn_weights="random").googlenet.conv1.conv.weight.std().item()
    torchvision = GoogLeNet().conv1.conv.weight.std().item()
    assert official == pytest.approx(1 / np.sqrt(3 * 147), rel=0.05)
    assert torchvision == pytest.approx(0.01, rel=0.1)


def test_vasnet_parameter_count():
    # official VASNet minus its two unused layers kb, kc (2 x 1,049,600)
    assert count_parameters(get_model("vasnet", 1024)) == 7_348_225 - 2 * 1_049_600


@pytest.fixture(scope="module")
def small_csta() -> CSTA:
    torch.manual_seed(0)
    return CSTA(16, cnn_weights="random").eval()


@pytest.mark.parametrize("steps", [1, 13, 14, 2000])
def test_csta_output_shape_for_any_length(small_csta, steps):
    with torch.no_grad():
        y = small_csta(torch.randn(steps, 16))
    assert y.shape == (steps,)
    assert torch.all((y > 0) & (y < 1))


def _vasnet_by_hand(m, x: torch.Tensor, transposed: bool) -> torch.Tensor:
    """VASNet's eval-mode forward written out from its equations and the module's weights (the oracle)."""
    q, k, v = x @ m.query.weight.T, x @ m.key.weight.T, x @ m.value.weight.T
    a = torch.softmax(0.06 * q @ k.T, dim=1)  # row t: the weights step t gives every step
    y = (v.T @ a).T if transposed else a @ v  # official code: (V^T A)^T; the paper: A V
    y = m.norm_y(y @ m.output.weight.T + x)
    y = m.norm_ka(torch.relu(y @ m.ka.weight.T + m.ka.bias))
    return torch.sigmoid(y @ m.kd.weight.T + m.kd.bias).squeeze(-1)


@pytest.mark.parametrize("transposed", [True, False])
def test_vasnet_weighs_the_values_as_the_official_code_or_the_paper(transposed):
    torch.manual_seed(0)
    m = get_model("vasnet", 24, transposed=transposed).eval()
    x = torch.randn(9, 24)
    with torch.no_grad():
        torch.testing.assert_close(m(x), _vasnet_by_hand(m, x, transposed))
        other = _vasnet_by_hand(m, x, not transposed)
    assert not torch.allclose(m(x).detach(), other, atol=1e-4)  # the two variants do differ


@pytest.mark.parametrize("steps", [1, 500])
def test_vasnet_output_shape(steps):
    y = get_model("vasnet", 32).eval()(torch.randn(steps, 32))
    assert y.shape == (steps,)


def test_csta_loads_the_googlenet_weights_file(tmp_path):
    torch.manual_seed(3)
    reference = GoogLeNet()
    path = tmp_path / "googlenet.pth"
    torch.save(reference.state_dict(), path)
    model = CSTA(64, cnn_weights="auto", googlenet_weights=path)
    assert model.cnn_init == "imagenet"
    assert not model.googlenet.transform_input  # the official attention CNN takes the feature map as is
    for name, value in reference.state_dict().items():
        assert torch.equal(model.googlenet.state_dict()[name], value), name
    assert CSTA(64, cnn_weights="auto", googlenet_weights=tmp_path / "absent.pth").cnn_init == "random"


def test_sinusoidal_encoding_matches_formula():
    pe = sinusoidal_encoding(7, 8).numpy()
    pos, i = 5, 2  # column 2i = 4 is sin, 2i + 1 = 5 is cos
    angle = pos / 10000 ** (2 * i / 8)
    assert pe[pos, 4] == pytest.approx(np.sin(angle), abs=1e-6)
    assert pe[pos, 5] == pytest.approx(np.cos(angle), abs=1e-6)


def test_std_layer_norm_uses_unbiased_std():
    x = torch.tensor([[1.0, 2.0, 4.0, 7.0]])
    y = StdLayerNorm(4)(x).detach().numpy()
    ref = (x.numpy() - x.numpy().mean()) / (x.numpy().std(ddof=1) + 1e-6)
    assert np.allclose(y, ref, atol=1e-6)


def test_unknown_model_is_a_clear_error():
    with pytest.raises(SemsumError, match="unknown model 'pglsum'"):
        get_model("pglsum", 1024)
