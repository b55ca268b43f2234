"""Training F(x) in five modes, with per-epoch TensorBoard logs so that instability is visible.

| mode                     | generator loss                                   | pairs used       |
|--------------------------|--------------------------------------------------|------------------|
| `regression`             | MSE + cosine                                     | yes              |
| `adversarial`            | Eq. 3, non-saturating (+ stabilizers, vec2vec)   | no (unpaired)    |
| `two-stage`              | `regression` warm start, then `adversarial`      | warm start only  |
| `conditional`            | warm start, then Eq. 3 with D(x, y) on pairs     | yes              |
| `regression+adversarial` | MSE + cosine + `adv_weight` * Eq. 3              | yes              |

`warmup_epochs` regression epochs can precede any adversarial mode (`two-stage` is `adversarial` with 10).
Stabilizers for every adversarial mode: `gp` (WGAN-GP or R1), `feature_matching`, `spectral_norm`; for the
unpaired case the vec2vec terms `cycle_weight` (an inverse map G and a discriminator on the x side) and
`vsp_weight`.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from semsum.align import losses
from semsum.align.mapper import Mapper, MapperConfig, Normalization, ResidualMLP, apply_mapper
from semsum.align.metrics import mean_cosine
from semsum.device import resolve_device
from semsum.errors import SemsumError
from semsum.nn.loop import EpochLoop, finite
from semsum.progress import progress_bars

MODES = ("regression", "adversarial", "two-stage", "conditional", "regression+adversarial")


@dataclass
class TrainConfig:
    """Everything that decides a training run (saved in the TensorBoard log as text)."""

    mode: str = "regression"
    depth: int = 1  # benchmarks/align.md: depth 1-2 at width >= 2x the task's hidden size fit best
    width: int = 1024
    dropout: float = 0.0
    epochs: int = 20
    batch_size: int = 256
    lr: float = 3e-3  # regression (and warm start) learning rate
    weight_decay: float = 1e-4
    cos_weight: float = 1.0
    # adversarial part
    # generator learning rate while adversarial; None: 5e-6 after a warm start (2e-5 drifts away from the pairs
    # at 1024 -> 4096, benchmarks/align.md), else 2e-4
    lr_g: float | None = None
    lr_d: float = 2e-4
    adv_weight: float = 0.1  # weight of Eq. 3 in `regression+adversarial`
    # Regression epochs before the adversarial ones (the two-stage stabilizer); None: 10 for `two-stage` and
    # `conditional` (from scratch it does not converge, see benchmarks/align.md), 0 for the other modes.
    warmup_epochs: int | None = None
    d_width: int = 512
    d_depth: int = 2
    gp: str = "none"  # none | wgan-gp | r1
    gp_weight: float = 10.0
    feature_matching: float = 0.0
    spectral_norm: bool = False
    cycle_weight: float = 0.0  # vec2vec: inverse map G(y) and cycle losses
    vsp_weight: float = 0.0  # vec2vec: vector-space preservation
    seed: int = 0
    device: str = "auto"

    @property
    def warmup(self) -> int:
        if self.mode == "regression":
            return 0
        if self.warmup_epochs is None:
            return 10 if self.mode in ("two-stage", "conditional") else 0
        return self.warmup_epochs

    @property
    def generator_lr(self) -> float:
        if self.lr_g is not None:
            return self.lr_g
        return 5e-6 if self.warmup > 0 else 2e-4

    @property
    def adversarial_lr(self) -> float:
        """The generator's learning rate in adversarial epochs (`regression+adversarial` keeps `lr`)."""
        return self.lr if self.mode == "regression+adversarial" else self.generator_lr

    def check(self) -> None:
        if self.mode not in MODES:
            raise SemsumError(f"unknown mode {self.mode!r} (choose from {', '.join(MODES)})")
        if self.gp not in losses.GRADIENT_PENALTIES:
            raise SemsumError(f"unknown gradient penalty {self.gp!r} (choose from {losses.GRADIENT_PENALTIES})")
        if self.epochs < 1 or self.batch_size < 2:
            raise SemsumError("epochs must be >= 1 and batch size >= 2")


@dataclass
class TrainResult:
    mapper: Mapper
    history: list[dict[str, float]] = field(default_factory=list)
    diverged: bool = False


def _adam(params, lr: float, adversarial: bool, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    betas = (0.5, 0.999) if adversarial else (0.9, 0.999)
    return torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay)


