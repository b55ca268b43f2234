import os
import subprocess
import sys

import pytest
import torch

from semsum.device import device_type, is_cuda, resolve_device
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


def test_device_type_agrees_with_the_resolved_device():
    for device in ("cpu", "auto", None):
        assert device_type(device) == resolve_device(device).type


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OMP_NUM_THREADS": "1"},
        {"OMP_NUM_THREADS": "64"},
        {"OMP_NUM_THREADS": "x"},
        {"MKL_NUM_THREADS": "1", "OMP_NUM_THREADS": "2"},
    ],
)
def test_cpu_threads_without_torch_are_torchs_default(env):
    """ONNX Runtime gets the thread count torch would use, computed without importing torch (a fresh process)."""
    code = (
        "import sys; from semsum.device import cpu_threads; n = cpu_threads(); assert 'torch' not in sys.modules; "
        "import torch; print(n, torch.get_num_threads(), cpu_threads())"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", code], env=clean | env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    without, torch_default, with_torch = map(int, done.stdout.split())
    assert without == torch_default == with_torch
