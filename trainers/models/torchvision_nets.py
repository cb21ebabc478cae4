"""torchvision's ResNets and DenseNets as feature extractors, with a CIFAR stem for 32x32 inputs.

The CIFAR stem (3x3 conv, stride 1, no max-pool) is the usual adaptation (as in the official code
of the paper): the ImageNet stem would shrink a 32x32 image to 8x8 before the first block.
`model.pretrained` loads torchvision's ImageNet weights from the local torch hub cache
($TORCH_HOME/hub/checkpoints); nothing is downloaded during a trial.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from trainers.errors import WeightsUnavailable
from trainers.models.base import ModelVariant, needs_image

CIFAR_STEM_MAX_SIDE = 64  # `stem: auto` picks the CIFAR stem up to this input side


class Torchvision(ModelVariant):
    """torchvision's ResNets and DenseNets without their final Linear."""

    name: Literal["resnet18", "resnet34", "resnet50", "resnet101", "densenet121", "densenet161"] = "resnet18"
    # `auto` = CIFAR stem (3x3 conv, stride 1, no max-pool) up to 64 pixels, ImageNet stem above.
    stem: Literal["auto", "cifar", "imagenet"] = "auto"
    pretrained: bool = False  # torchvision's ImageNet weights, from the local torch hub cache
    # ResNets: the last block outputs this many channels, so the features have this dimension
    # (the official code's --fixdim, which sets it to K); None = the network's own (512, 2048).
    feature_dim: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _feature_dim_on_resnets(self) -> Torchvision:
        if self.feature_dim is not None and not self.name.startswith("resnet"):
            raise ValueError(
                f"model.feature_dim applies to the ResNets (the official --fixdim); model.name is {self.name!r}"
            )
        return self

    def build(self, input_shape):
        """torchvision's network with its final Linear removed, so forward returns the pooled features."""
        import torchvision
        from torch import nn

        needs_image(self.name, input_shape)
        channels, side = input_shape[0], max(input_shape[1:])
        cifar = self.stem == "cifar" or (self.stem == "auto" and side <= CIFAR_STEM_MAX_SIDE)
        self.ensure_available()
        # Loads from the hub cache when present (no hash check, no network): ensure_available ran first.
        net = torchvision.models.get_model(self.name, weights="DEFAULT" if self.pretrained else None)
        if self.name.startswith("resnet"):
            feature_dim = net.fc.in_features
            net.fc = nn.Identity()
            if cifar or channels != 3:
                net.conv1 = conv_stem(channels, net.conv1.out_channels, cifar)
            if cifar:
                net.maxpool = nn.Identity()
            if self.feature_dim is not None:
                feature_dim = narrow_last_block(net.layer4[-1], self.feature_dim)
        else:
            feature_dim = net.classifier.in_features
            net.classifier = nn.Identity()
            if cifar or channels != 3:
                net.features.conv0 = conv_stem(channels, net.features.conv0.out_channels, cifar)
            if cifar:
                net.features.pool0 = nn.Identity()
        return net, feature_dim

    def stages(self, backbone) -> list[str]:
        if self.name.startswith("resnet"):
            return ["layer1", "layer2", "layer3", "layer4"]
        return [f"features.denseblock{i}" for i in range(1, 5)]

    def ensure_available(self) -> None:
        if self.pretrained:
            ensure_weights(self.name)


def weights_path(name: str) -> Path:
    import torch
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def ensure_weights(name: str) -> None:
    import torchvision

    path = weights_path(name)
    if not path.is_file():
        url = torchvision.models.get_model_weights(name).DEFAULT.url
        raise WeightsUnavailable(
            f"pretrained {name} weights not in the torch hub cache: {path} not found. On a machine with "
            f"internet run `python -c \"import torchvision; torchvision.models.{name}(weights='DEFAULT')\"` "
            f"(or fetch {url}) and copy the file there ($TORCH_HOME sets the cache location)"
        )


def conv_stem(in_channels: int, out_channels: int, cifar: bool):
    from torch import nn

    conv = nn.Conv2d(
        in_channels, out_channels, 3 if cifar else 7, stride=1 if cifar else 2, padding=1 if cifar else 3, bias=False
    )
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")  # torchvision's own conv init
    return conv


def narrow_last_block(block, out_channels: int) -> int:
    """The official --fixdim: the last residual block's final conv and norm output `out_channels`,
    and its shortcut becomes a 1x1 conv + norm to match (models/resnet.py of the official code)."""
    from torch import nn

    last = "conv3" if hasattr(block, "conv3") else "conv2"  # Bottleneck or BasicBlock
    conv = getattr(block, last)
    new = nn.Conv2d(
        conv.in_channels, out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding, bias=False
    )
    shortcut = nn.Conv2d(block.conv1.in_channels, out_channels, 1, bias=False)
    for c in (new, shortcut):
        nn.init.kaiming_normal_(c.weight, mode="fan_out", nonlinearity="relu")
    setattr(block, last, new)
    setattr(block, last.replace("conv", "bn"), nn.BatchNorm2d(out_channels))
    block.downsample = nn.Sequential(shortcut, nn.BatchNorm2d(out_channels))
    return out_channels
