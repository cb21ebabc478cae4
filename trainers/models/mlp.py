"""A multilayer perceptron for a laptop CPU (flat vectors or flattened images)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from trainers.models.base import ModelVariant


class MLP(ModelVariant):
    """depth x (Linear -> BatchNorm -> ReLU) on the flattened input."""

    name: Literal["mlp"] = "mlp"
    vectors: ClassVar[bool] = True
    width: int = Field(256, ge=1)  # hidden width = feature dim
    depth: int = Field(2, ge=1)
    batch_norm: bool = True

    def build(self, input_shape):
        """Layers named hidden1, hidden2, ... (the names `metrics.layers` takes); features = the last ReLU."""
        import math
        from collections import OrderedDict

        from torch import nn

        layers = OrderedDict(flatten=nn.Flatten())
        fan_in = math.prod(input_shape)
        for i in range(self.depth):
            norm = [nn.BatchNorm1d(self.width)] if self.batch_norm else []
            # No Linear bias before a BatchNorm: the norm's shift replaces it.
            layers[f"hidden{i + 1}"] = nn.Sequential(
                nn.Linear(fan_in, self.width, bias=not self.batch_norm), *norm, nn.ReLU(inplace=True)
            )
            fan_in = self.width
        return nn.Sequential(layers), self.width

    def stages(self, backbone) -> list[str]:
        return [f"hidden{i + 1}" for i in range(self.depth)]
