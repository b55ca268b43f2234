import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from semsum.align.mapper import Mapper, MapperConfig, Normalization, apply_mapper, load_mapper, save_mapper
from semsum.errors import SemsumError


def _mapper(depth: int = 2) -> Mapper:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 8)), rng.normal(3.0, 2.0, size=(50, 12))
    torch.manual_seed(0)
    return Mapper(MapperConfig(in_dim=8, out_dim=12, depth=depth, width=16, source="features"), Normalization.fit(x, y))


def test_round_trip_keeps_config_normalisation_and_outputs(tmp_path):
    mapper = _mapper()
    x = np.random.default_rng(1).normal(size=(7, 8)).astype(np.float32)
    save_mapper(mapper, tmp_path / "m.pt")
    loaded = load_mapper(tmp_path / "m.pt")
    assert loaded.config == mapper.config
    np.testing.assert_allclose(apply_mapper(loaded, x), apply_mapper(mapper, x), rtol=1e-6)
    assert apply_mapper(loaded, x).shape == (7, 12)


def test_output_is_denormalised_to_target_statistics():
    mapper = _mapper()
    with torch.no_grad():
        for p in mapper.net.parameters():
            p.zero_()
    out = apply_mapper(mapper, np.zeros((3, 8), np.float32))
    np.testing.assert_allclose(out, np.repeat(mapper.y_mean.numpy()[None], 3, 0), rtol=1e-6)


def test_wrong_width_names_the_expected_shape():
    with pytest.raises(SemsumError, match=r"f.h5: video_3/features: features have shape \(4, 9\).*\[n_steps, 8\]"):
        apply_mapper(_mapper(), np.zeros((4, 9)), where="f.h5: video_3/features")


def test_depth_zero_is_one_linear_layer():
    assert isinstance(_mapper(depth=0).net.net, torch.nn.Linear)


def test_foreign_or_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SemsumError, match="no such mapper file"):
        load_mapper(tmp_path / "nope.pt")
    save_file({"weights": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(SemsumError, match="not a semsum mapper"):
        load_mapper(tmp_path / "other.safetensors")
    (tmp_path / "text.safetensors").write_text("hello")
    with pytest.raises(SemsumError, match="not a mapper file"):
        load_mapper(tmp_path / "text.safetensors")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "old.pt")
    with pytest.raises(SemsumError, match="a pickled mapper .* semsum run convert"):
        load_mapper(tmp_path / "old.pt")
