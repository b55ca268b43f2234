"""CSTA (Son et al., CVPR 2024): the T x D feature map treated as an image and attended by a CNN.

Written from the paper and the official implementation's default configuration (GoogleNet_Attention:
key/value embeddings, CLS token mixed at the end, fixed sinusoidal T x D positional encoding added to the
attention map, softmax over both axes, dropout 0.6 on the attention, key skip-connection with a
one-channel BatchNorm, two-layer classifier with sigmoid). Batch size 1, as in the official code: a padded batch
`[B, T, D]` with a mask `[B, T]` runs each video alone (the CNN sees the whole map, so padding would leak).

Input width: only the key/value embeddings and the CLS token see the input width `in_dim` (1024 for
GoogLeNet features, 4096 for MLLM embeddings, 5120 for both); the CNN always works on a [3, T+1, 1024]
image, so the attention CNN, the positional encoding and the classifier are unchanged for every width.
Videos shorter than 14 steps, which the official code rejects, get their image rows repeated up to the
CNN's minimum height. At `in_dim=1024` this is exactly the official model (9,779,851 parameters
including the unused 1000-way GoogLeNet classifier, 8,754,851 without it).
"""

from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from torch import nn

from semsum.models.masking import per_video
from semsum.nn.googlenet import GoogLeNet, load_googlenet
from semsum.nn.weights import googlenet_weights_available

WIDTH = 1024  # the CNN's working width (GoogLeNet pool5 channels)
MIN_ROWS = 15  # GoogLeNet's trunk needs an image at least 15 pixels high


def sinusoidal_encoding(n: int, dim: int, freq: float = 10000.0, device: torch.device | None = None) -> torch.Tensor:
    """The Transformer's fixed positional encoding, [n, dim] (sin on even, cos on odd columns)."""
    position = torch.arange(n, dtype=torch.float32, device=device).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(freq) / dim))
    pe = torch.zeros(n, dim, device=device)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe


class CSTA(nn.Module):
    """Frame features [T, in_dim] -> importance scores [T] in (0, 1).

    `cnn_weights`: "auto" loads torchvision's ImageNet GoogLeNet weights (the file the GoogLeNet feature
    extractor uses) when it is on disk and starts from random initialisation otherwise; "imagenet" requires
    the file (a path may be given with `googlenet_weights`); "random" never loads it. `self.cnn_init` says
    which one was used.
    """

    def __init__(
        self,
        in_dim: int = WIDTH,
        dropout: float = 0.6,
        cnn_weights: str = "auto",
        googlenet_weights: str | os.PathLike[str] | None = None,
    ):
        super().__init__()
        self.in_dim = in_dim
        pretrained = cnn_weights == "imagenet" or (
            cnn_weights == "auto" and googlenet_weights_available(googlenet_weights) is not None
        )
        if cnn_weights not in ("auto", "imagenet", "random"):
            raise ValueError(f"cnn_weights must be auto, imagenet or random, not {cnn_weights!r}")
        # The official attention CNN has no input re-normalisation: the feature map goes in as is.
        # Random init as the official GoogleNet_Att (init_weights=None): PyTorch's defaults, not torchvision's.
        self.googlenet = (
            load_googlenet(googlenet_weights, pretrained=True) if pretrained else GoogLeNet(torchvision_init=False)
        )
        self.googlenet.transform_input = False
        # NHWC convolutions: 20-25 % faster training steps on CPU for every T (benchmarks/training.md).
        self.googlenet.to(memory_format=torch.channels_last)
        self.cnn_init = "imagenet" if pretrained else "random"
        self.cls_token = nn.Parameter(torch.zeros(1, 3, 1, in_dim))
        self.key_embedding = nn.Linear(in_dim, WIDTH)
        self.value_embedding = nn.Linear(in_dim, WIDTH)
        self.skip_norm = nn.BatchNorm2d(1)
        self.attention_dropout = nn.Dropout(dropout)
        self.linear1 = nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.ReLU(), nn.Dropout(0.5), nn.LayerNorm(WIDTH, eps=1e-6))
        self.linear2 = nn.Sequential(nn.Linear(WIDTH, 1), nn.Sigmoid())
        for layer in (self.linear1[0], self.linear2[0]):
            nn.init.xavier_uniform_(layer.weight, gain=math.sqrt(2.0))
            nn.init.constant_(layer.bias, 0.1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """`[T, in_dim]` -> `[T]`, or `[B, T, in_dim]` with a mask `[B, T]` -> `[B, T]`, one video at a time."""
        if x.dim() == 3:
            return per_video(self._single, x, mask)
        return self._single(x)

    def _single(self, x: torch.Tensor) -> torch.Tensor:
        n_steps = x.shape[0]
        # The feature map as a 3-channel image (the same map in every channel), CLS token as row 0.
        image = torch.cat([self.cls_token, x.unsqueeze(0).unsqueeze(0).expand(1, 3, -1, -1)], dim=2)
        key = self.key_embedding(image)  # [1, 3, T+1, 1024]
        # Shorter videos (T < 14) break the official code; their rows are repeated up to the CNN's minimum.
        cnn_in = key if key.shape[2] >= MIN_ROWS else F.interpolate(key, size=(MIN_ROWS, WIDTH), mode="nearest")
        maps = self.googlenet.feature_maps(cnn_in)  # [1, 1024, h, w]
        attention = F.adaptive_avg_pool2d(maps, (n_steps + 1, 1))[0, :, :, 0].transpose(0, 1)  # [T+1, 1024]
        attention = attention + key[0, 0]
        attention = self.skip_norm(attention[None, None])[0, 0]
        attention = attention + sinusoidal_encoding(n_steps + 1, WIDTH, device=x.device)
        temporal = self.attention_dropout(F.softmax(attention, dim=0))
        spatial = self.attention_dropout(F.softmax(attention, dim=1))
        value = self.value_embedding(image[0, 0])  # [T+1, 1024]
        out = value * temporal + value * spatial
        out = F.adaptive_avg_pool2d(out[None], (n_steps, WIDTH))[0]  # fold the CLS row into the T rows
        return self.linear2(self.linear1(out)).squeeze(-1)
