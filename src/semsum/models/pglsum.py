"""PGL-SUM (Apostolidis et al., ISM 2021): global and local multi-head attention with positional encoding.

Written from the paper and the official implementation (e-apostolidis/PGL-SUM), in the configuration Mr.HiSum trains
(`PGL_SUM(input_size=1024, output_size=1024, num_segments=4, heads=8, fusion="add", pos_enc="absolute")`):

- global attention: 8 heads, each K/Q/V a bias-free Linear(in_dim, 1024 / 8); energies `Q K^T` (unscaled) plus the
  absolute sinusoidal encoding `AP[p, 2i] = sin(p / 10000^(2i / in_dim))`, `AP[p, 2i+1] = cos(...)` (a [T, T] matrix;
  for odd T its last column is 0), softmax, dropout 0.5, times V; heads concatenated, bias-free Linear back to in_dim;
- local attention: the video cut into 4 segments of `ceil(T / 4)` steps, each with its own 4-head attention of width
  1024 / 4 (the same encoding, restarting at each segment); global and local outputs are L2-normalised per step and
  added;
- residual, dropout 0.5, LayerNorm(eps 1e-6), Linear(in_dim, in_dim), ReLU, dropout, LayerNorm, Linear(in_dim, 1),
  sigmoid;
- initialisation as the official solvers: Xavier-uniform (gain sqrt 2) for every weight except LayerNorms', 0.1 for
  every bias (LayerNorm biases included).

At in_dim 1024 this is 9,443,329 parameters, the official count; parameter names follow the official module, so its
checkpoints load with `load_state_dict`.

Batches: `[B, T, D]` with a mask `[B, T]` (True = a real step) maps to `[B, T]`. Each video is computed as if alone:
padded steps are zeroed, masked out of every softmax (-1e9, the official value), and the segments and the positional
encoding follow each video's own length. Mr.HiSum's batched port of this model instead derives segments and encoding
from the padded length and normalises the global output along the batch axis (`weighted_value[left:right]`), so its
output for a video depends on the batch it is in; at batch 1 (how it evaluates) the two agree.
That port also multiplies the *transposed* attention with V (`matmul(V^T, A)^T`, i.e. `A^T V`), where the paper
and the original code use `A V`; `mrhisum_port=True` reproduces it, for comparison with Mr.HiSum's PGL-SUM numbers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

WIDTH = 1024
#: The official masking value for attention energies between padded steps.
MASKED = -1e9


def absolute_position(n: int, dim: int, freq: float = 10000.0, device: torch.device | None = None) -> torch.Tensor:
    """PGL-SUM's absolute encoding [n, n]: column 2i is sin(p / freq^(2i/dim)), 2i+1 its cos, in the official ops."""
    pos = torch.arange(n, device=device)[:, None]
    i = torch.arange(n // 2, device=device)[None, :]
    angle = pos / freq ** ((2 * i) / dim)
    encoding = torch.zeros(n, n, device=device)
    encoding[:, 0 : 2 * (n // 2) : 2] = torch.sin(angle)
    encoding[:, 1 : 2 * (n // 2) : 2] = torch.cos(angle)
    return encoding


class SelfAttention(nn.Module):
    """PGL-SUM's multi-head attention cell: `[B, T, input_size]` and a mask `[B, T]` -> `[B, T, input_size]`."""

    def __init__(
        self,
        input_size: int,
        output_size: int,
        heads: int,
        freq: float = 10000.0,
        dropout: float = 0.5,
        transposed: bool = False,
    ):
        super().__init__()
        self.input_size, self.heads, self.freq, self.transposed = input_size, heads, freq, transposed
        width = output_size // heads
        self.Wk = nn.ModuleList(nn.Linear(input_size, width, bias=False) for _ in range(heads))
        self.Wq = nn.ModuleList(nn.Linear(input_size, width, bias=False) for _ in range(heads))
        self.Wv = nn.ModuleList(nn.Linear(input_size, width, bias=False) for _ in range(heads))
        self.out = nn.Linear(output_size, input_size, bias=False)
        self.drop = nn.Dropout(dropout)

    def _bias(self, mask: torch.Tensor) -> torch.Tensor:
        """Positional encoding of each video's own length, [B, T, T] (or [T, T] when nothing is padded)."""
        n = mask.shape[1]
        encoding = absolute_position(n, self.input_size, self.freq, mask.device)
        lengths = mask.sum(1)
        if bool(torch.all(lengths == n)):
            return encoding
        # An odd length L leaves column L - 1 at zero, as when the video is alone.
        columns = torch.arange(n, device=mask.device)[None, :] < (2 * (lengths // 2))[:, None]
        return encoding[None] * columns[:, None, :]

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        bias = self._bias(mask)
        padded = ~(mask[:, :, None] & mask[:, None, :]) if not bool(mask.all()) else None
        outputs = []
        for wk, wq, wv in zip(self.Wk, self.Wq, self.Wv, strict=True):
            energies = wq(x) @ wk(x).transpose(1, 2) + bias
            if padded is not None:
                energies = energies.masked_fill(padded, MASKED)
            weights = self.drop(torch.softmax(energies, dim=-1))
            outputs.append((weights.transpose(1, 2) if self.transposed else weights) @ wv(x))
        return self.out(torch.cat(outputs, dim=-1))


class MultiAttention(nn.Module):
    """Global attention plus one local attention per segment, L2-normalised and added (the "add" fusion)."""

    def __init__(
        self, input_size: int, output_size: int, num_segments: int, heads: int, local_heads: int, transposed: bool
    ):
        super().__init__()
        self.num_segments = num_segments
        self.attention = SelfAttention(input_size, output_size, heads, transposed=transposed)
        self.local_attention = nn.ModuleList(
            SelfAttention(input_size, output_size // num_segments, local_heads, transposed=transposed)
            for _ in range(num_segments)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        fused = F.normalize(self.attention(x, mask), p=2, dim=-1)
        lengths = mask.sum(1)
        size = (lengths + self.num_segments - 1) // self.num_segments  # ceil(L / segments) per video
        steps = torch.arange(x.shape[1], device=x.device)
        for k, local in enumerate(self.local_attention):
            start = k * size
            count = (torch.minimum(start + size, lengths) - start).clamp(min=0)
            width = int(count.max())
            if width == 0:
                continue
            valid = steps[None, :width] < count[:, None]  # [B, width]
            index = (start[:, None] + steps[None, :width]).clamp(max=x.shape[1] - 1)  # [B, width]
            gather = index[:, :, None].expand(-1, -1, x.shape[2])
            local_x = torch.gather(x, 1, gather) * valid[:, :, None]
            out = F.normalize(local(local_x, valid), p=2, dim=-1) * valid[:, :, None]
            fused = fused.scatter_add(1, index[:, :, None].expand(-1, -1, out.shape[2]), out)
        return fused


class PGLSUM(nn.Module):
    """Frame features `[T, in_dim]` -> scores `[T]`, or `[B, T, in_dim]` with a mask `[B, T]` -> `[B, T]`, in (0, 1)."""

    def __init__(
        self,
        in_dim: int = WIDTH,
        output_size: int = WIDTH,
        num_segments: int = 4,
        heads: int = 8,
        local_heads: int = 4,
        dropout: float = 0.5,
        mrhisum_port: bool = False,
    ):
        super().__init__()
        self.in_dim = in_dim
        self.attention = MultiAttention(in_dim, output_size, num_segments, heads, local_heads, mrhisum_port)
        self.linear_1 = nn.Linear(in_dim, in_dim)
        self.linear_2 = nn.Linear(in_dim, 1)
        self.drop = nn.Dropout(dropout)
        self.norm_y = nn.LayerNorm(in_dim, eps=1e-6)
        self.norm_linear = nn.LayerNorm(in_dim, eps=1e-6)
        for name, param in self.named_parameters():
            if "weight" in name and "norm" not in name:
                nn.init.xavier_uniform_(param, gain=math.sqrt(2.0))
            elif "bias" in name:
                nn.init.constant_(param, 0.1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        single = x.dim() == 2
        if single:
            x = x.unsqueeze(0)
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        x = x * mask[:, :, None]
        y = self.norm_y(self.drop(self.attention(x, mask) + x))
        y = self.norm_linear(self.drop(torch.relu(self.linear_1(y))))
        scores = torch.sigmoid(self.linear_2(y)).squeeze(-1) * mask
        return scores[0] if single else scores
