"""Backbones by name (a registry, as in timm). Each maps an input batch to features h (after the
last activation and pooling) and ends in the paper's `ClassifierHead`; `Classifier.forward`
returns (features, scores) so the loop can regularize features and the metrics can read them
without a second pass."""

from __future__ import annotations

from functools import partial
from typing import Callable

import torch
from torch import nn

from trainers.config import ClassifierConfig, ModelConfig
from trainers.head import ClassifierHead
from trainers.models.resnet32 import resnet32
from trainers.models.small import cnn, mlp
from trainers.models.torchvision_nets import TORCHVISION_NAMES, WeightsUnavailable, ensure_weights, torchvision_backbone


class Classifier(nn.Module):
    def __init__(self, backbone: nn.Module, feature_dim: int, num_classes: int, head: ClassifierConfig):
        super().__init__()
        self.backbone = backbone
        self.head = ClassifierHead(feature_dim, num_classes, head.bias, head.bias_init_mean)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone(x)
        return features, self.head(features)


BACKBONES: dict[str, Callable[[ModelConfig, tuple[int, ...]], tuple[nn.Module, int]]] = {
    "mlp": mlp,
    "cnn": cnn,
    "resnet32": resnet32,
    **{name: partial(torchvision_backbone, name) for name in TORCHVISION_NAMES},
}


def build_model(cfg: ModelConfig, head: ClassifierConfig, input_shape: tuple[int, ...], num_classes: int) -> Classifier:
    backbone, feature_dim = BACKBONES[cfg.name](cfg, input_shape)
    return Classifier(backbone, feature_dim, num_classes, head)


__all__ = ["BACKBONES", "Classifier", "WeightsUnavailable", "build_model", "ensure_weights"]
