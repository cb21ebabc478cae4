"""What every optimizer is: a typed config variant that builds a torch optimizer.

An optimizer module subclasses `Optimizer`, declares `name: Literal["its_name"]` and its own
hyperparameters as fields, and implements `build(params, lr)`; defining the class registers it.
The keys every optimizer has are here: the learning rate, the optimizer's own weight decay (on every
parameter, classifier included: the paper's classification settings; the NC settings set it to 0 and
use regularization.lambda_*), and the batch-size scaling of the learning rate.

torch is imported inside `build`: reading a sweep file must not pay torch's import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from trainers.registry import Registry, Variant

if TYPE_CHECKING:
    import torch

OPTIMIZERS = Registry("optimizer", default="sgd")
LrScaling = Literal["none", "linear"]
DEFAULT_BASE_BATCH_SIZE = 128


class Optimizer(Variant):
    registry: ClassVar[Registry] = OPTIMIZERS
    lr: float = Field(0.01, gt=0.0)
    weight_decay: float = Field(0.0, ge=0.0)
    # linear: lr * train.batch_size / base_batch_size (Goyal et al. 2017), the paper's batch-size sweep.
    lr_scaling: LrScaling = "none"
    # Only with lr_scaling linear (128 when not given there); absent otherwise, so never logged where it means nothing.
    base_batch_size: int | None = Field(None, ge=1)
    omitted_when_none: ClassVar[tuple[str, ...]] = ("base_batch_size",)

    @model_validator(mode="before")
    @classmethod
    def _base_batch_size_with_linear_scaling(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        linear = data.get("lr_scaling", "none") == "linear"
        if linear and data.get("base_batch_size") is None:
            return {**data, "base_batch_size": DEFAULT_BASE_BATCH_SIZE}
        if not linear and data.get("base_batch_size") is not None:
            raise ValueError(
                "base_batch_size: the reference batch size of lr_scaling 'linear'; with lr_scaling 'none' drop "
                "it (or set lr_scaling: linear)"
            )
        return data

    def effective_lr(self, batch_size: int) -> float:
        """The learning rate after `lr_scaling` (linear: lr * batch_size / base_batch_size)."""
        if self.lr_scaling == "linear":
            return self.lr * batch_size / self.base_batch_size
        return self.lr

    def build(self, params, lr: float) -> torch.optim.Optimizer:
        """The torch optimizer over `params` at learning rate `lr` (the effective one)."""
        raise NotImplementedError
