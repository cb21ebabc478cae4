"""Streaming statistics in float64: what the metrics need, accumulated batch by batch, with memory
that does not grow with the number of samples (O(K d + d^2) per level).

Batches are combined exactly with the pairwise update of Chan, Golub and LeVeque ("Updating
formulae and a pairwise algorithm for computing sample variances", 1979): for two groups with
counts n_a, n_b, means m_a, m_b and centred second moments M_a, M_b,

    n = n_a + n_b,  m = m_a + (m_b - m_a) n_b / n,  M = M_a + M_b + (m_b - m_a)(m_b - m_a)^T n_a n_b / n.

Unlike accumulating sum h h^T and subtracting n m m^T at the end, this never cancels two large
numbers, which matters exactly where neural collapse is studied: within-class spread tiny next to
the class means.
"""

from __future__ import annotations

import math

import torch


class ClassMoments:
    """Per-class counts n_k and means mu_k (K x d), the pooled within-class scatter
    sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T (d x d) and the per-class sums of squared distances
    sum_{y_i = k} ||h_i - mu_k||^2 (K): everything NC1, CDNV and the class-mean geometry need."""

    def __init__(self, num_classes: int, dim: int, device: torch.device | str = "cpu"):
        f64 = {"dtype": torch.float64, "device": device}
        self.counts = torch.zeros(num_classes, **f64)
        self.means = torch.zeros(num_classes, dim, **f64)
        self.within = torch.zeros(dim, dim, **f64)
        self.class_ss = torch.zeros(num_classes, **f64)

    def update(self, h: torch.Tensor, y: torch.Tensor) -> None:
        """Merge one batch (h: B x d float64, y: B class indices) into the totals."""
        k = self.counts.numel()
        n_b = torch.bincount(y, minlength=k).to(torch.float64)
        sums = torch.zeros_like(self.means).index_add_(0, y, h)
        batch_means = sums / n_b.clamp_min(1.0)[:, None]
        centred = h - batch_means[y]  # within the batch: around the batch's own class means
        self.within += centred.T @ centred
        ss_b = torch.zeros_like(self.class_ss).index_add_(0, y, centred.square().sum(dim=1))
        present = torch.nonzero(n_b).squeeze(1)  # only the classes in this batch change
        n_a, n_p = self.counts[present], n_b[present]
        n = n_a + n_p
        delta = batch_means[present] - self.means[present]
        weight = n_a * n_p / n
        self.within += (delta * weight[:, None]).T @ delta
        self.class_ss[present] += ss_b[present] + weight * delta.square().sum(dim=1)
        self.means[present] += delta * (n_p / n)[:, None]
        self.counts[present] = n


class ScalarMoments:
    """Count, mean and centred second moment of a stream of numbers (Chan's update, d = 1)."""

    def __init__(self, device: torch.device | str = "cpu"):
        self.count = 0
        self.mean = torch.zeros((), dtype=torch.float64, device=device)
        self.m2 = torch.zeros((), dtype=torch.float64, device=device)

    def merge(self, count: int, mean: torch.Tensor, m2: torch.Tensor) -> None:
        """Merge a group given by its count, mean and sum of squared deviations from its mean."""
        if count == 0:
            return
        n = self.count + count
        delta = mean - self.mean
        self.m2 = self.m2 + m2 + delta.square() * (self.count * count / n)
        self.mean = self.mean + delta * (count / n)
        self.count = n

    def update(self, values: torch.Tensor) -> None:
        if values.numel():
            mean = values.mean()
            self.merge(values.numel(), mean, (values - mean).square().sum())

    @property
    def std(self) -> float:
        """The population standard deviation (divide by the count), as torch's std(correction=0)."""
        return (self.m2 / self.count).sqrt().item() if self.count else float("nan")


def _int64(value: int) -> int:
    """A 64-bit pattern as the signed int64 torch stores (torch's int64 products wrap around)."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def uniform_keys(seed: int, start: int, count: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """count uniform numbers in [0, 1) for the positions start, start + 1, ... of a stream: the
    splitmix64 output for state seed * 2^32 + (position + 1) * gamma (Steele, Lea, Flood, OOPSLA
    2014), so a value's key depends on its position alone, never on how the stream was cut."""
    gamma, mix1, mix2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
    z = torch.arange(start + 1, start + count + 1, dtype=torch.int64, device=device) * _int64(gamma) + _int64(
        seed << 32
    )
    z = (z ^ ((z >> 30) & ((1 << 34) - 1))) * _int64(mix1)  # the masks make >> a logical shift
    z = (z ^ ((z >> 27) & ((1 << 37) - 1))) * _int64(mix2)
    z = z ^ ((z >> 31) & ((1 << 33) - 1))
    return ((z >> 11) & ((1 << 53) - 1)).to(torch.float64) / float(1 << 53)


class BottomK:
    """A uniform random sample without replacement of at most `size` values from a stream: every
    value gets a uniform random key from its position in the stream and the `size` smallest keys
    are kept (bottom-k sampling), so the sample does not depend on how the stream is cut into
    batches. It stays on the values' device: only `size` values are ever kept, never a batch
    copied to the host."""

    def __init__(self, size: int, seed: int):
        self.size, self.seed, self.seen = size, seed, 0
        self.keys: torch.Tensor | None = None
        self.values: torch.Tensor | None = None

    def update(self, values: torch.Tensor) -> None:
        if self.size == 0 or values.numel() == 0:
            return
        values = values.detach().flatten().to(torch.float64)
        keys = uniform_keys(self.seed, self.seen, values.numel(), values.device)
        self.seen += values.numel()
        if self.keys is not None:
            keys, values = torch.cat([self.keys, keys]), torch.cat([self.values, values])
        if keys.numel() > self.size:
            keep = torch.topk(keys, self.size, largest=False).indices
            keys, values = keys[keep], values[keep]
        self.keys, self.values = keys, values

    def sample(self) -> list[float]:
        return [] if self.keys is None else self.values[torch.argsort(self.keys)].cpu().tolist()


def uniform_accuracy(pos: torch.Tensor, neg_max: torch.Tensor) -> tuple[float, float]:
    """Exact uniform accuracy max_t U(t), U(t) = mean_i [ n_i < t < p_i ], and a best threshold.

    Sample i is right under the one threshold t iff t lies in the open interval (n_i, p_i). So
    max_t U(t) = (largest number of intervals sharing a point) / N, found by sorting the 2N
    endpoints and sweeping (O(N log N)); ends sort before starts at equal coordinates because open
    intervals that only touch share no point. Intervals with p_i <= n_i are empty and never count.
    The threshold returned is the midpoint of the best stretch. The paper scans a grid of t; this
    is the exact maximum, >= any grid estimate.
    """

    valid = neg_max < pos
    if not bool(valid.any()):
        return 0.0, math.nan
    starts, ends = neg_max[valid].double(), pos[valid].double()
    coords = torch.cat([starts, ends])
    deltas = torch.cat([torch.ones_like(starts), -torch.ones_like(ends)])
    by_delta = torch.argsort(deltas, stable=True)  # ends (-1) first ...
    order = by_delta[torch.argsort(coords[by_delta], stable=True)]  # ... within each coordinate
    coords, counts = coords[order], torch.cumsum(deltas[order], dim=0)
    best = int(torch.argmax(counts))  # first maximum: the last start of its coordinate group
    threshold = 0.5 * (coords[best] + coords[best + 1]).item()
    return counts[best].item() / pos.numel(), threshold