class _Trainer:
    """One run's networks, optimisers and per-batch steps."""

    def __init__(self, cfg: TrainConfig, mapper: Mapper, device: torch.device):
        self.cfg, self.device = cfg, device
        self.mapper = mapper
        self.net = mapper.net
        in_dim, out_dim = mapper.config.in_dim, mapper.config.out_dim
        uses_d = cfg.mode != "regression"
        cond_dim = in_dim if cfg.mode == "conditional" else 0
        self.disc = (
            losses.Discriminator(out_dim, cfg.d_width, cfg.d_depth, cond_dim, cfg.spectral_norm).to(device)
            if uses_d
            else None
        )
        self.opt_d = _adam(self.disc.parameters(), cfg.lr_d, True) if self.disc else None
        self.inverse = self.disc_x = self.opt_inv = None
        if cfg.cycle_weight > 0:
            self.inverse = ResidualMLP(out_dim, in_dim, max(cfg.depth, 1), cfg.width).to(device)
            self.disc_x = losses.Discriminator(in_dim, cfg.d_width, cfg.d_depth, 0, cfg.spectral_norm).to(device)
            self.opt_d = _adam([*self.disc.parameters(), *self.disc_x.parameters()], cfg.lr_d, True)
        self.set_phase("regression" if cfg.mode == "regression" or cfg.warmup > 0 else "adversarial")

    def set_phase(self, phase: str) -> None:
        """Enter a training phase ("regression" or "adversarial"): (re)create the generator optimiser, with `lr`
        for regression and `lr_g` for the adversarial phase."""
        self.phase = phase
        params = list(self.net.parameters()) + (list(self.inverse.parameters()) if self.inverse else [])
        if phase == "regression":
            self.opt_g = _adam(params, self.cfg.lr, False, self.cfg.weight_decay)
        else:
            self.opt_g = _adam(params, self.cfg.adversarial_lr, True, self.cfg.weight_decay)

    def epoch(self, epoch: int, xz: torch.Tensor, yz: torch.Tensor, rng: np.random.Generator) -> dict[str, Any]:
        """One pass over the (z-scored) pairs in shuffled batches, a second shuffle giving the unpaired targets;
        the phase (logged as "stage") and the mean of each loss. The adversarial phase starts after `warmup`
        epochs."""
        cfg = self.cfg
        if cfg.mode != "regression" and epoch == cfg.warmup and epoch > 0:
            self.set_phase("adversarial")
        self.mapper.train()
        n = len(xz)
        bs = min(cfg.batch_size, n)
        perm = torch.as_tensor(rng.permutation(n), device=self.device)
        other = torch.as_tensor(rng.permutation(n), device=self.device)
        sums: dict[str, float] = {}
        batches = 0
        for i in range(0, n - bs + 1, bs):
            idx, jdx = perm[i : i + bs], other[i : i + bs]
            for k, v in self.update(xz[idx], yz[idx], yz[jdx]).items():
                sums[k] = sums.get(k, 0.0) + v
            batches += 1
        return {"stage": self.phase, **{k: v / batches for k, v in sums.items()}}

    def _d_logit(self, disc, y, cond):
        return disc(y, cond if disc.cond_dim else None)

    def update(self, x: torch.Tensor, y: torch.Tensor, y_unpaired: torch.Tensor) -> dict[str, float]:
        """One optimiser update on a batch: the discriminator's (if any), then the generator's. x, y are
        z-scored."""
        cfg = self.cfg
        out: dict[str, float] = {}
        paired = self.phase == "regression" or cfg.mode in ("conditional", "regression+adversarial")
        real = y if paired else y_unpaired
        fake = self.net(x)
        adversarial = self.phase == "adversarial"
        if adversarial:
            d_loss = self._d_update(x, real, fake)
            out["loss_d"] = d_loss
        g_loss = torch.zeros((), device=x.device)
        if self.phase == "regression" or cfg.mode == "regression+adversarial":
            reg = losses.regression_loss(fake, y, cfg.cos_weight)
            g_loss = g_loss + reg
            out["loss_reg"] = reg.item()
        if adversarial:
            fake_logit, fake_h = self._d_logit(self.disc, fake, x)
            weight = cfg.adv_weight if cfg.mode == "regression+adversarial" else 1.0
            adv = losses.generator_loss(fake_logit)
            g_loss = g_loss + weight * adv
            out["loss_g_adv"] = adv.item()
            if cfg.feature_matching > 0:
                _, real_h = self._d_logit(self.disc, real, x)
                g_loss = g_loss + cfg.feature_matching * losses.feature_matching_loss(real_h, fake_h, paired)
            if cfg.vsp_weight > 0:
                g_loss = g_loss + cfg.vsp_weight * losses.vsp_loss(x, fake)
            if self.inverse is not None:
                g_loss = g_loss + self._cycle_terms(x, real, fake)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        out["loss_g"] = g_loss.item()
        return out

    def _d_update(self, x: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> float:
        cfg = self.cfg
        real_logit, _ = self._d_logit(self.disc, real, x)
        fake_logit, _ = self._d_logit(self.disc, fake.detach(), x)
        d_loss = losses.discriminator_loss(real_logit, fake_logit)
        if cfg.gp != "none":
            cond = x if self.disc.cond_dim else None
            d_loss = d_loss + cfg.gp_weight * losses.gradient_penalty(self.disc, real, fake, cfg.gp, cond)
        if self.disc_x is not None:
            back = self.inverse(real).detach()
            d_loss = d_loss + losses.discriminator_loss(self.disc_x(x)[0], self.disc_x(back)[0])
            if cfg.gp != "none":
                d_loss = d_loss + cfg.gp_weight * losses.gradient_penalty(self.disc_x, x, back, cfg.gp)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        return d_loss.item()

    def _cycle_terms(self, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """vec2vec: G(F(x)) ~ x, F(G(y)) ~ y, and G(y) must fool a discriminator on the x side."""
        back = self.inverse(y)
        cycle = F.mse_loss(self.inverse(fake), x) + F.mse_loss(self.net(back), y)
        total = self.cfg.cycle_weight * cycle + losses.generator_loss(self.disc_x(back)[0])
        if self.cfg.vsp_weight > 0:
            total = total + self.cfg.vsp_weight * losses.vsp_loss(y, back)
        return total

    def loop(
        self, state_path: str | os.PathLike[str] | None, rng: np.random.Generator, writer: Any, bar: Any
    ) -> EpochLoop:
        """The epoch loop that saves (with `state_path`) and restores this run's whole state, logging to `writer`."""
        return EpochLoop(
            state_path,
            asdict(self.cfg),
            self.modules,
            rng=rng,
            extra=lambda: {"stage": self.phase},  # the checkpoint key stays "stage"
            restore=lambda extra: self.set_phase(extra["stage"]),
            writer=writer,
            tag="align",
            progress=bar,
            description=f"align {self.cfg.mode}",
        )

    def modules(self) -> dict[str, torch.nn.Module | torch.optim.Optimizer]:
        """Everything whose state a resumed run needs."""
        parts = {"mapper": self.mapper, "disc": self.disc, "disc_x": self.disc_x, "inverse": self.inverse}
        parts.update({"opt_g": self.opt_g, "opt_d": self.opt_d})
        return {k: v for k, v in parts.items() if v is not None}


def _writer(log_dir: str | os.PathLike[str] | None, config: TrainConfig) -> Any:
    """A TensorBoard writer in `log_dir` with the config as text, or None without a folder."""
    if log_dir is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(log_dir))
    writer.add_text("config", "\n".join(f"    {k}: {v}" for k, v in asdict(config).items()))
    return writer


def train_mapper(
    x: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    source: str = "features",
    target: str = "features_mllm",
    progress: bool = False,
    state_path: str | os.PathLike[str] | None = None,
) -> TrainResult:
    """Train F(x) on aligned pairs (x[i], y[i]) and return the mapper after the last epoch.

    Held-out pairs (`x_val`, `y_val`) are only watched (cosine per epoch, in the history and TensorBoard);
    they never steer training. A non-finite loss stops the run and marks it diverged. With `state_path`
    the full training state is saved after every epoch, a killed run resumes from it, and it is removed
    when the run ends.
    """
    config.check()
    if len(x) != len(y):
        raise SemsumError(f"{len(x)} source vectors but {len(y)} targets")
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    mcfg = MapperConfig(x.shape[1], y.shape[1], config.depth, config.width, config.dropout, config.mode, source, target)
    mapper = Mapper(mcfg, Normalization.fit(x, y)).to(device)
    xz = mapper.normalize_x(torch.as_tensor(x, dtype=torch.float32, device=device))
    yz = mapper.normalize_y(torch.as_tensor(y, dtype=torch.float32, device=device))
    trainer = _Trainer(config, mapper, device)
    writer = _writer(log_dir, config)
    result = TrainResult(mapper)

    def epoch_fn(epoch: int) -> dict[str, Any]:
        row = trainer.epoch(epoch, xz, yz, rng)
        if x_val is not None and y_val is not None:
            row["val_cosine"] = mean_cosine(apply_mapper(mapper, x_val), y_val)
        return row

    def stop(row: dict[str, Any]) -> bool:
        result.diverged = not finite(row)
        return result.diverged

    with progress_bars(progress) as bar:
        loop = trainer.loop(state_path, rng, writer, bar)
        result.history = loop.run(
            config.epochs,
            epoch_fn,
            describe=lambda row: f"align {config.mode} cos {row.get('val_cosine', float('nan')):.3f}",
            stop=stop,
        )
    if writer is not None:
        writer.close()
    loop.clear()
    mapper.eval()
    return result
