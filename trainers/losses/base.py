"""What every loss is: a typed config variant that computes its per-sample value on scores.

Convention (docs/science.md#scores-and-the-sign-of-the-bias): scores s = W h - b (the bias is subtracted), soft targets
q in [0, 1]^K (one-hot, label-smoothed or mixed), a loss is summed over the K classes and averaged
over the batch. A loss module subclasses `Loss`, declares `name: Literal["its_name"]` and its own
hyperparameters as fields, and implements `per_sample`; defining the class registers it.

Two optional seams, for losses that are not functions of (scores, targets) alone:
- `needs_class_counts`: the loss reads `self.class_counts` (n_k, the training split's samples per
  class: the long-tail losses). Setup fills them in from the data (`with_class_counts`); a sweep
  file never does.
- `with_margin(z, targets, scale)`: the loss moves the target class's bias-free score before the bias
  is subtracted (s' = with_margin(z) - b: the margin losses, on a cosine head's z = scale cos). Training,
  the loss metric and the bias residual all see s'; accuracy and the score metrics see s = z - b.
  `needs_cosine` makes a head without cosines (classifier.name linear) a config error. A margin
  may also read the batch's `Geometry`: each feature's norm (AdaFace's margin grows with it, the
  dot-regression loss divides by it), the head's row norms, and whether the step trains (ElasticFace
  draws random margins only then).
- `heads`: the classifier names the loss is defined on (the harmonic loss on distances, the
  dot-regression loss on a fixed ETF); another head is a config error.
- `initial_bias(K)`: a loss whose paper starts the bias at a value of its own (SphereFace2, UniFace)
  returns it; setup then fills the head's bias with it instead of the head's init.

torch is imported inside the methods: the registry (and so every sweep file's validation) must not
pay torch's seconds of import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, PrivateAttr

from trainers.registry import Registry, Variant

if TYPE_CHECKING:
    import torch

LOSSES = Registry("loss", default="ce")


@dataclass(frozen=True)
class Geometry:
    """What a margin may read besides the bias-free scores z: |h_i| of each feature (N,), |w_k| of
    each of the head's rows as stored (K,), and whether this is a training step (False in the
    metrics pass). The training step and the metrics pass both fill it in."""

    norms: torch.Tensor | None = None
    row_norms: torch.Tensor | None = None
    training: bool = False


class Loss(Variant):
    registry: ClassVar[Registry] = LOSSES
    # q = (1 - eps) one_hot(y) + eps / K; every shipped loss is written for soft targets q.
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    needs_class_counts: ClassVar[bool] = False
    needs_cosine: ClassVar[bool] = False
    heads: ClassVar[tuple[str, ...]] = ()  # the classifier.name values it is defined on; () any
    _class_counts: tuple[int, ...] | None = PrivateAttr(None)

    def with_class_counts(self, counts) -> Loss:
        """This loss with the training split's per-class sample counts n_k (a copy; the config's stays as it is)."""
        bound = self.model_copy()
        bound._class_counts = tuple(int(n) for n in counts)
        return bound

    def class_counts(self, like: torch.Tensor) -> torch.Tensor:
        """n_k as a tensor of `like`'s dtype and device (a loss with needs_class_counts only)."""
        import torch

        if self._class_counts is None:
            raise RuntimeError(
                f"loss {self.name!r} needs the training split's class counts: bind them with with_class_counts "
                "(trainers/setup.py does)"
            )
        return torch.tensor(self._class_counts, dtype=like.dtype, device=like.device)

    def initial_bias(self, num_classes: int) -> float | None:
        """The value every bias starts at when the loss's paper prescribes one (None: the head's own init)."""
        return None

    @property
    def has_margin(self) -> bool:
        return type(self).with_margin is not Loss.with_margin

    def with_margin(
        self,
        bias_free: torch.Tensor,
        targets: torch.Tensor,
        scale: torch.Tensor | None,
        geometry: Geometry | None = None,
    ) -> torch.Tensor:
        """The bias-free scores z (N, K) the loss trains on; the identity but for margin losses.
        `scale` is the head's (a cosine head's z = scale cos), None for a head without one."""
        return bias_free

    def margined(
        self,
        bias_free: torch.Tensor,
        bias: torch.Tensor | None,
        targets: torch.Tensor,
        scale: torch.Tensor | None,
        geometry: Geometry | None = None,
    ) -> torch.Tensor:
        """s' = with_margin(z) - b: the scores this loss is computed on."""
        z = self.with_margin(bias_free, targets, scale, geometry)
        return z if bias is None else z - bias

    def per_sample(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """L_i for each sample (N,) from scores (N, K) and soft targets (N, K)."""
        raise NotImplementedError

    def __call__(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The batch loss: mean over samples of the per-sample (class-summed) loss."""
        return self.per_sample(scores, targets).mean()

    def bias_gradient(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-sample dL_i/db_k (N, K), by autograd: since s = z - b, dL/db = -dL/ds.

        The gradient of sum_i L_i with respect to s holds each sample's own row, because L_i
        depends on row i alone. CE and BCE override this with their closed forms, which the tests
        hold against this autograd version.
        """
        import torch

        with torch.enable_grad():
            s = scores.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.per_sample(s, targets.detach()).sum(), s)
        return -grad


def soft_targets(
    labels: torch.Tensor, num_classes: int, smoothing: float = 0.0, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """q = (1 - eps) one_hot(y) + eps / K (equals the official code's BCE smoothing term)."""
    import torch
    import torch.nn.functional as F

    q = F.one_hot(labels, num_classes).to(dtype or torch.get_default_dtype())
    return q * (1.0 - smoothing) + smoothing / num_classes if smoothing else q


def target_mask(targets: torch.Tensor) -> torch.Tensor:
    """One-hot of each sample's target class, argmax_k q_k (its label under label smoothing, the
    larger of the two under mixup), as booleans (N, K): the class a margin acts on."""
    import torch.nn.functional as F

    return F.one_hot(targets.argmax(dim=1), targets.shape[1]).bool()
