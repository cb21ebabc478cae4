"""A backbone with the configured head on top (trainers/heads: the paper's linear head by
default). `Classifier.forward` returns (features, scores) so the loop can regularize the features
and the metrics can read them without a second pass."""

from __future__ import annotations

import torch
from torch import nn

from trainers.heads import Head
from trainers.models.base import ModelVariant


class Classifier(nn.Module):
    def __init__(self, backbone: nn.Module, feature_dim: int, num_classes: int, head: Head):
        super().__init__()
        self.backbone = backbone
        self.head = head.build(feature_dim, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone(x)
        return features, self.head(features)


def build_model(cfg: ModelVariant, head: Head, input_shape: tuple[int, ...], num_classes: int) -> Classifier:
    """The backbone of the config variant, then the head."""
    backbone, feature_dim = cfg.build(input_shape)
    return Classifier(backbone, feature_dim, num_classes, head)
