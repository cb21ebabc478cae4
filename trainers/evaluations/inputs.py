"""What an evaluation reads: the test split's features and scores, the samples a trial did not
train on (the held-out classes of data.open_set, the metrics.ood data) seen by the same model, and
the train split's streamed statistics (class means, within-class scatter, second moment).

Scores follow ncsweep's sign (docs/science.md#scores-and-the-sign-of-the-bias): Z = the head's
bias-free scores, S = Z - b, so a sample is accepted by class k when S_k > 0 and the bias is each
class's threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from trainers.metrics.split_pass import Context, SplitStats


@dataclass(frozen=True)
class Side:
    """Samples seen by the trained model: features (N x d), labels (N; None for outside data),
    bias-free scores Z and scores S = Z - b (N x K, float64)."""

    features: torch.Tensor
    labels: torch.Tensor | None
    bias_free: torch.Tensor
    scores: torch.Tensor

    @classmethod
    def of(cls, features: torch.Tensor, labels: torch.Tensor | None, ctx: Context) -> Side:
        import torch

        h = features.to(ctx.weight.device, torch.float64)
        z = ctx.bias_free(h)
        return cls(features, labels, z, z - ctx.full_bias)


@dataclass(frozen=True)
class EvalInputs:
    test: Side  # the test split (its known classes under data.open_set)
    seed: int = 0  # the trial's seed: the draws an evaluation makes (negative pairs)
    unknown: Side | None = None  # data.open_set: test samples of the classes held out of training
    ood: Side | None = None  # metrics.ood: the test split of another dataset, in this trial's input shape
    train: SplitStats | None = None  # the train split at the penultimate features (means, scatter)
