"""ArcFace, the additive angular margin loss (Deng et al., "ArcFace: Additive Angular Margin Loss
for Deep Face Recognition", CVPR 2019)."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field

from trainers.losses.base import target_mask
from trainers.losses.cross_entropy import CrossEntropy


class ArcFace(CrossEntropy):
    """Softmax CE on s' = scale cos(theta_y + m) - b_y for the target and scale cos theta_k - b_k
    for the others (theta_k the angle between the feature and w_k, m in radians).

    cos(theta + m) stops decreasing once theta + m passes pi; for theta > pi - m the target's
    cosine is cos theta - m sin m instead, the linear continuation the paper's implementation
    (InsightFace) and pytorch-metric-learning's ArcFaceLoss use, so the loss keeps falling as theta
    shrinks. `easy_margin` is the paper code's other choice: the margin only where cos theta > 0
    (theta < 90 degrees), the plain cosine elsewhere. The paper's m = 0.5 (28.6 degrees), scale 64.
    """

    name: Literal["arcface"] = "arcface"
    needs_cosine: ClassVar[bool] = True
    margin: float = Field(0.5, ge=0.0, lt=math.pi / 2)  # radians
    easy_margin: bool = False

    def with_margin(self, bias_free, targets, scale, geometry=None):
        import torch

        cos = (bias_free / scale).clamp(-1.0, 1.0)
        shifted = arc_shift(cos, self.margin)
        if self.easy_margin:
            shifted = torch.where(cos > 0, shifted, cos)
        else:
            # past theta = pi - m (cos theta < cos(pi - m)) the linear continuation
            shifted = torch.where(
                cos >= math.cos(math.pi - self.margin), shifted, cos - self.margin * math.sin(self.margin)
            )
        return torch.where(target_mask(targets), scale * shifted, bias_free)


def arc_shift(cos, margin):
    """cos(theta + m) = cos theta cos m - sin theta sin m, sin theta = sqrt(1 - cos^2 theta): exact
    at every angle, with no clamp of the angle (acos's slope is infinite at theta = 0; this form's
    is finite wherever sin theta > 0). At sin theta = 0 exactly the square root's branch is cut
    out of the graph (the double `where`), so the value there is cos(m) and the gradient finite."""
    import torch

    sin2 = 1.0 - cos * cos
    inside = sin2 > 0
    sin = torch.where(inside, torch.sqrt(torch.where(inside, sin2, torch.ones_like(sin2))), torch.zeros_like(sin2))
    if isinstance(margin, torch.Tensor):  # one margin per sample (ElasticFace)
        return cos * torch.cos(margin) - sin * torch.sin(margin)
    return cos * math.cos(margin) - sin * math.sin(margin)
