"""The trial's own loss over a split, and how far the bias is from its stationary point.

Both use the trial's loss with its label smoothing on the scores S = Z - b (docs/science.md#metrics),
or for a margin loss on the scores it trains on, S' = margin(Z) - b (trainers/losses/base.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainers.metrics.registry import sample_metric

if TYPE_CHECKING:
    import torch

    from trainers.metrics.split_pass import Batch, SplitStats


@sample_metric("loss")
def loss(b: Batch) -> torch.Tensor | None:
    """mean_i L_i: the trial's loss over the split, without regularization."""
    return None if b.ctx.loss is None else b.ctx.loss.per_sample(b.loss_scores, b.targets)


def _residual(mean_gradient: torch.Tensor, s: SplitStats) -> float:
    grad = mean_gradient
    if s.bias.numel() == 1:  # a unified bias has one gradient: the sum over the classes
        grad = grad.sum(dim=0, keepdim=True)
    return (grad + s.lambda_b * s.bias).abs().mean().item()


@sample_metric("bias_residual", finish=_residual)
def bias_gradient(b: Batch) -> torch.Tensor | None:
    """mean_k |g_k|, g = d/db [ mean_i L_i + lambda_b/2 ||b||^2 ]: how far b is from its stationary point, the paper's
    f(b) (NaN without a bias).

    The per-sample gradients dL_i/db come from `Loss.bias_gradient` (closed forms for CE and BCE,
    autograd otherwise); the pass averages them over the split and `_residual` adds the decay.
    """
    if b.ctx.loss is None or b.ctx.bias is None:
        return None
    return b.ctx.loss.bias_gradient(b.loss_scores, b.targets)
