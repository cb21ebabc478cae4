"""The cosine (normalized) classifier of the margin losses (NormFace, Wang et al. 2017; CosFace,
ArcFace, SphereFace2): s_k = scale cos(w_k, h) - b_k."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from trainers.heads.base import Head


class Cosine(Head):
    """s_k = scale cos(w_k, h) - b_k: features and classifier rows normalized, `scale` fixed or learned."""

    name: Literal["cosine"] = "cosine"
    cosine: ClassVar[bool] = True
    # Cosines live in [-1, 1]: a softmax over them alone cannot get confident, so they are scaled
    # (NormFace; 16 suits ten classes, face recognition with thousands of classes uses 30-64).
    scale: float = Field(16.0, gt=0.0)
    learn_scale: bool = False  # train `scale` too (NormFace's learned scale)

    def learns_scale(self) -> bool:
        return self.learn_scale

    def initial_scale(self) -> float:
        return self.scale

    def bias_free(self, weight, scale, features):
        import torch.nn.functional as F

        return scale * F.normalize(features, dim=1) @ F.normalize(weight, dim=1).T

    def metric_weight(self, weight, scale):
        """scale w_k / |w_k|: the linear map the head applies to unit features."""
        import torch.nn.functional as F

        return scale * F.normalize(weight, dim=1)
