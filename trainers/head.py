"""The linear classifier of the paper: score s_k = w_k . h - b_k (PAPER.md sections 1 and 4).

The bias is *subtracted* (as in the official code), so b_k reads as the threshold the bias-free
score z_k = w_k . h must exceed; a plotted bias then sits between negative and positive scores.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from trainers.config import BiasMode


class ClassifierHead(nn.Module):
    """W (K x d) with torch's default Linear init; b ~ U(-1/sqrt(d), 1/sqrt(d)) + bias_init_mean.

    bias modes: `per_class` (b in R^K), `unified` (one scalar shared by all classes, as in UBCE),
    `none` (no bias; the scores are the bias-free scores).
    """

    def __init__(self, feature_dim: int, num_classes: int, bias: BiasMode = "per_class", bias_init_mean: float = 0.0):
        super().__init__()
        # nn.Linear's own init is the paper's W init (kaiming_uniform, a = sqrt(5)); we keep only W.
        self.weight = nn.Parameter(nn.Linear(feature_dim, num_classes, bias=False).weight.detach().clone())
        self.mode = bias
        if bias == "none":
            self.bias = None
        else:
            bound = 1.0 / math.sqrt(feature_dim)
            size = num_classes if bias == "per_class" else 1
            self.bias = nn.Parameter(torch.empty(size).uniform_(-bound, bound) + bias_init_mean)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        scores = features @ self.weight.T
        return scores if self.bias is None else scores - self.bias

    def bias_vector(self) -> torch.Tensor | None:
        """The bias as the metrics want it: (K,) per class, (1,) unified, None without bias."""
        return None if self.bias is None else self.bias.detach()
