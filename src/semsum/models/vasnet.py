"""VASNet (Fajtl et al., ACCV 2018 workshops): soft self-attention over all frames plus a two-layer regressor.

A different family from CSTA (global dot-product self-attention, no CNN), written from the paper and the
official implementation: K/Q/V projections without bias to 1024, logits scaled by 0.06, dropout 0.5 on the
attention weights, output projection back to the input width, residual, dropout, LayerNorm (the official
std-based variant), Linear(1024) + ReLU + dropout + LayerNorm, Linear(1) + sigmoid; Xavier-uniform
(gain sqrt 2) weights with 0.1 biases. The official module also creates two linear layers (`kb`, `kc`) that
its forward pass never uses; they are left out, so the count at 1024-d is 5,249,025 (7,348,225 with them).
The official forward pass weighs the values with the transposed attention matrix, `(V^T A)^T = A^T V`, where the
paper writes `A V`; semsum does as the official code (its published numbers come from it), `transposed=False`
gives the paper's.
Only the input width changes with `in_dim`: the K/Q/V projections read it, the output projection,
residual and first LayerNorm keep it, and the regressor maps it to 1024.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

HIDDEN = 1024


class StdLayerNorm(nn.Module):
    """VASNet's LayerNorm: (x - mean) / (unbiased std + eps), not sqrt(var + eps) as nn.LayerNorm."""

    def __init__(self, features: int, eps: float = 1e-6):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(features))
        self.beta = nn.Parameter(torch.zeros(features))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + self.eps) + self.beta


class VASNet(nn.Module):
    """Frame features [T, in_dim] -> importance scores [T] in (0, 1)."""

    def __init__(self, in_dim: int = HIDDEN, dropout: float = 0.5, transposed: bool = True):
        """`transposed` weighs the values as the official code does, `(V^T A)^T = A^T V`: step t sums column t of
        the attention matrix, which the softmax over rows does not normalise. False gives the paper's `A V`."""
        super().__init__()
        self.in_dim, self.transposed = in_dim, transposed
        self.key = nn.Linear(in_dim, HIDDEN, bias=False)
        self.query = nn.Linear(in_dim, HIDDEN, bias=False)
        self.value = nn.Linear(in_dim, HIDDEN, bias=False)
        self.output = nn.Linear(HIDDEN, in_dim, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.norm_y = StdLayerNorm(in_dim)
        self.ka = nn.Linear(in_dim, HIDDEN)
        self.norm_ka = StdLayerNorm(HIDDEN)
        self.kd = nn.Linear(HIDDEN, 1)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight, gain=math.sqrt(2.0))
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0.1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """`[T, in_dim]` -> `[T]`, or `[B, T, in_dim]` with a mask `[B, T]` (True = real step) -> `[B, T]`.

        Padded steps get -1e9 attention energies (Mr.HiSum's value), so they weigh exactly 0 for the real ones; their
        own scores are set to 0.
        """
        logits = (self.query(x) * 0.06) @ self.key(x).transpose(-2, -1)
        if mask is not None:
            logits = logits.masked_fill(~(mask[..., :, None] & mask[..., None, :]), -1e9)
        weights = self.dropout(F.softmax(logits, dim=-1))
        if self.transposed:
            if mask is not None:  # a padded step's row (uniform over every step) must not reach the real steps
                weights = weights * mask[..., :, None]
            weights = weights.transpose(-2, -1)
        y = self.output(weights @ self.value(x)) + x
        y = self.norm_y(self.dropout(y))
        y = self.norm_ka(self.dropout(F.relu(self.ka(y))))
        scores = torch.sigmoid(self.kd(y)).squeeze(-1)
        return scores if mask is None else scores * mask
