"""GoogLeNet (Inception v1) with torchvision's state_dict keys, so the standard weights file loads as is.

Written here because torchvision cannot be installed beside this torch. One network serves two stages, which is
why it lives in this neutral package: the feature extractor (`semsum.features.googlenet`, pool5, 1024-d, the
field's standard input) and CSTA's attention CNN (`semsum.models.csta`).

Faithful to torchvision's implementation, including its known quirk that the "5x5" branch uses a 3x3
convolution (the ported weights expect it) and `transform_input`, which re-normalises ImageNet-normalised
input to the [-1, 1] scaling the ported weights were trained with.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import torch
from torch import nn

from semsum.errors import SemsumError
from semsum.nn.weights import IMAGENET_MEAN, IMAGENET_STD, WEIGHTS_ENV, WEIGHTS_URL, hub_weights


class BasicConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four parallel branches (1x1; 1x1->3x3; 1x1->3x3; pool->1x1) concatenated on channels."""

    def __init__(self, in_ch: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int, pool_proj: int):
        super().__init__()
        self.branch1 = BasicConv2d(in_ch, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_ch, ch3x3red, kernel_size=1), BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1)
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_ch, ch5x5red, kernel_size=1), BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1)
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_ch, pool_proj, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    """Inception v1 without the auxiliary classifiers (their weights are ignored on load).

    `features(x)` returns the 1024-d pool5 vector per image; `forward(x)` the 1000-way logits.
    `torchvision_init` draws random weights as torchvision does (truncated normal, std 0.01); without it the
    layers keep PyTorch's default initialisation, as the official CSTA's attention CNN does.
    """

    def __init__(
        self, num_classes: int = 1000, transform_input: bool = True, dropout: float = 0.2, torchvision_init: bool = True
    ):
        super().__init__()
        self.transform_input = transform_input
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        if torchvision_init:
            self._init_random()

    def _init_random(self) -> None:
        # torchvision's initialisation: truncated normal (std 0.01) for conv/linear, unit BatchNorm.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        if not self.transform_input:
            return x
        mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return x * (std / 0.5) + (mean - 0.5) / 0.5

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        """The convolutional trunk: [B, 3, H, W] -> [B, 1024, h, w] (before global pooling)."""
        x = self.maxpool1(self.conv1(self._transform(x)))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4c(self.inception4b(self.inception4a(x)))
        x = self.maxpool4(self.inception4e(self.inception4d(x)))
        return self.inception5b(self.inception5a(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """pool5: [B, 3, H, W] ImageNet-normalised images -> [B, 1024]."""
        return torch.flatten(self.avgpool(self.feature_maps(x)), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.features(x)))


class Pool5(nn.Module):
    """GoogLeNet's pool5 as a module's `forward`, the one function an ONNX export records."""

    def __init__(self, net: GoogLeNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x)


@torch.no_grad()
def fold_batchnorm(model: GoogLeNet) -> GoogLeNet:
    """An inference copy of `model` in which every BatchNorm is folded into the convolution before it.

    In eval mode BatchNorm is the affine map y = γ(x - μ)/σ + β, so conv weights scaled by γ/σ and a bias
    β - μγ/σ compute the same function with one pass over the activations fewer per layer (1.4x faster
    GoogLeNet on CPU, benchmarks/RESULTS.md). Not for training: the copy has no BatchNorm statistics left.
    """
    folded = copy.deepcopy(model).eval()
    for layer in folded.modules():
        if isinstance(layer, BasicConv2d) and isinstance(layer.bn, nn.BatchNorm2d):
            bn = layer.bn
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            layer.conv.weight.mul_(scale.view(-1, 1, 1, 1))
            layer.conv.bias = nn.Parameter(bn.bias - bn.running_mean * scale)
            layer.bn = nn.Identity()
    return folded


def weights_file(path: str | os.PathLike[str] | None) -> Path:
    """The weights file to use: explicit path, $SEMSUM_GOOGLENET_WEIGHTS, torch's hub cache, else download."""
    if path is None and os.environ.get(WEIGHTS_ENV):
        path = os.environ[WEIGHTS_ENV]
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise SemsumError(f"{path}: GoogLeNet weights file not found")
        return path
    cached = hub_weights()
    if cached.is_file():
        return cached
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)  # the hub cache may not exist yet
        torch.hub.download_url_to_file(WEIGHTS_URL, str(cached), progress=True)
    except Exception as e:  # any network failure: say exactly what to do instead
        raise SemsumError(
            f"{cached}: GoogLeNet ImageNet weights missing and the download failed ({e.__class__.__name__}); "
            f"fetch {WEIGHTS_URL} on a machine with internet and pass it with --googlenet-weights FILE "
            f"(or set {WEIGHTS_ENV}, or copy it to {cached}); or run without them with --random-googlenet "
            "(a seeded random network: shots and outputs are real, importance is not)"
        ) from None
    return cached


def load_googlenet(weights: str | os.PathLike[str] | None = None, pretrained: bool = True) -> GoogLeNet:
    """GoogLeNet in eval mode: ImageNet weights (torchvision's file) when `pretrained`, else random init."""
    model = GoogLeNet(transform_input=pretrained)
    if pretrained:
        path = weights_file(weights)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise SemsumError(f"{path}: not a readable GoogLeNet weights file ({e.__class__.__name__})") from None
        state = {k: v for k, v in state.items() if not k.startswith(("aux1.", "aux2."))}
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            bad = (result.missing_keys or result.unexpected_keys)[0]
            raise SemsumError(f"{path}: not torchvision GoogLeNet weights (key mismatch at {bad!r})")
    return model.eval()
