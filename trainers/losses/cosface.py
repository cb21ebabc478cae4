"""CosFace, the large margin cosine loss (Wang et al., "CosFace: Large Margin Cosine Loss for Deep
Face Recognition", CVPR 2018)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from trainers.losses.base import target_mask
from trainers.losses.cross_entropy import CrossEntropy


class CosFace(CrossEntropy):
    """Softmax CE on s' = scale (cos theta_k - m [k = y]) - b_k: the target's cosine less a margin m.

    On a cosine head (z_k = scale cos theta_k) that is z_y - scale m: the paper's L_lmc with the
    head's scale as its s (the paper's s = 64, m = 0.35 for face identities; ten classes want a
    smaller s, see classifier.scale). Without a bias it is pytorch-metric-learning's CosFaceLoss.
    """

    name: Literal["cosface"] = "cosface"
    needs_cosine: ClassVar[bool] = True
    margin: float = Field(0.35, ge=0.0, lt=2.0)  # in cosine units; 2 would push every target below every other class

    def with_margin(self, bias_free, targets, scale, geometry=None):
        return cosine_margin(bias_free, targets, scale, self.margin)


def cosine_margin(bias_free, targets, scale, margin: float):
    """scale (cos theta_k - m [k = y]): the target's cosine less m, the others as they are."""
    return bias_free - (scale * margin) * target_mask(targets)
