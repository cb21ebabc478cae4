"""Backbones by name. Each maps an input batch to features h (after the last activation) and
ends in the paper's `ClassifierHead`; `Classifier.forward` returns (features, scores) so the loop
can regularize features and the metrics can read them without a second pass."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from trainers.config import ClassifierConfig, ModelConfig
from trainers.head import ClassifierHead


class Classifier(nn.Module):
    def __init__(self, backbone: nn.Module, feature_dim: int, num_classes: int, head: ClassifierConfig):
        super().__init__()
        self.backbone = backbone
        self.head = ClassifierHead(feature_dim, num_classes, head.bias, head.bias_init_mean)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone(x)
        return features, self.head(features)


def mlp(cfg: ModelConfig, input_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    """depth x (Linear -> BatchNorm -> ReLU) on the flattened input; features = the last ReLU."""
    layers: list[nn.Module] = [nn.Flatten()]
    fan_in = int(torch.tensor(input_shape).prod())
    for _ in range(cfg.depth):
        layers.append(nn.Linear(fan_in, cfg.width, bias=not cfg.batch_norm))
        if cfg.batch_norm:
            layers.append(nn.BatchNorm1d(cfg.width))
        layers.append(nn.ReLU(inplace=True))
        fan_in = cfg.width
    return nn.Sequential(*layers), cfg.width


def cnn(cfg: ModelConfig, input_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    """Three 3x3 conv blocks (c, 2c, 4c channels; one 2x2 max-pool), global average pool, then
    Linear -> ReLU to `width` features. Small enough for 8x8 digits on a laptop CPU."""
    if len(input_shape) != 3:
        raise ValueError(f"cnn needs (channels, height, width) inputs, got shape {input_shape}")
    c = cfg.channels

    def block(cin: int, cout: int) -> list[nn.Module]:
        norm = [nn.BatchNorm2d(cout)] if cfg.batch_norm else []
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=not cfg.batch_norm), *norm, nn.ReLU(inplace=True)]

    backbone = nn.Sequential(
        *block(input_shape[0], c),
        *block(c, 2 * c),
        nn.MaxPool2d(2),
        *block(2 * c, 4 * c),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4 * c, cfg.width),
        nn.ReLU(inplace=True),
    )
    return backbone, cfg.width


BACKBONES: dict[str, Callable[[ModelConfig, tuple[int, ...]], tuple[nn.Module, int]]] = {"mlp": mlp, "cnn": cnn}


def build_model(cfg: ModelConfig, head: ClassifierConfig, input_shape: tuple[int, ...], num_classes: int) -> Classifier:
    backbone, feature_dim = BACKBONES[cfg.name](cfg, input_shape)
    return Classifier(backbone, feature_dim, num_classes, head)
