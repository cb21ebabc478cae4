"""torchvision's ResNets and DenseNets as feature extractors, with a CIFAR stem for 32x32 inputs.

The CIFAR stem (3x3 conv, stride 1, no max-pool) is the usual adaptation (as in the official code
of the paper): the ImageNet stem would shrink a 32x32 image to 8x8 before the first block.
`model.pretrained` loads torchvision's ImageNet weights from the local torch hub cache
($TORCH_HOME/hub/checkpoints); nothing is downloaded during a trial.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch import nn

from trainers.model_configs import Torchvision
from trainers.models.weights import WeightsUnavailable

CIFAR_STEM_MAX_SIDE = 64  # `stem: auto` picks the CIFAR stem up to this input side


def weights_path(name: str) -> Path:
    weights = torchvision.models.get_model_weights(name).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def ensure_weights(name: str) -> None:
    path = weights_path(name)
    if not path.is_file():
        url = torchvision.models.get_model_weights(name).DEFAULT.url
        raise WeightsUnavailable(
            f"pretrained {name} weights not in the torch hub cache: {path} not found. On a machine with "
            f"internet run `python -c \"import torchvision; torchvision.models.{name}(weights='DEFAULT')\"` "
            f"(or fetch {url}) and copy the file there ($TORCH_HOME sets the cache location)"
        )


def _conv_stem(in_channels: int, out_channels: int, cifar: bool) -> nn.Conv2d:
    conv = nn.Conv2d(in_channels, out_channels, 3 if cifar else 7, stride=1 if cifar else 2, padding=1 if cifar else 3, bias=False)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")  # torchvision's own conv init
    return conv


def torchvision_backbone(name: str, cfg: Torchvision, input_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    """torchvision's `name` with its final Linear removed, so forward returns the pooled features."""
    if len(input_shape) != 3:
        raise ValueError(f"{name} needs (channels, height, width) inputs, got shape {input_shape}")
    channels, side = input_shape[0], max(input_shape[1:])
    cifar = cfg.stem == "cifar" or (cfg.stem == "auto" and side <= CIFAR_STEM_MAX_SIDE)
    if cfg.pretrained:
        ensure_weights(name)
    # Loads from the hub cache when present (no hash check, no network): ensure_weights ran first.
    net = torchvision.models.get_model(name, weights="DEFAULT" if cfg.pretrained else None)
    if name.startswith("resnet"):
        feature_dim = net.fc.in_features
        net.fc = nn.Identity()
        if cifar or channels != 3:
            net.conv1 = _conv_stem(channels, net.conv1.out_channels, cifar)
        if cifar:
            net.maxpool = nn.Identity()
    else:
        feature_dim = net.classifier.in_features
        net.classifier = nn.Identity()
        if cifar or channels != 3:
            net.features.conv0 = _conv_stem(channels, net.features.conv0.out_channels, cifar)
        if cifar:
            net.features.pool0 = nn.Identity()
    return net, feature_dim
