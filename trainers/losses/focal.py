"""Focal losses (Lin, Goyal, Girshick, He, Dollar. Focal Loss for Dense Object Detection. ICCV 2017)
in their softmax and per-class sigmoid forms."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.losses.base import Loss


class Focal(Loss):
    """Softmax focal loss: L = - sum_k q_k (1 - p_k)^gamma log p_k, p = softmax(s).

    Down-weights well-classified samples; gamma = 0 is `ce`.
    """

    name: Literal["focal"] = "focal"
    gamma: float = Field(2.0, ge=0.0)

    def per_sample(self, scores, targets):
        import torch
        import torch.nn.functional as F

        log_p = F.log_softmax(scores, dim=1)
        # 1 - p without cancellation, kept above 0: for gamma < 1 the slope of x^gamma at x = 0 is
        # infinite, and a confidently right sample would turn the gradient into NaN.
        one_minus_p = (-torch.expm1(log_p)).clamp_min(torch.finfo(log_p.dtype).tiny)
        return -(targets * one_minus_p.pow(self.gamma) * log_p).sum(dim=1)


class SigmoidFocal(Loss):
    """Per-class sigmoid focal loss, torchvision's `sigmoid_focal_loss` summed over the K classes:
    L = sum_k alpha_t (1 - p_t)^gamma bce_k, with p_t = q_k sigma(s_k) + (1 - q_k)(1 - sigma(s_k))
    and alpha_t = alpha q_k + (1 - alpha)(1 - q_k) when alpha >= 0 (alpha < 0: no weighting).

    gamma = 0 with alpha < 0 is `bce`. Defaults are the paper's (gamma 2, alpha 0.25).
    """

    name: Literal["sigmoid_focal"] = "sigmoid_focal"
    gamma: float = Field(2.0, ge=0.0)
    alpha: float = Field(0.25, le=1.0)

    def per_sample(self, scores, targets):
        from torchvision.ops import sigmoid_focal_loss

        return sigmoid_focal_loss(scores, targets, alpha=self.alpha, gamma=self.gamma, reduction="none").sum(dim=1)
