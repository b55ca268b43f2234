import numpy as np
import pytest
import torch

from semsum.models import MODELS, count_parameters, get_model
from semsum.models.pglsum import SelfAttention, absolute_position


def test_pglsum_parameter_count_matches_the_official_mrhisum_configuration():
    # PGL_SUM(input_size=1024, output_size=1024, num_segments=4, heads=8, fusion="add", pos_enc="absolute")
    assert count_parameters(get_model("pgl-sum", 1024)) == 9_443_329


def test_pglsum_parameter_names_are_the_official_ones():
    names = list(get_model("pgl-sum", 16, output_size=16).state_dict())
    assert len(names) == 85  # 8 heads x 3 + out, 4 local x (4 heads x 3 + out), linear_1/2, norm_y, norm_linear
    assert names[:2] == ["attention.attention.Wk.0.weight", "attention.attention.Wk.1.weight"]
    for name in ("attention.attention.out.weight", "attention.local_attention.3.Wv.3.weight", "norm_linear.bias"):
        assert name in names


def test_pglsum_initialisation_as_the_official_solver():
    torch.manual_seed(0)
    model = get_model("pgl-sum", 64, output_size=64)
    assert torch.all(model.norm_y.weight == 1) and torch.all(model.norm_y.bias == 0.1)  # LayerNorm biases too
    assert torch.all(model.linear_1.bias == 0.1)
    bound = np.sqrt(2.0) * np.sqrt(6 / (64 + 64))  # xavier uniform, gain sqrt 2
    assert model.linear_1.weight.abs().max() <= bound and model.linear_1.weight.abs().max() > 0.9 * bound


def test_absolute_position_encoding_formula_and_odd_lengths():
    pe = absolute_position(7, 8).numpy()
    assert pe[5, 4] == pytest.approx(np.sin(5 / 10000 ** (4 / 8)), abs=1e-6)
    assert pe[5, 5] == pytest.approx(np.cos(5 / 10000 ** (4 / 8)), abs=1e-6)
    assert np.all(pe[:, 6] == 0)  # T = 7: only T // 2 = 3 (sin, cos) pairs
    assert absolute_position(1, 8).shape == (1, 1) and absolute_position(1, 8).item() == 0


def test_mrhisum_port_weights_values_with_the_transposed_attention():
    torch.manual_seed(0)
    cell = SelfAttention(8, 8, heads=1, transposed=True).eval()
    x = torch.randn(1, 5, 8)
    mask = torch.ones(1, 5, dtype=torch.bool)
    with torch.no_grad():
        weights = torch.softmax(cell.Wq[0](x) @ cell.Wk[0](x).transpose(1, 2) + absolute_position(5, 8), dim=-1)
        expected = cell.out(weights.transpose(1, 2) @ cell.Wv[0](x))
        assert torch.allclose(cell(x, mask), expected, atol=1e-6)
        cell.transposed = False
        assert torch.allclose(cell(x, mask), cell.out(weights @ cell.Wv[0](x)), atol=1e-6)


def _model(name: str, dim: int) -> torch.nn.Module:
    torch.manual_seed(0)
    kwargs = {"cnn_weights": "random"} if name == "csta" else {"output_size": 32} if name == "pgl-sum" else {}
    return get_model(name, dim, **kwargs).eval()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_padded_batches_score_each_video_as_if_alone(name):
    model = _model(name, 16)
    lengths = [13, 7, 2]
    torch.manual_seed(1)
    videos = [torch.randn(n, 16) for n in lengths]
    x = torch.randn(3, 13, 16) * 100  # padding full of large garbage
    mask = torch.zeros(3, 13, dtype=torch.bool)
    for b, v in enumerate(videos):
        x[b, : len(v)], mask[b, : len(v)] = v, True
    with torch.no_grad():
        batched = model(x, mask)
        other_padding = model(torch.where(mask[:, :, None], x, -x), mask)
        assert batched.shape == (3, 13)
        for b, v in enumerate(videos):
            alone = model(v)
            assert alone.shape == (len(v),)
            assert torch.allclose(batched[b, : len(v)], alone, atol=1e-5), (name, b)
            assert torch.allclose(other_padding[b, : len(v)], alone, atol=1e-5), (name, b)
        assert torch.all(batched[~mask] == 0)
        assert torch.allclose(model(x[:1], torch.ones(1, 13, dtype=torch.bool))[0], model(x[0]), atol=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_gradients_do_not_reach_padded_steps(name):
    model = _model(name, 8).train()
    x = torch.randn(2, 9, 8, requires_grad=True)
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[1, 4:] = False
    model(x, mask)[mask].sum().backward()
    assert torch.all(x.grad[1, 4:] == 0) and x.grad[1, :4].abs().sum() > 0
