"""ElasticFace, the elastic margin (Boutros, Damer, Kirchbuchner, Kuijper, "ElasticFace: Elastic
Margin Loss for Deep Face Recognition", CVPR Workshops 2022): ArcFace's or CosFace's margin drawn
anew for every sample from a normal distribution, so the decision boundary is not one fixed line."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field

from trainers.losses.arcface import arc_shift
from trainers.losses.base import target_mask
from trainers.losses.cross_entropy import CrossEntropy


class ElasticFace(CrossEntropy):
    """Softmax CE on s'_y = scale cos(theta_y + m_i) - b_y (`kind: arc`) or scale (cos theta_y - m_i) - b_y
    (`kind: cos`), m_i ~ N(margin, std^2) drawn for each sample at each training step (from torch's
    generator, which the trial seeds and checkpoints); the metrics pass uses m_i = margin. As the
    official code (fdbtrs/ElasticFace, utils/losses.py, ElasticArcFace and ElasticCosFace)
    computes it, with cos(theta + m) in the exact form of `arcface` (no acos) and no threshold
    past pi - m, as there. Defaults are the code's: arc, margin 0.5 (cos: 0.35), std 0.0125; the
    paper's scale 64 (classifier.scale).
    """

    name: Literal["elasticface"] = "elasticface"
    needs_cosine: ClassVar[bool] = True
    kind: Literal["arc", "cos"] = "arc"
    margin: float | None = Field(None, ge=0.0, lt=math.pi / 2)  # None: 0.5 (arc) or 0.35 (cos)
    std: float = Field(0.0125, ge=0.0)

    @property
    def mean_margin(self) -> float:
        if self.margin is not None:
            return self.margin
        return 0.5 if self.kind == "arc" else 0.35

    def with_margin(self, bias_free, targets, scale, geometry=None):
        import torch

        size, like = (bias_free.shape[0], 1), {"dtype": bias_free.dtype, "device": bias_free.device}
        if geometry is not None and geometry.training and self.std > 0:
            margins = torch.normal(self.mean_margin, self.std, size=size, **like)  # as the official code draws
        else:
            margins = torch.full(size, self.mean_margin, **like)
        cos = (bias_free / scale).clamp(-1.0, 1.0)
        shifted = arc_shift(cos, margins) if self.kind == "arc" else cos - margins
        return torch.where(target_mask(targets), scale * shifted, bias_free)
