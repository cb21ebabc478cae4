"""AdaFace, the quality-adaptive margin (Kim, Jain, Liu, "AdaFace: Quality Adaptive Margin for Face
Recognition", CVPR 2022): the feature's norm stands for image quality, and the margin moves from
CosFace-like (high norm, hard samples emphasized) to ArcFace-like (low norm, easy ones)."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field

from trainers.losses.base import target_mask
from trainers.losses.cross_entropy import CrossEntropy

_EPS = 1e-3  # the official code's clamps (of cos theta, of the shifted angle, of the norm's std)


def norm_scaler(norms, h: float):
    """hat ||z|| = clip( h (||z|| - mu) / (sigma + eps), -1, 1 ) over the batch, ||z|| clipped to
    [0.001, 100] and detached: the paper's eq. 11 with the batch's own mean and std (the official
    code with t_alpha = 1, its class default). A batch of one sample has no spread: 0."""
    import torch

    safe = norms.detach().clamp(0.001, 100.0)
    if safe.numel() < 2:
        return torch.zeros_like(safe)
    return (h * (safe - safe.mean()) / (safe.std() + _EPS)).clamp(-1.0, 1.0)


class AdaFace(CrossEntropy):
    """Softmax CE on s' = scale (cos(theta_y + g_angle) - g_add) - b_y for the target and
    scale cos theta_k - b_k for the others, g_angle = -m hat||z||, g_add = m + m hat||z||, hat||z||
    the batch-normalized feature norm (`norm_scaler`). As the official code (mk-minchul/AdaFace,
    head.py) computes it: cosines clamped to +-(1 - 1e-3), the shifted angle to [1e-3, pi - 1e-3],
    for every class. It reads the features' norms from the training step (the seam's Geometry); the
    metrics pass uses each evaluation chunk's statistics. The running mean of the official code's
    t_alpha < 1 is not kept: every batch normalizes by itself. The paper's m = 0.4, h = 0.333,
    scale 64 (classifier.scale).
    """

    name: Literal["adaface"] = "adaface"
    needs_cosine: ClassVar[bool] = True
    margin: float = Field(0.4, ge=0.0, lt=math.pi / 2)
    h: float = Field(0.333, gt=0.0)

    def with_margin(self, bias_free, targets, scale, geometry=None):
        import torch

        if geometry is None or geometry.norms is None:
            raise ValueError("loss.name 'adaface' reads the features' norms: pass the batch's Geometry")
        cos = (bias_free / scale).clamp(-1.0 + _EPS, 1.0 - _EPS)
        scaler = norm_scaler(geometry.norms, self.h).unsqueeze(1)
        target = target_mask(targets).to(cos.dtype)
        theta = torch.acos(cos) + target * (-self.margin * scaler)
        shifted = torch.cos(theta.clamp(_EPS, math.pi - _EPS)) - target * (self.margin + self.margin * scaler)
        return scale * shifted
