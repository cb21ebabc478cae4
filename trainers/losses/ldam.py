"""LDAM, the label-distribution-aware margin loss (Cao, Wei, Gaidon, Arechiga, Ma, "Learning
Imbalanced Datasets with Label-Distribution-Aware Margin Loss", NeurIPS 2019)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from trainers.losses.base import target_mask
from trainers.losses.cross_entropy import CrossEntropy


class LDAM(CrossEntropy):
    """L = - sum_k q_k log softmax(scale (s - Delta_y e_y))_k with Delta_j = C / n_j^{1/4}, C set so
    the rarest class's margin is `max_margin` (the paper's eq. 13 and its code's default 0.5):
    rare classes must clear a larger margin, as its generalization bound asks.

    The paper's code multiplies by scale s = 30 because its last layer is normalized (cosines);
    the same here is classifier {name: cosine, scale: 1} with scale: 30. On a linear head the
    margins are in logit units and scale 1 is the plain form (the default). The deferred
    re-weighting schedule (DRW) of the paper is a sampler/weight schedule, not part of the loss.
    """

    name: Literal["ldam"] = "ldam"
    needs_class_counts: ClassVar[bool] = True
    max_margin: float = Field(0.5, gt=0.0)
    scale: float = Field(1.0, gt=0.0)

    def margins(self, like):
        """Delta_j = max_margin (n_min / n_j)^{1/4} for every class (K,)."""
        quarter = self.class_counts(like).pow(-0.25)
        return self.max_margin * quarter / quarter.max()

    def adjusted(self, scores, targets):
        return self.scale * (scores - self.margins(scores) * target_mask(targets))

    def per_sample(self, scores, targets):
        return super().per_sample(self.adjusted(scores, targets), targets)

    def bias_gradient(self, scores, targets):
        """dL/db = scale (q - softmax(scale (s - Delta_y e_y))): the margin shifts, the scale multiplies."""
        return self.scale * super().bias_gradient(self.adjusted(scores, targets), targets)
