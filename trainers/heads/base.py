"""What every classifier head is: a typed config variant (`classifier.name`) that builds its
parameters and holds its math; the scores are s_k = z_k - b_k with z the head's bias-free scores
(PAPER.md section 1: the bias is subtracted, so b_k is the threshold z_k must pass).

A head module defines a subclass of `Head` with `name: Literal[...]` and its own keys, and
implements `bias_free` (z from the features, as a pure function of tensors) and, where it differs
from torch's Linear init, `initial_weight`. The bias modes and their init are shared by all heads.
torch is imported inside the methods: reading a sweep file must not pay torch's import.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar, Literal

from trainers.registry import Registry, Variant

if TYPE_CHECKING:
    import torch

BiasMode = Literal["per_class", "unified", "none"]
CLASSIFIERS = Registry("classifier", default="linear")


class Head(Variant):
    registry: ClassVar[Registry] = CLASSIFIERS
    trains_weight: ClassVar[bool] = True  # False: W is fixed at its initial value (a buffer)
    cosine: ClassVar[bool] = False  # True: z_k = scale cos(w_k, h), what margin losses act on
    # per_class: b in R^K; unified: one scalar shared by all classes (UBCE); none: no bias.
    bias: BiasMode = "per_class"
    bias_init_mean: float = 0.0  # b ~ U(-1/sqrt(d), 1/sqrt(d)) + this (PAPER.md section 4)

    def initial_weight(self, feature_dim: int, num_classes: int) -> torch.Tensor:
        """W (K x d): torch's default Linear init (kaiming_uniform with a = sqrt(5)), the paper's."""
        from torch import nn

        return nn.Linear(feature_dim, num_classes, bias=False).weight.detach().clone()

    def initial_scale(self) -> float | None:
        """The scale a cosine-type head multiplies by (None: the head has none)."""
        return None

    def learns_scale(self) -> bool:
        return False

    def initial_bias(self, feature_dim: int, num_classes: int) -> torch.Tensor | None:
        import torch

        if self.bias == "none":
            return None
        bound = 1.0 / math.sqrt(feature_dim)
        return torch.empty(num_classes if self.bias == "per_class" else 1).uniform_(-bound, bound) + self.bias_init_mean

    def bias_free(self, weight: torch.Tensor, scale: torch.Tensor | None, features: torch.Tensor) -> torch.Tensor:
        """z (N x K) from features (N x d), in the features' dtype."""
        raise NotImplementedError

    def metric_weight(self, weight: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
        """The K x d matrix the NC metrics read as W (nc2_w, nc3, weight_norm, ...)."""
        return weight

    def build(self, feature_dim: int, num_classes: int):
        """The head module (trainers/heads/module.py) with this variant's initial parameters."""
        from trainers.heads.module import HeadModule

        weight = self.initial_weight(feature_dim, num_classes)  # before the bias: the RNG order of the paper's init
        return HeadModule(self, weight, self.initial_bias(feature_dim, num_classes), self.initial_scale())
