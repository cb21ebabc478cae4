"""The encouraging loss (Zhao, Huang, Wang, Lin, Tian, Yan, Sun. Well-Classified Examples are
Underestimated in Classification with Deep Neural Networks. AAAI 2022; seed 002): CE plus a bonus
that keeps rewarding well-classified samples."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from trainers.losses.base import Loss

# The official implementation clamps 1 - p at this floor so that log(1 - p) stays finite as p -> 1
# (it only matters with log_end = 1, where the bonus is never continued linearly).
MIN_ONE_MINUS_P = 1e-5


class Encouraging(Loss):
    """L = sum_k q_k [ -log p_k + bonus(p_k) ], p = softmax(s), with
    bonus(p) = log(1 - p) for p <= tau and log(1 - tau) - (p - tau) / (1 - tau) above tau:
    the "conservative" linear continuation (tangent to log(1 - p) at tau = `log_end`, default 0.75;
    `log_end` = 1 keeps log(1 - p) all the way, clamped as in the official code).
    """

    name: Literal["encouraging"] = "encouraging"
    log_end: float = Field(0.75, gt=0.0, le=1.0)

    def per_sample(self, scores, targets):
        import torch
        import torch.nn.functional as F

        log_p = F.log_softmax(scores, dim=1)
        p = log_p.exp()
        tau = self.log_end
        # clamp inside the log: torch.where differentiates both branches, and a -inf there would
        # turn the unused branch's zero weight into a NaN gradient.
        bonus = torch.log((1.0 - p).clamp_min(max(1.0 - tau, MIN_ONE_MINUS_P)))
        if tau < 1.0:
            linear = math.log(1.0 - tau) - (p - tau) / (1.0 - tau)
            bonus = torch.where(p > tau, linear, bonus)
        return (targets * (bonus - log_p)).sum(dim=1)
