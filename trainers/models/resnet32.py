"""ResNet-32 for CIFAR (He et al. 2016, section 4.2): the backbone of the long-tail literature
(Cao et al. 2019; Alshammari et al. 2022, the protocol of PAPER.md experiment 7).

A 3x3 conv to 16 channels, three stages of five basic blocks (16, 32, 64 channels; stride 2 at
stages 2 and 3), global average pooling: 64 features, about 0.46M parameters. The blocks are
torchvision's `BasicBlock`; the shortcut across a stage change is the paper's option A (subsample
and zero-pad the channels, no parameters), as in the long-tail code bases.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock

from trainers.model_configs import ResNet32

BLOCKS_PER_STAGE = 5  # 6n + 2 = 32 layers with n = 5
WIDTHS = (16, 32, 64)


class PadShortcut(nn.Module):
    """Option A: x[:, :, ::2, ::2] with the new channels zero, split evenly on both sides."""

    def __init__(self, extra_channels: int):
        super().__init__()
        self.extra = extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = self.extra // 2
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, half, self.extra - half))


def resnet32(cfg: ResNet32, input_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    if len(input_shape) != 3:
        raise ValueError(f"resnet32 needs (channels, height, width) inputs, got shape {input_shape}")
    layers: OrderedDict[str, nn.Module] = OrderedDict(stem=nn.Sequential(nn.Conv2d(input_shape[0], WIDTHS[0], 3, padding=1, bias=False), nn.BatchNorm2d(WIDTHS[0]), nn.ReLU(inplace=True)))
    inplanes = WIDTHS[0]
    for stage, planes in enumerate(WIDTHS):
        blocks = []
        for block in range(BLOCKS_PER_STAGE):
            stride = 2 if stage > 0 and block == 0 else 1
            shortcut = PadShortcut(planes - inplanes) if stride != 1 or planes != inplanes else None
            blocks.append(BasicBlock(inplanes, planes, stride=stride, downsample=shortcut))
            inplanes = planes
        layers[f"stage{stage + 1}"] = nn.Sequential(*blocks)  # the stages metrics.layers names
    layers.update(pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten())
    net = nn.Sequential(layers)
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    return net, WIDTHS[-1]
