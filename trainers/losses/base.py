"""What every loss is: a typed config variant that computes its per-sample value on scores.

Convention (PAPER.md sections 1-2): scores s = W h - b (the bias is subtracted), soft targets
q in [0, 1]^K (one-hot, label-smoothed or mixed), a loss is summed over the K classes and averaged
over the batch. A loss module subclasses `Loss`, declares `name: Literal["its_name"]` and its own
hyperparameters as fields, and implements `per_sample`; defining the class registers it.

torch is imported inside the methods: the registry (and so every sweep file's validation) must not
pay torch's seconds of import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from trainers.registry import Registry, Variant

if TYPE_CHECKING:
    import torch

LOSSES = Registry("loss", default="ce")


class Loss(Variant):
    registry: ClassVar[Registry] = LOSSES
    # q = (1 - eps) one_hot(y) + eps / K; every shipped loss is written for soft targets q.
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)

    def per_sample(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """L_i for each sample (N,) from scores (N, K) and soft targets (N, K)."""
        raise NotImplementedError

    def __call__(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The batch loss: mean over samples of the per-sample (class-summed) loss."""
        return self.per_sample(scores, targets).mean()

    def bias_gradient(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-sample dL_i/db_k (N, K), by autograd: since s = z - b, dL/db = -dL/ds.

        The gradient of sum_i L_i with respect to s holds each sample's own row, because L_i
        depends on row i alone. CE and BCE override this with their closed forms, which the tests
        hold against this autograd version.
        """
        import torch

        with torch.enable_grad():
            s = scores.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.per_sample(s, targets.detach()).sum(), s)
        return -grad


def soft_targets(labels: torch.Tensor, num_classes: int, smoothing: float = 0.0, dtype: torch.dtype | None = None) -> torch.Tensor:
    """q = (1 - eps) one_hot(y) + eps / K (equals the official code's BCE smoothing term)."""
    import torch
    import torch.nn.functional as F

    q = F.one_hot(labels, num_classes).to(dtype or torch.get_default_dtype())
    return q * (1.0 - smoothing) + smoothing / num_classes if smoothing else q
