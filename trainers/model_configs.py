"""Backbones as config variants (`model.name` picks one; each carries only its own settings).

Each variant builds its backbone (`build(input_shape) -> (module, feature_dim)`), importing the
implementation in trainers/models on use (torch). Any timm model comes in by name: `timm:<name>`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from trainers.registry import Registry, Variant

MODELS = Registry("model", default="mlp")


class ModelVariant(Variant):
    registry: ClassVar[Registry] = MODELS
    vectors: ClassVar[bool] = False  # True: takes flat feature vectors too (not only images)

    def build(self, input_shape: tuple[int, ...]):
        raise NotImplementedError

    def ensure_available(self) -> None:
        """Raise WeightsUnavailable when the model or its pretrained weights cannot be had offline."""

    def stages(self, backbone) -> list[str]:
        """The module names of the backbone's natural stages, in depth order (`metrics.layers: stages`)."""
        from trainers.layers import LayerUnavailable

        raise LayerUnavailable(f"model {self.name!r} has no known stages; name its layers in metrics.layers")

    def layer_tap(self, backbone, layers):
        """What gives the features and the pooled outputs of `layers` (names, or "stages") in one forward."""
        from trainers.layers import STAGES, HookTap

        return HookTap(backbone, self.stages(backbone) if layers == STAGES else layers)


class MLP(ModelVariant):
    """depth x (Linear -> BatchNorm -> ReLU) on the flattened input."""

    name: Literal["mlp"] = "mlp"
    vectors: ClassVar[bool] = True
    width: int = Field(256, ge=1)  # hidden width = feature dim
    depth: int = Field(2, ge=1)
    batch_norm: bool = True

    def build(self, input_shape):
        from trainers.models.small import mlp

        return mlp(self, input_shape)

    def stages(self, backbone) -> list[str]:
        return [f"hidden{i + 1}" for i in range(self.depth)]


class CNN(ModelVariant):
    """A small conv net that pools down to a 4x4 map whatever the input side (8x8 digits, 32x32)."""

    name: Literal["cnn"] = "cnn"
    channels: int = Field(32, ge=1)  # of the first conv block; doubled at each pooling
    width: int = Field(256, ge=1)  # feature dim
    batch_norm: bool = True

    def build(self, input_shape):
        from trainers.models.small import cnn

        return cnn(self, input_shape)

    def stages(self, backbone) -> list[str]:
        return [name for name, _ in backbone.named_children() if name.startswith("block")]


class ResNet32(ModelVariant):
    """The CIFAR ResNet-32 (He et al. 2016, option-A shortcuts), 0.46M parameters."""

    name: Literal["resnet32"] = "resnet32"

    def build(self, input_shape):
        from trainers.models.resnet32 import resnet32

        return resnet32(self, input_shape)

    def stages(self, backbone) -> list[str]:
        return ["stage1", "stage2", "stage3"]


class Torchvision(ModelVariant):
    """torchvision's ResNets and DenseNets without their final Linear."""

    name: Literal["resnet18", "resnet34", "resnet50", "resnet101", "densenet121", "densenet161"] = "resnet18"
    # `auto` = CIFAR stem (3x3 conv, stride 1, no max-pool) up to 64 pixels, ImageNet stem above.
    stem: Literal["auto", "cifar", "imagenet"] = "auto"
    pretrained: bool = False  # torchvision's ImageNet weights, from the local torch hub cache

    def build(self, input_shape):
        from trainers.models.torchvision_nets import torchvision_backbone

        return torchvision_backbone(self.name, self, input_shape)

    def stages(self, backbone) -> list[str]:
        if self.name.startswith("resnet"):
            return ["layer1", "layer2", "layer3", "layer4"]
        return [f"features.denseblock{i}" for i in range(1, 5)]

    def ensure_available(self) -> None:
        if self.pretrained:
            from trainers.models.torchvision_nets import ensure_weights

            ensure_weights(self.name)


class Timm(ModelVariant):
    """Any timm model: `timm.create_model(<name>, num_classes=0, **kwargs)`; the feature is timm's
    pooled pre-logits output, the head stays ncsweep's classifier (with the paper's bias)."""

    prefix: ClassVar[str] = "timm:"
    name: str = Field(pattern=r"^timm:\S+$")
    kwargs: dict[str, Any] = {}  # e.g. {img_size: 32, patch_size: 4} for a ViT on CIFAR
    pretrained: bool = False  # weights from the local Hugging Face / torch hub cache only

    @field_validator("kwargs")
    @classmethod
    def _not_ours(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        taken = sorted({"model_name", "pretrained", "num_classes"} & set(kwargs))
        if taken:
            raise ValueError(f"{', '.join(taken)}: set by ncsweep (model.name, model.pretrained; the head is ncsweep's)")
        return kwargs

    @property
    def timm_name(self) -> str:
        return self.name.removeprefix(self.prefix)

    def build(self, input_shape):
        from trainers.models.timm_nets import timm_backbone

        return timm_backbone(self, input_shape)

    def ensure_available(self) -> None:
        from trainers.models.timm_nets import ensure_available

        ensure_available(self)

    def stages(self, backbone) -> list[str]:
        """timm's own stages (feature_info): all of a CNN's, four evenly spaced blocks of a ViT's."""
        from trainers.layers import evenly_spaced, timm_modules

        return evenly_spaced(timm_modules(backbone))

    def layer_tap(self, backbone, layers):
        from trainers.layers import STAGES, TimmTap

        return TimmTap(backbone, self.stages(backbone) if layers == STAGES else layers)


ModelConfig = MODELS.field()
