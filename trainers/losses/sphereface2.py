"""SphereFace2, one-vs-all binary classification on the hypersphere (Wen, Liu, Weller, Raj, Singh,
"SphereFace2: Binary Classification is All You Need for Deep Face Recognition", ICLR 2022): the BCE
of face recognition, with a bias."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from trainers.losses.base import Loss, target_mask


class SphereFace2(Loss):
    """L = (1/r) sum_k [ lambda q_k log(1 + e^{-s'_k}) + (1 - lambda) (1 - q_k) log(1 + e^{s'_k}) ],
    s'_k = r (g(cos theta_k) - m) - b_k for the target class and r (g(cos theta_k) + m) - b_k for
    the others, g(c) = 2 ((c + 1) / 2)^t - 1 (the paper's similarity adjustment, eq. 8-9, with
    its additive margin: SphereFace2-C).

    lambda weighs the one positive against the K - 1 negatives, r is the scale of the cosines, m
    the margin (on both sides of the bias), t the adjustment's power; the defaults are the paper's
    and its OpenSphere code's (lambda 0.7, r 40, m 0.4, t 3). As in that code, g and m change the
    scores' values only: the gradient is taken as if s' were r cos theta - b (g's slope vanishes
    at cos = -1 and would starve far negatives). The code also multiplies the loss by 50 (`lw`),
    which is the learning rate's business here. With one-hot q and one unified bias
    (classifier.bias: unified) this is the paper's loss. The cosine head's scale only recovers
    cos theta = z / scale; the bias is a threshold on r g(cos theta), in the units of r, while the
    score metrics (bias position, uniform accuracy) read it against the head's scale cos theta -
    b: classifier.scale = r puts them in the same units, g still bends one against the other.

    `bias_init: balanced` (OpenSphere's start, the default) sets every bias to the value at which
    the initial loss of a sample with all cosines 0 balances its one positive and K - 1 negative
    terms (`balanced_bias`; -12.95 at K = 10 with the defaults, in ncsweep's sign); `head` keeps
    the head's own init (classifier.bias_init_mean).
    """

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    name: Literal["sphereface2"] = "sphereface2"
    needs_cosine: ClassVar[bool] = True
    lambda_: float = Field(0.7, gt=0.0, lt=1.0, alias="lambda")
    r: float = Field(40.0, gt=0.0)
    m: float = Field(0.4, ge=0.0, lt=1.0)
    t: float = Field(3.0, gt=0.0)
    bias_init: Literal["balanced", "head"] = "balanced"

    def initial_bias(self, num_classes):
        return (
            balanced_bias(self.lambda_, self.r, self.m, self.t, num_classes) if self.bias_init == "balanced" else None
        )

    def with_margin(self, bias_free, targets, scale, geometry=None):
        cos = (bias_free / scale).clamp(-1.0, 1.0)
        sign = 2.0 * target_mask(targets).to(cos.dtype) - 1.0  # +1 for the target, -1 for the others
        adjusted = 2.0 * ((cos + 1.0) / 2.0) ** self.t - 1.0 - self.m * sign
        return self.r * (cos + (adjusted - cos).detach())

    def per_sample(self, scores, targets):
        import torch.nn.functional as F

        positive = targets * F.softplus(-scores)
        negative = (1.0 - targets) * F.softplus(scores)
        return (self.lambda_ * positive + (1.0 - self.lambda_) * negative).sum(dim=1) / self.r


def balanced_bias(lam: float, r: float, m: float, t: float, num_classes: int) -> float:
    """OpenSphere's bias init for SphereFace2-C (model/head/sphereface2.py, SphereFace2.__init__),
    with its sign flipped to ncsweep's s = z - b: z = lam / ((1 - lam)(K - 1)),
    a_y = r (2 (1/2)^t - 1 - m), a_i = r (2 (1/2)^t - 1 + m),
    b' = log(2 z) - a_i - log(1 - z + sqrt((1 - z)^2 + 4 z e^{a_y - a_i})), b = -b'."""
    z = lam / ((1.0 - lam) * (num_classes - 1.0))
    ay = r * (2.0 * 0.5**t - 1.0 - m)
    ai = r * (2.0 * 0.5**t - 1.0 + m)
    root = math.sqrt((1.0 - z) ** 2 + 4.0 * z * math.exp(ay - ai))
    return -(math.log(2.0 * z) - ai - math.log(1.0 - z + root))
