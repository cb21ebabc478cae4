"""ResNet-32 for CIFAR (He et al. 2016, section 4.2): the backbone of the long-tail literature
(Cao et al. 2019; Alshammari et al. 2022, the protocol of docs/science.md#protocols (experiment 7)).

A 3x3 conv to 16 channels, three stages of five basic blocks (16, 32, 64 channels; stride 2 at
stages 2 and 3), global average pooling: 64 features, about 0.46M parameters. The blocks are
torchvision's `BasicBlock`; the shortcut across a stage change is the paper's option A (subsample
and zero-pad the channels, no parameters), as in the long-tail code bases.
"""

from __future__ import annotations

import functools
from typing import Literal

from trainers.models.base import ModelVariant, needs_image

BLOCKS_PER_STAGE = 5  # 6n + 2 = 32 layers with n = 5
WIDTHS = (16, 32, 64)


class ResNet32(ModelVariant):
    """The CIFAR ResNet-32 (He et al. 2016, option-A shortcuts), 0.46M parameters."""

    name: Literal["resnet32"] = "resnet32"

    def build(self, input_shape):
        from collections import OrderedDict

        from torch import nn
        from torchvision.models.resnet import BasicBlock

        needs_image("resnet32", input_shape)
        stem = nn.Sequential(
            nn.Conv2d(input_shape[0], WIDTHS[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(WIDTHS[0]),
            nn.ReLU(inplace=True),
        )
        layers = OrderedDict(stem=stem)
        inplanes = WIDTHS[0]
        for stage, planes in enumerate(WIDTHS):
            blocks = []
            for block in range(BLOCKS_PER_STAGE):
                stride = 2 if stage > 0 and block == 0 else 1
                shortcut = pad_shortcut()(planes - inplanes) if stride != 1 or planes != inplanes else None
                blocks.append(BasicBlock(inplanes, planes, stride=stride, downsample=shortcut))
                inplanes = planes
            layers[f"stage{stage + 1}"] = nn.Sequential(*blocks)  # the stages metrics.layers names
        layers.update(pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten())
        net = nn.Sequential(layers)
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        return net, WIDTHS[-1]

    def stages(self, backbone) -> list[str]:
        return ["stage1", "stage2", "stage3"]


@functools.cache
def pad_shortcut():
    """The option-A shortcut module class, made on first use (it subclasses torch's nn.Module) and
    named `trainers.models.resnet32.PadShortcut`, so a pickled network finds it again."""
    import torch.nn.functional as F
    from torch import nn

    class PadShortcut(nn.Module):
        """x[:, :, ::2, ::2] with the new channels zero, split evenly on both sides."""

        def __init__(self, extra_channels: int):
            super().__init__()
            self.extra = extra_channels

        def forward(self, x):
            half = self.extra // 2
            return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, half, self.extra - half))

    PadShortcut.__module__, PadShortcut.__qualname__ = __name__, "PadShortcut"
    return PadShortcut


def __getattr__(name: str):
    if name == "PadShortcut":
        return pad_shortcut()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
