"""Small backbones for the bundled data on a laptop CPU: an MLP and a three-block CNN."""

from __future__ import annotations

import torch
from torch import nn

from trainers.config import ModelConfig


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
