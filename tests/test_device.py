import pytest
import torch

from semsum.device import is_cuda, resolve_device
from semsum.errors import SemsumError


def test_named_and_automatic_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected and resolve_device(None).type == expected


def test_bad_devices_are_one_line_errors(monkeypatch):
    with pytest.raises(SemsumError, match="'tpu-ish': not a torch device"):
        resolve_device("tpu-ish")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SemsumError, match="'cuda:1': CUDA is not available"):
        resolve_device("cuda:1")


def test_is_cuda_agrees_with_the_resolved_device(monkeypatch):
    for device in ("cpu", "auto", None):
        assert is_cuda(device) == (resolve_device(device).type == "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert not is_cuda("cpu")  # named: no need to ask torch
    with pytest.raises(SemsumError, match="'tpu-ish': not a torch device"):
        is_cuda("tpu-ish")
