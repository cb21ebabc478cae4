"""Focal losses (Lin, Goyal, Girshick, He, Dollar. Focal Loss for Dense Object Detection. ICCV 2017)
in their softmax and per-class sigmoid forms."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

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
    and alpha_t = alpha q_k + (1 - alpha)(1 - q_k) when alpha is in [0, 1] (alpha = -1: no
    weighting, as torchvision; no other value is accepted, as there).

    gamma = 0 with alpha = -1 is `bce`. Defaults are the paper's (gamma 2, alpha 0.25). Written
    out rather than calling torchvision's: 1 - p_t = q sigma(-s) + (1 - q) sigma(s) without
    cancellation, kept above 0, since for 0 < gamma < 1 the slope of x^gamma at x = 0 is infinite
    and a score far on its label's side (past about 17 in fp32) would turn the gradient into NaN.
    """

    name: Literal["sigmoid_focal"] = "sigmoid_focal"
    gamma: float = Field(2.0, ge=0.0)
    alpha: float = 0.25

    @field_validator("alpha")
    @classmethod
    def _torchvisions_alpha(cls, alpha: float) -> float:
        if alpha != -1.0 and not 0.0 <= alpha <= 1.0:
            raise ValueError("alpha must be in [0, 1], or -1 for no weighting (as torchvision's sigmoid_focal_loss)")
        return alpha

    def per_sample(self, scores, targets):
        import torch
        import torch.nn.functional as F

        bce = F.binary_cross_entropy_with_logits(scores, targets, reduction="none")
        one_minus_pt = (targets * torch.sigmoid(-scores) + (1 - targets) * torch.sigmoid(scores)).clamp_min(
            torch.finfo(scores.dtype).tiny
        )
        loss = one_minus_pt.pow(self.gamma) * bce
        if self.alpha >= 0:
            loss = (self.alpha * targets + (1 - self.alpha) * (1 - targets)) * loss
        return loss.sum(dim=1)
