"""What every backbone is: a typed config variant (`model.name`) that builds its network.

A model module subclasses `ModelVariant`, declares `name: Literal[...]` (or a `prefix`, as
`timm:` does) and its own keys, and implements `build(input_shape) -> (backbone, feature_dim)`:
the backbone maps a batch to features h (after the last activation and pooling); ncsweep's
classifier head (trainers/heads) goes on top. Defining the class registers it, as for losses.
torch is imported inside the methods: reading a sweep file must not pay torch's import.
"""

from __future__ import annotations

from typing import ClassVar

from trainers.registry import Registry, Variant

MODELS = Registry("model", default="mlp")


class ModelVariant(Variant):
    registry: ClassVar[Registry] = MODELS
    vectors: ClassVar[bool] = False  # True: takes flat feature vectors too (not only images)

    def build(self, input_shape: tuple[int, ...]):
        """(backbone nn.Module, feature dimension) for inputs of `input_shape` (without the batch)."""
        raise NotImplementedError

    def ensure_available(self) -> None:
        """Raise trainers.errors.WeightsUnavailable when the model or its pretrained weights cannot be had offline."""

    def stages(self, backbone) -> list[str]:
        """The module names of the backbone's natural stages, in depth order (`metrics.layers: stages`)."""
        from trainers.layers import LayerUnavailable

        raise LayerUnavailable(f"model {self.name!r} has no known stages; name its layers in metrics.layers")

    def layer_tap(self, backbone, layers):
        """What gives the features and the pooled outputs of `layers` (names, or "stages") in one forward."""
        from trainers.layers import STAGES, HookTap

        return HookTap(backbone, self.stages(backbone) if layers == STAGES else layers)


def needs_image(name: str, input_shape: tuple[int, ...]) -> None:
    """Image backbones take (channels, height, width) inputs."""
    if len(input_shape) != 3:
        raise ValueError(f"{name} needs (channels, height, width) inputs, got shape {input_shape}")
