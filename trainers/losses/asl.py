"""Asymmetric loss, ASL (Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter, Zelnik-Manor,
"Asymmetric Loss For Multi-Label Classification", ICCV 2021): a one-vs-all sigmoid loss, BCE's
kin, that focuses the positives and the negatives differently and shifts the negatives'
probability down so that easy negatives drop out."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.losses.base import Loss


class AsymmetricLoss(Loss):
    """L = - sum_k [ q_k (1 - p_k)^{gamma+} log p_k + (1 - q_k) p_m,k^{gamma-} log(1 - p_m,k) ],
    p_k = sigmoid(s_k), p_m,k = max(p_k - m, 0) (the probability shift, `clip`): the paper's eq. 7
    with eq. 5's shift. As the official code (Alibaba-MIIL/ASL, src/loss_functions/losses.py,
    AsymmetricLoss) computes it: probabilities clamped at eps before the log, one exponent
    gamma+ q_k + gamma- (1 - q_k) on 1 - p_t with p_t = q p + (1 - q)(1 - p_m), gradients through the
    focusing weight. Defaults are its training script's: gamma+ = 0, gamma- = 4, m = 0.05.
    """

    name: Literal["asl"] = "asl"
    gamma_pos: float = Field(0.0, ge=0.0)
    gamma_neg: float = Field(4.0, ge=0.0)
    clip: float = Field(0.05, ge=0.0, lt=1.0)  # the shift m
    eps: float = Field(1e-8, gt=0.0, lt=0.5)  # the official clamp inside the logs

    def per_sample(self, scores, targets):
        import torch

        pos = torch.sigmoid(scores)
        neg = torch.sigmoid(-scores)  # 1 - p, without 1 - p's cancellation
        if self.clip > 0:
            neg = (neg + self.clip).clamp(max=1.0)
        loss = targets * torch.log(pos.clamp(min=self.eps)) + (1.0 - targets) * torch.log(neg.clamp(min=self.eps))
        if self.gamma_pos > 0 or self.gamma_neg > 0:
            exponent = self.gamma_pos * targets + self.gamma_neg * (1.0 - targets)
            base = 1.0 - pos * targets - neg * (1.0 - targets)
            # 0 ** 0 = 1 with a zero gradient (torch's pow would give 0 * inf there)
            weight = torch.where(exponent > 0, base.clamp(min=torch.finfo(base.dtype).tiny) ** exponent, 1.0)
            loss = loss * weight
        return -loss.sum(dim=1)
