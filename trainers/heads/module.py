"""The one nn.Module every head variant builds: its weight (a parameter, or a buffer for a fixed
classifier), its bias and its scale, with the variant's math. The checkpoints' keys stay
`head.weight` and `head.bias`."""

from __future__ import annotations

import torch
from torch import nn


class HeadModule(nn.Module):
    def __init__(self, variant, weight: torch.Tensor, bias: torch.Tensor | None, scale: float | None):
        super().__init__()
        self.variant = variant
        self.mode = variant.bias
        if variant.trains_weight:
            self.weight = nn.Parameter(weight)
        else:
            self.register_buffer("weight", weight)
        self.bias = nn.Parameter(bias) if bias is not None else None
        if scale is None:
            self.scale = None
        elif variant.learns_scale():
            self.scale = nn.Parameter(torch.tensor(float(scale)))
        else:
            self.register_buffer("scale", torch.tensor(float(scale)))

    def bias_free(self, features: torch.Tensor) -> torch.Tensor:
        return self.variant.bias_free(self.weight, self.scale, features)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        scores = self.bias_free(features)
        return scores if self.bias is None else scores - self.bias

    def bias_vector(self) -> torch.Tensor | None:
        """The bias as the metrics want it: (K,) per class, (1,) unified, None without bias."""
        return None if self.bias is None else self.bias.detach()
