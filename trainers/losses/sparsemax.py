"""The sparsemax loss (Martins & Astudillo, "From Softmax to Sparsemax: A Sparse Model of
Attention and Multi-Label Classification", ICML 2016), written as the Fenchel-Young loss of the
Gini entropy (Blondel, Martins, Niculae, "Learning with Fenchel-Young Losses", JMLR 2020), which it
equals."""

from __future__ import annotations

from typing import Literal

from trainers.losses.base import Loss


def sparsemax(s):
    """argmax_{p in simplex} <p, s> - ||p||^2 / 2 = max(s - tau, 0), tau the threshold at which it
    sums to 1 (the paper's Algorithm 1: sort, support size k(s) = max{k : 1 + k s_(k) > sum_{j<=k} s_(j)})."""
    import torch

    z = s - s.max(dim=1, keepdim=True).values
    ordered, _ = z.sort(dim=1, descending=True)
    k = torch.arange(1, z.shape[1] + 1, device=z.device, dtype=z.dtype)
    cumulative = ordered.cumsum(dim=1)
    support = (1.0 + k * ordered > cumulative).sum(dim=1, keepdim=True)
    tau = (cumulative.gather(1, support - 1) - 1.0) / support.to(z.dtype)
    return (z - tau).clamp(min=0.0)


def tsallis_entropy(p, alpha: float):
    """H_alpha(p) = (1 - sum_k p_k^alpha) / (alpha (alpha - 1)), the Tsallis entropy (alpha = 2: Gini)."""
    return (1.0 - (p**alpha).sum(dim=1)) / (alpha * (alpha - 1.0))


def fenchel_young(scores, targets, p_star, alpha: float):
    """L = <p* - q, s> + H_alpha(p*) - H_alpha(q), p* the alpha-entmax of s: the Fenchel-Young loss,
    >= 0 with equality iff p* = q. p* enters as a constant: by Danskin's theorem the gradient is
    p* - q all the same, and the projection's sort has no gradient worth taking."""
    p = p_star.detach()
    return ((p - targets) * scores).sum(dim=1) + tsallis_entropy(p, alpha) - tsallis_entropy(targets, alpha)


class Sparsemax(Loss):
    """L = <p* - q, s> + H_2(p*) - H_2(q), p* = sparsemax(s) (for one-hot q: -s_y + (1/2) sum_{j in S}
    (s_j^2 - tau^2) + 1/2, the paper's eq. 16): zero once the target wins by a margin of 1, so
    confident samples stop pulling, unlike CE. Equals the `entmax` package's SparsemaxLoss."""

    name: Literal["sparsemax"] = "sparsemax"

    def per_sample(self, scores, targets):
        return fenchel_young(scores, targets, sparsemax(scores), 2.0)
