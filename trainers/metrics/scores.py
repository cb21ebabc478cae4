"""Scores and uniform accuracy (docs/science.md#metrics).

Z = H W^T are the bias-free scores, S = Z - b the scores; p_i = Z_{i,y_i} is a sample's positive
score and n_i = max_{k != y_i} Z_ik its largest negative one. Sources: Li, Xiao, Shen, "BCE vs. CE
in Deep Feature Learning", ICML 2025; Li et al., "Rediscovering BCE Loss for Uniform
Classification", 2024 (uniform accuracy).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from trainers.metrics.registry import metric, sample_metric

if TYPE_CHECKING:
    import torch

    from trainers.metrics.split_pass import Batch, SplitStats


@sample_metric("acc")
def accuracy(b: Batch) -> torch.Tensor:
    """mean_i [ argmax_k S_ik = y_i ]: accuracy of the classifier with its biases."""
    return b.scores.argmax(dim=1) == b.labels


@sample_metric("acc5", only="K > 5", label="top-5 acc")
def top5_accuracy(b: Batch) -> torch.Tensor | None:
    """mean_i [ y_i among the 5 largest S_ik ]: top-5 accuracy (NaN for K <= 5, where it is 1)."""
    if b.scores.shape[1] <= 5:
        return None
    return (b.scores.topk(5, dim=1).indices == b.labels[:, None]).any(dim=1)


@metric("uniform_acc")
def uniform_acc(s: SplitStats) -> float:
    """max_t mean_i [ n_i < t < p_i ]: one shared threshold for every class, exact by sorting the 2N endpoints (Li et
    al. 2024)."""
    return s.scores.uniform[0]


@metric("uniform_threshold")
def uniform_threshold(s: SplitStats) -> float:
    """a threshold t attaining uniform_acc: the midpoint of the best interval (NaN when no sample has p_i > n_i)."""
    return s.scores.uniform[1]


@sample_metric("uniform_acc_at_bias")
def uniform_acc_at_bias(b: Batch) -> torch.Tensor:
    """mean_i [ S_{i,y_i} > 0 and S_ik < 0 for every k != y_i ]: each class's own bias as its threshold."""
    own = b.scores.gather(1, b.labels[:, None])
    others = b.scores.scatter(1, b.labels[:, None], -math.inf)
    return (own.squeeze(1) > 0) & (others < 0).all(dim=1)


@metric("pos_score_mean", label="pos score")
def pos_score_mean(s: SplitStats) -> float:
    """mean_i p_i: the mean positive bias-free score."""
    return s.scores.pos_moments.mean.item()


@metric("pos_score_std")
def pos_score_std(s: SplitStats) -> float:
    """population std of the N positive bias-free scores p_i."""
    return s.scores.pos_moments.std


@metric("neg_score_mean", label="neg score")
def neg_score_mean(s: SplitStats) -> float:
    """mean of the N(K-1) negative bias-free scores Z_ik, k != y_i."""
    return s.scores.neg_moments.mean.item()


@metric("neg_score_std")
def neg_score_std(s: SplitStats) -> float:
    """population std of the N(K-1) negative bias-free scores Z_ik, k != y_i."""
    return s.scores.neg_moments.std


def _bias_values(s: SplitStats) -> torch.Tensor:
    """b as it is: the K biases, the one unified bias, or K zeros without a bias."""
    return s.full_bias[:1] if s.bias is not None and s.bias.numel() == 1 else s.full_bias


@metric("bias_mean", label="bias")
def bias_mean(s: SplitStats) -> float:
    """mean of b (unified: the scalar; no bias: 0)."""
    return _bias_values(s).mean().item()


@metric("bias_std")
def bias_std(s: SplitStats) -> float:
    """population std of b (unified or no bias: 0)."""
    return _bias_values(s).std(correction=0).item()


@metric("weight_norm")
def weight_norm(s: SplitStats) -> float:
    """mean_k ||w_k||: the mean norm of the classifier rows."""
    return s.weight.norm(dim=1).mean().item()


@sample_metric("feature_norm")
def feature_norm(b: Batch) -> torch.Tensor:
    """mean_i ||h_i||: the mean feature norm."""
    return b.features.norm(dim=1)
