"""Losses for training F(x): regression (MSE plus cosine), Eq. 3 with a non-saturating generator loss, and
the stabilizers the paper names (gradient penalty, feature matching, spectral normalisation) plus the
vec2vec terms (cycle consistency, vector-space preservation) for the unpaired case."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

GRADIENT_PENALTIES = ("none", "wgan-gp", "r1")


def regression_loss(pred: torch.Tensor, target: torch.Tensor, cos_weight: float = 1.0) -> torch.Tensor:
    """MSE plus `cos_weight` * (1 - cosine), both on z-scored targets."""
    mse = F.mse_loss(pred, target)
    return mse + cos_weight * (1.0 - F.cosine_similarity(pred, target, dim=1).mean())


class Discriminator(nn.Module):
    """MLP critic D(y) (or D(x, y) when `cond_dim` > 0) returning a logit and its penultimate features."""

    def __init__(self, in_dim: int, width: int = 512, depth: int = 2, cond_dim: int = 0, spectral: bool = False):
        super().__init__()
        wrap = _sn if spectral else (lambda m: m)
        layers: list[nn.Module] = []
        d = in_dim + cond_dim
        for _ in range(depth):
            layers += [wrap(nn.Linear(d, width)), nn.LeakyReLU(0.2)]
            d = width
        self.body = nn.Sequential(*layers)
        self.head = wrap(nn.Linear(d, 1))
        self.cond_dim = cond_dim

    def forward(self, y: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(y if cond is None else torch.cat([cond, y], dim=1))
        return self.head(h).squeeze(1), h


def discriminator_loss(real_logit: torch.Tensor, fake_logit: torch.Tensor) -> torch.Tensor:
    """-Eq. 3: binary cross-entropy with real -> 1 and F(x) -> 0."""
    return F.binary_cross_entropy_with_logits(
        real_logit, torch.ones_like(real_logit)
    ) + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit))


def generator_loss(fake_logit: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: maximise log D(F(x)) instead of minimising log(1 - D(F(x)))."""
    return F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))


def gradient_penalty(
    disc: Discriminator,
    real: torch.Tensor,
    fake: torch.Tensor,
    kind: str,
    cond: torch.Tensor | None = None,
) -> torch.Tensor:
    """WGAN-GP ((|grad D| - 1)^2 on real/fake interpolates) or R1 (|grad D|^2 on real samples)."""
    if kind == "r1":
        point = real.detach().requires_grad_(True)
    elif kind == "wgan-gp":
        eps = torch.rand(real.shape[0], 1, device=real.device)
        point = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    else:
        raise ValueError(f"unknown gradient penalty {kind!r} (choose from {GRADIENT_PENALTIES})")
    logit, _ = disc(point, cond)
    (grad,) = torch.autograd.grad(logit.sum(), point, create_graph=True)
    norm = grad.norm(dim=1)
    return (norm**2).mean() / 2 if kind == "r1" else ((norm - 1) ** 2).mean()


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor, paired: bool) -> torch.Tensor:
    """Match the discriminator's penultimate features: their batch mean (Salimans et al. 2016) for unpaired
    data, or each sample's features against its own pair's (pix2pixHD) when the batch rows are aligned."""
    if paired:
        return F.mse_loss(fake_features, real_features.detach())
    return F.mse_loss(fake_features.mean(0), real_features.detach().mean(0))


def vsp_loss(x: torch.Tensor, fx: torch.Tensor) -> torch.Tensor:
    """vec2vec vector-space preservation: pairwise cosines inside a batch stay the same after mapping."""
    xn = F.normalize(x, dim=1)
    fn = F.normalize(fx, dim=1)
    return F.mse_loss(fn @ fn.T, xn @ xn.T)
