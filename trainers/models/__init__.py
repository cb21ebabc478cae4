"""Backbones: the registry of names is trainers/model_configs.py (as in timm). Each maps an input batch to features h (after the
last activation and pooling) and ends in the configured classifier head (trainers/heads: the
paper's linear head by default); `Classifier.forward` returns (features, scores) so the loop can
regularize features and the metrics can read them without a second pass."""

from __future__ import annotations

import torch
from torch import nn

from trainers.heads import Head
from trainers.model_configs import ModelVariant
from trainers.models.weights import WeightsUnavailable


class Classifier(nn.Module):
    def __init__(self, backbone: nn.Module, feature_dim: int, num_classes: int, head: Head):
        super().__init__()
        self.backbone = backbone
        self.head = head.build(feature_dim, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone(x)
        return features, self.head(features)


def build_model(cfg: ModelVariant, head: Head, input_shape: tuple[int, ...], num_classes: int) -> Classifier:
    """The backbone named by the config variant (trainers/model_configs.py), then the head."""
    backbone, feature_dim = cfg.build(input_shape)
    return Classifier(backbone, feature_dim, num_classes, head)


__all__ = ["Classifier", "WeightsUnavailable", "build_model"]
