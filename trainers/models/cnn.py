"""A small conv net for a laptop CPU that pools down to a 4x4 map whatever the input side."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.models.base import ModelVariant, needs_image

POOL_TO = 8  # 2x2 max-pools bring larger inputs down to 8x8 first
MAX_WIDEN = 4  # channels stop doubling at 4c (keeps the 32x32 net at 0.42M parameters)


class CNN(ModelVariant):
    """A small conv net that pools down to a 4x4 map whatever the input side (8x8 digits, 32x32)."""

    name: Literal["cnn"] = "cnn"
    channels: int = Field(32, ge=1)  # of the first conv block; doubled at each pooling
    width: int = Field(256, ge=1)  # feature dim
    batch_norm: bool = True

    def build(self, input_shape):
        """3x3 conv blocks (conv -> BN -> ReLU; channels c, 2c, 4c, capped at 4c; named block1,
        block2, ...): a block then a 2x2 max-pool until the map is 8x8, then two blocks around one
        last pool down to 4x4, global average pool, and Linear -> ReLU to `width` features.

        8x8 digits get c@8, 2c@8, pool, 4c@4. 32x32 images get three pools, so each final feature
        sees the whole digit (receptive field ~50 px). The earlier net had one pool whatever the
        input: on 32x32 MNIST its features saw ~14 px, and it underfit (78% train accuracy after 20
        epochs).
        """
        from collections import OrderedDict

        from torch import nn

        needs_image("cnn", input_shape)
        c, side = self.channels, min(input_shape[1:])
        layers = OrderedDict()

        def block(cin: int, cout: int) -> None:
            norm = [nn.BatchNorm2d(cout)] if self.batch_norm else []
            layers[f"block{sum(n.startswith('block') for n in layers) + 1}"] = nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=not self.batch_norm), *norm, nn.ReLU(inplace=True)
            )

        def maxpool() -> None:
            layers[f"pool{sum(n.startswith('pool') for n in layers) + 1}"] = nn.MaxPool2d(2)

        def wider(channels: int) -> int:
            return min(2 * channels, MAX_WIDEN * c)

        block(input_shape[0], c)
        channels = c
        while side > POOL_TO:
            maxpool()
            block(channels, wider(channels))
            channels, side = wider(channels), side // 2
        block(channels, wider(channels))
        maxpool()
        block(wider(channels), wider(wider(channels)))
        channels = wider(wider(channels))
        layers.update(
            gap=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(),
            embed=nn.Linear(channels, self.width),
            relu=nn.ReLU(inplace=True),
        )
        return nn.Sequential(layers), self.width

    def stages(self, backbone) -> list[str]:
        return [name for name, _ in backbone.named_children() if name.startswith("block")]
