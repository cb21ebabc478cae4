"""Small backbones for a laptop CPU: an MLP and a CNN that pools down to a 4x4 map.

Their layers are named (`hidden1`, `block1`, ...): the names `metrics.layers` takes and the
stages the per-layer metrics use.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from trainers.model_configs import CNN, MLP


def mlp(cfg: MLP, input_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    """depth x (Linear -> BatchNorm -> ReLU) on the flattened input, named hidden1, hidden2, ...;
    features = the last ReLU."""
    layers: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    fan_in = int(torch.tensor(input_shape).prod())
    for i in range(cfg.depth):
        norm = [nn.BatchNorm1d(cfg.width)] if cfg.batch_norm else []
        layers[f"hidden{i + 1}"] = nn.Sequential(nn.Linear(fan_in, cfg.width, bias=not cfg.batch_norm), *norm, nn.ReLU(inplace=True))
        fan_in = cfg.width
    return nn.Sequential(layers), cfg.width


CNN_POOL_TO = 8  # 2x2 max-pools bring larger inputs down to 8x8 first
CNN_MAX_WIDEN = 4  # channels stop doubling at 4c (keeps the 32x32 net at 0.42M parameters)


def cnn(cfg: CNN, input_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    """3x3 conv blocks (conv -> BN -> ReLU; channels c, 2c, 4c, capped at 4c; named block1,
    block2, ...): a block then a 2x2 max-pool until the map is 8x8, then two blocks around one last
    pool down to 4x4, global average pool, and Linear -> ReLU to `width` features.

    8x8 digits get c@8, 2c@8, pool, 4c@4. 32x32 images get three pools, so each final feature sees
    the whole digit (receptive field ~50 px). The earlier net had one pool whatever the input: on
    32x32 MNIST its features saw ~14 px, and it underfit (78% train accuracy after 20 epochs).
    """
    if len(input_shape) != 3:
        raise ValueError(f"cnn needs (channels, height, width) inputs, got shape {input_shape}")
    c, side = cfg.channels, min(input_shape[1:])

    layers: OrderedDict[str, nn.Module] = OrderedDict()

    def block(cin: int, cout: int) -> None:
        norm = [nn.BatchNorm2d(cout)] if cfg.batch_norm else []
        layers[f"block{sum(n.startswith('block') for n in layers) + 1}"] = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=not cfg.batch_norm), *norm, nn.ReLU(inplace=True))

    def maxpool() -> None:
        layers[f"pool{sum(n.startswith('pool') for n in layers) + 1}"] = nn.MaxPool2d(2)

    def wider(channels: int) -> int:
        return min(2 * channels, CNN_MAX_WIDEN * c)

    block(input_shape[0], c)
    channels = c
    while side > CNN_POOL_TO:
        maxpool()
        block(channels, wider(channels))
        channels, side = wider(channels), side // 2
    block(channels, wider(channels))
    maxpool()
    block(wider(channels), wider(wider(channels)))
    channels = wider(wider(channels))
    layers.update(gap=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(), embed=nn.Linear(channels, cfg.width), relu=nn.ReLU(inplace=True))
    return nn.Sequential(layers), cfg.width
