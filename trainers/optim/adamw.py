"""AdamW (Loshchilov & Hutter, Decoupled Weight Decay Regularization, ICLR 2019): the official code's
optimizer for the transformer and fine-tuning settings."""

from __future__ import annotations

from typing import Literal

from trainers.optim.base import Optimizer


class AdamW(Optimizer):
    """torch.optim.AdamW; the weight decay is decoupled (applied to the weights, not the gradient)."""

    name: Literal["adamw"] = "adamw"
    betas: tuple[float, float] = (0.9, 0.999)

    def build(self, params, lr: float):
        import torch

        return torch.optim.AdamW(params, lr=lr, betas=self.betas, weight_decay=self.weight_decay)
