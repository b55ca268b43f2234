"""The shared epoch loop: resume, refusal of another configuration, early stop, TensorBoard and progress."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semsum.errors import SemsumError
from semsum.nn.loop import EpochLoop, finite
from semsum.progress import progress_bars


def _run(path, epochs, die_after=None, config=None):
    """A linear model fitted by SGD with noisy steps (torch RNG) and shuffled batches (numpy RNG)."""
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    x = torch.randn(32, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1

    def epoch(i):
        if die_after is not None and i == die_after:
            raise KeyboardInterrupt
        for idx in np.array_split(rng.permutation(32), 4):
            opt.zero_grad()
            loss = ((net(x[idx]).squeeze(-1) - y[idx]) ** 2).mean() + 1e-3 * torch.randn(())
            loss.backward()
            opt.step()
        return {"loss": loss.item()}

    loop = EpochLoop(path, config or {"lr": 0.1}, lambda: {"net": net, "opt": opt}, rng=rng)
    return loop, loop.run(epochs, epoch), net


def test_a_killed_loop_resumes_to_the_same_weights(tmp_path):
    _, straight, net = _run(None, 5)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "s.pt", 5, die_after=3)
    loop, resumed, again = _run(tmp_path / "s.pt", 5)
    assert [r["epoch"] for r in resumed] == [0, 1, 2, 3, 4] and all(r["seconds"] >= 0 for r in resumed)
    assert [r["loss"] for r in resumed] == [r["loss"] for r in straight]
    for a, b in zip(net.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(SemsumError, match="another configuration"):
        _run(tmp_path / "s.pt", 5, config={"lr": 0.2})
    loop.clear()
    assert not (tmp_path / "s.pt").exists()
    (tmp_path / "bad.pt").write_text("not a checkpoint")
    with pytest.raises(SemsumError, match="bad.pt: unreadable training state"):
        _run(tmp_path / "bad.pt", 2)


def test_stop_ends_without_saving_and_rows_reach_tensorboard_and_progress(tmp_path):
    logged = []

    class Writer:
        def add_scalar(self, tag, value, step):
            logged.append((tag, value, step))

    net = torch.nn.Linear(1, 1)
    rows = iter([{"loss": 1.0, "stage": "a"}, {"loss": float("nan"), "stage": "b"}])
    with progress_bars(False) as bar:
        loop = EpochLoop(tmp_path / "s.pt", {}, lambda: {"net": net}, writer=Writer(), tag="t", progress=bar)
        history = loop.run(5, lambda i: next(rows), stop=lambda row: not finite(row))
        assert bar.tasks[0].completed == 2
    assert len(history) == 2 and not finite(history[1])
    assert ("t/loss", 1.0, 1) in logged and not any(tag == "t/stage" for tag, _, _ in logged)
    assert len(torch.load(tmp_path / "s.pt", weights_only=True)["history"]) == 1  # the NaN epoch was not saved
