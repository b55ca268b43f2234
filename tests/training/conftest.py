import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Training tests run single-threaded: on a shared 2-core machine extra threads only spin and wait."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
