"""SGD with (heavy-ball) momentum: the paper's optimizer for every NC setting."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.optim.base import Optimizer


class SGD(Optimizer):
    """torch.optim.SGD; the weight decay is coupled (added to the gradient)."""

    name: Literal["sgd"] = "sgd"
    momentum: float = Field(0.9, ge=0.0, lt=1.0)

    def build(self, params, lr: float):
        import torch

        return torch.optim.SGD(params, lr=lr, momentum=self.momentum, weight_decay=self.weight_decay)
