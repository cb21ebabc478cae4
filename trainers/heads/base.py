"""What every classifier head is: a typed config variant (`classifier.name`) that builds its
parameters and holds its math; the scores are s_k = z_k - b_k with z the head's bias-free scores
(docs/science.md#scores-and-the-sign-of-the-bias: the bias is subtracted, so b_k is the threshold z_k must pass).

A head module defines a subclass of `Head` with `name: Literal[...]` and its own keys, and
implements `bias_free` (z from the features, as a pure function of tensors) and, where it differs
from torch's Linear init, `initial_weight`. The bias modes and their init are shared by all heads.
torch is imported inside the methods: reading a sweep file must not pay torch's import.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import field_validator, model_validator

from trainers.registry import Registry, Variant

if TYPE_CHECKING:
    import torch

BiasMode = Literal["per_class", "unified", "none"]
CLASSIFIERS = Registry("classifier", default="linear")
# The official code's --bias_init_mode 0-7 (models/linear.py), by what each sets; see structured_bias.
BIAS_INIT_MODES = (
    "uniform",
    "index",
    "linear",
    "linear_reversed",
    "log",
    "log_reversed",
    "blocks_high_low",
    "blocks_low_high",
)
BiasInitMode = Literal[
    "uniform", "index", "linear", "linear_reversed", "log", "log_reversed", "blocks_high_low", "blocks_low_high"
]


def structured_bias(mode: str, num_classes: int) -> list[float]:
    """b_k of the official code's structured initializations (models/linear.py, --bias_init_mode),
    k = 0..K-1, before bias_init_mean is added:

    index (1): b_k = k;  linear (2): b_k = 64 k / K;  linear_reversed (3): b_k = 64 (K-1-k) / K;
    log (4): b_k = log(96 k + 1);  log_reversed (5): b_k = log(96 (K-1-k) + 1);
    blocks_high_low (6): log(96 K) on the first and third quarters of the classes, 0 on the others;
    blocks_low_high (7): 0 on the first and third quarters, log(96 K) on the others.
    (uniform (0) is the random U(-1/sqrt(d), 1/sqrt(d)) of `Head.initial_bias`.)
    """
    k_count = num_classes
    if mode == "index":
        return [float(k) for k in range(k_count)]
    if mode in ("linear", "linear_reversed"):
        values = [k * 64.0 / k_count for k in range(k_count)]
        return values if mode == "linear" else values[::-1]
    if mode in ("log", "log_reversed"):
        values = [math.log(96 * k + 1) for k in range(k_count)]
        return values if mode == "log" else values[::-1]
    high = math.log(96 * k_count)
    quarter = [k_count // 4, k_count // 2, 3 * k_count // 4]
    block = [0 if k < quarter[0] else 1 if k < quarter[1] else 2 if k < quarter[2] else 3 for k in range(k_count)]
    first_high = mode == "blocks_high_low"
    return [high if (b % 2 == 0) == first_high else 0.0 for b in block]


class Head(Variant):
    registry: ClassVar[Registry] = CLASSIFIERS
    trains_weight: ClassVar[bool] = True  # False: W is fixed at its initial value (a buffer)
    cosine: ClassVar[bool] = False  # True: z_k = scale cos(w_k, h), what margin losses act on
    # per_class: b in R^K; unified: one scalar shared by all classes (UBCE); none: no bias.
    bias: BiasMode = "per_class"
    bias_init_mean: float = 0.0  # b ~ U(-1/sqrt(d), 1/sqrt(d)) + this (docs/science.md#initialization)
    # The official code's --bias_init_mode (0-7 also accepted): uniform, or a structured b_k
    # (structured_bias) with bias_init_mean added; per-class biases only.
    bias_init_mode: BiasInitMode = "uniform"

    @field_validator("bias_init_mode", mode="before")
    @classmethod
    def _official_number(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(BIAS_INIT_MODES):
            return BIAS_INIT_MODES[value]
        return value

    @model_validator(mode="after")
    def _structured_needs_per_class(self) -> Head:
        if self.bias_init_mode != "uniform" and self.bias != "per_class":
            raise ValueError(
                f"classifier.bias_init_mode {self.bias_init_mode!r} sets one value per class; classifier.bias "
                f"is {self.bias!r} (use 'per_class')"
            )
        return self

    def initial_weight(self, feature_dim: int, num_classes: int) -> torch.Tensor:
        """W (K x d): torch's default Linear init (kaiming_uniform with a = sqrt(5)), the paper's."""
        from torch import nn

        return nn.Linear(feature_dim, num_classes, bias=False).weight.detach().clone()

    def initial_scale(self) -> float | None:
        """The scale a cosine-type head multiplies by (None: the head has none)."""
        return None

    def learns_scale(self) -> bool:
        return False

    def initial_bias(self, feature_dim: int, num_classes: int) -> torch.Tensor | None:
        import torch

        if self.bias == "none":
            return None
        if self.bias_init_mode != "uniform":
            return torch.tensor(structured_bias(self.bias_init_mode, num_classes)) + self.bias_init_mean
        bound = 1.0 / math.sqrt(feature_dim)
        return torch.empty(num_classes if self.bias == "per_class" else 1).uniform_(-bound, bound) + self.bias_init_mean

    def bias_free(self, weight: torch.Tensor, scale: torch.Tensor | None, features: torch.Tensor) -> torch.Tensor:
        """z (N x K) from features (N x d), in the features' dtype."""
        raise NotImplementedError

    def metric_weight(self, weight: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
        """The K x d matrix the NC metrics read as W (nc2_w, nc3, weight_norm, ...)."""
        return weight

    def build(self, feature_dim: int, num_classes: int):
        """The head module (trainers/heads/module.py) with this variant's initial parameters."""
        from trainers.heads.module import HeadModule

        weight = self.initial_weight(feature_dim, num_classes)  # before the bias: the RNG order of the paper's init
        return HeadModule(self, weight, self.initial_bias(feature_dim, num_classes), self.initial_scale())
