"""One split's metrics, streamed: batches of features go in, every registered metric comes out.

The pass has two phases. The first sees every batch once and accumulates, in float64, what the
metrics need: per-class counts and means and the pooled within-class scatter (ClassMoments, per
level: the penultimate features and each tapped layer), the positive score and the largest
negative score of each sample (uniform accuracy needs all N pairs: O(N)), the moments of the
scores, and the sums of the first-pass sample metrics (accuracy, loss, bias gradient, ...). The
second phase sees the same batches again, now with the split's final class means (and the train
split's, for the nearest-class-centre metrics), for the sample metrics that need them
(compactness, NCC accuracy, NC4). Memory: O(K d + d^2) per level plus O(N), never N x d.

Where the second phase's batches come from (features kept from the first phase, or the backbone
run again) is the caller's choice: see trainers/evaluate.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import torch

from trainers.losses import Geometry, Loss, soft_targets
from trainers.metrics.registry import METRICS, Metric
from trainers.metrics.stats import BottomK, ClassMoments, ScalarMoments, uniform_accuracy

FEATURES = None  # the level of the penultimate features (layers are named by their module names)


def full_bias(bias: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """b as a K-vector in float64: a unified bias repeated K times, no bias as zeros."""
    if bias is None:
        return torch.zeros(num_classes, dtype=torch.float64)
    return bias.detach().to(torch.float64).expand(num_classes)


@dataclass(frozen=True)
class Context:
    """The classifier and the loss the split is measured with: the K x d matrix the metrics read as
    W and the head's bias as it is ((K,) per class, (1,) unified, None), in float64 on the
    features' device; `score_fn` gives the bias-free scores of features (default H W^T, a linear
    head's; a cosine head's are scale cos(w_k, h))."""

    weight: torch.Tensor
    bias: torch.Tensor | None
    loss: Loss | None = None  # None: the loss metrics are NaN
    lambda_b: float = 0.0
    score_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
    scale: torch.Tensor | None = None  # a cosine head's scale (what a margin loss reads), else None
    row_norms: torch.Tensor | None = None  # |w_k| of the head's stored rows (None: those of `weight`)

    @classmethod
    def of(
        cls,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        loss: Loss | None = None,
        lambda_b: float = 0.0,
        device=None,
    ) -> Context:
        """A linear classifier given by its W and b."""
        device = device or weight.device
        w = weight.detach().to(device, torch.float64)
        b = None if bias is None else bias.detach().to(device, torch.float64)
        return cls(w, b, loss, lambda_b)

    @classmethod
    def from_head(cls, head, loss: Loss | None = None, lambda_b: float = 0.0) -> Context:
        """A trial's head (trainers/heads) as it is now, its parameters in float64."""
        weight = head.weight.detach().to(torch.float64)
        scale = None if head.scale is None else head.scale.detach().to(torch.float64)
        bias = head.bias_vector()
        variant = head.variant
        return cls(
            variant.metric_weight(weight, scale),
            None if bias is None else bias.to(torch.float64),
            loss,
            lambda_b,
            score_fn=lambda features: variant.bias_free(weight, scale, features),
            scale=scale,
            row_norms=weight.norm(dim=1),
        )

    def bias_free(self, features: torch.Tensor) -> torch.Tensor:
        return self.score_fn(features) if self.score_fn is not None else features @ self.weight.T

    @cached_property
    def full_bias(self) -> torch.Tensor:
        return full_bias(self.bias, self.weight.shape[0]).to(self.weight.device)


@dataclass
class Batch:
    """One batch as a sample metric sees it: float64 features of its level (B x d), labels, and
    lazily the head's bias-free scores Z = H W^T and scores S = Z - b (of the penultimate
    features, also at a layer). In the second phase also the split's final class means
    (K x d), its global mean, and the train split's class means at this level."""

    features: torch.Tensor
    labels: torch.Tensor
    ctx: Context
    head: Batch | None = None  # at a layer: the batch of the penultimate features (its scores)
    clean_labels: torch.Tensor | None = None  # the labels before data.label_noise (train split), else None
    means: torch.Tensor | None = None
    mu_global: torch.Tensor | None = None
    train_means: torch.Tensor | None = None
    train_stats: SplitStats | None = None  # the train split's statistics at this level (the probe's fit)
    split_stats: SplitStats | None = None  # this split's own statistics at this level (second phase)

    @cached_property
    def bias_free(self) -> torch.Tensor:
        return self.head.bias_free if self.head is not None else self.ctx.bias_free(self.features)

    @cached_property
    def scores(self) -> torch.Tensor:
        return self.head.scores if self.head is not None else self.bias_free - self.ctx.full_bias

    @cached_property
    def loss_scores(self) -> torch.Tensor:
        """The scores the trial's loss is computed on: S, or for a margin loss S' = margin(Z) - b."""
        if self.head is not None:
            return self.head.loss_scores
        loss = self.ctx.loss
        if loss is None or not loss.has_margin:
            return self.scores
        rows = self.ctx.row_norms if self.ctx.row_norms is not None else self.ctx.weight.norm(dim=1)
        geometry = Geometry(self.features.norm(dim=1), rows, training=False)
        return loss.margined(self.bias_free, self.ctx.full_bias, self.targets, self.ctx.scale, geometry)

    @cached_property
    def targets(self) -> torch.Tensor:
        """Soft targets q with the trial loss's label smoothing (one-hot without a loss)."""
        smoothing = self.ctx.loss.label_smoothing if self.ctx.loss is not None else 0.0
        return soft_targets(self.labels, self.ctx.weight.shape[0], smoothing, dtype=torch.float64)


@dataclass
class ScoreStats:
    """Per sample the positive bias-free score p_i = Z_{i,y_i} and the largest negative one
    n_i = max_{k != y_i} Z_ik (N each), and the moments of the N positive and N(K-1) negative scores."""

    pos: torch.Tensor
    neg_max: torch.Tensor
    pos_moments: ScalarMoments
    neg_moments: ScalarMoments

    @cached_property
    def uniform(self) -> tuple[float, float]:
        return uniform_accuracy(self.pos, self.neg_max)


@dataclass
class SplitStats:
    """What a metric function sees: the split's statistics at one level."""

    counts: torch.Tensor  # (K,) n_k
    means: torch.Tensor  # (K, d) mu_k
    within: torch.Tensor  # (d, d) sum_i (h_i - mu_{y_i})(h_i - mu_{y_i})^T
    class_ss: torch.Tensor  # (K,) sum_{y_i = k} ||h_i - mu_k||^2
    weight: torch.Tensor | None = None  # (K, d); None at an intermediate layer
    bias: torch.Tensor | None = None  # the head's bias as it is: (K,), (1,) or None
    lambda_b: float = 0.0
    scores: ScoreStats | None = None  # at the penultimate features only

    @property
    def n(self) -> int:
        return int(self.counts.sum().item())

    @property
    def num_classes(self) -> int:
        return self.counts.numel()

    @cached_property
    def mu_global(self) -> torch.Tensor:
        """mu_G = mean_i h_i = sum_k n_k mu_k / N."""
        return self.counts @ self.means / self.counts.sum()

    @cached_property
    def mbar(self) -> torch.Tensor:
        """Mbar = [mu_1 - mu_G, ..., mu_K - mu_G] (d x K)."""
        return (self.means - self.mu_global).T

    @cached_property
    def full_bias(self) -> torch.Tensor:
        return full_bias(self.bias, self.num_classes).to(self.means.device)

    @cached_property
    def probe(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The ridge probe fitted on these statistics (probe.py), once per split and level."""
        from trainers.metrics.probe import ridge_probe

        return ridge_probe(self)

    @cached_property
    def sigma_b_root(self) -> torch.Tensor:
        """Mbar (Mbar^T Mbar)^+ (d x K): r^T Mbar P^2 Mbar^T r = ||P Mbar^T r||^2 is a sample's share
        of nc1 (nc1.py's K-dimensional form), once per split and level."""
        return self.mbar @ torch.linalg.pinv(self.mbar.T @ self.mbar, hermitian=True)

    @cached_property
    def gram_eigenvalues(self) -> torch.Tensor:
        """The eigenvalues of H^T H = within + sum_k n_k mu_k mu_k^T (d x d): the squared singular
        values of the N x d features, from the streamed statistics (once per split and level)."""
        return torch.linalg.eigvalsh(self.within + self.means.T @ (self.counts.unsqueeze(1) * self.means))


@dataclass
class _Level:
    moments: ClassMoments | None = None
    sums: dict[str, torch.Tensor] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)  # metrics that returned None: NaN
    stats: SplitStats | None = None


@dataclass(frozen=True)
class SplitResult:
    values: dict[str, float]  # key -> value at the penultimate features
    layers: dict[str, dict[str, float]]  # layer name -> key -> value
    means: dict[str | None, torch.Tensor]  # level -> class means (K x d): the train means for NCC
    samples: dict[str, list[float]] | None = None  # "pos", "neg": score samples (violins)
    stats: dict[str | None, SplitStats] = field(default_factory=dict)  # level -> the accumulated statistics


class SplitPass:
    """Accumulate one split: `first(batch)` for every batch, then (when `needs_second`) `second`
    for the same batches, then `finish()`. `train_means` (level -> K x d) are the train split's
    class means for the NCC metrics; None for the train split itself (its own means). With
    `samples` > 0 it also keeps that many uniformly drawn positive and negative scores.
    `train_stats` (level -> SplitStats) are the train split's statistics (the probe fits on them,
    and they give the train means); None for the train split itself. A split measured without them
    (compute_split on a test split alone) fits the probe on its own statistics."""

    def __init__(
        self,
        ctx: Context,
        layers=(),
        train_means: dict | None = None,
        samples: int = 0,
        seed: int = 0,
        train_stats: dict | None = None,
    ):
        if train_means is None and train_stats is not None:
            train_means = {level: stats.means for level, stats in train_stats.items()}
        self.ctx, self.train_means, self.train_stats = ctx, train_means, train_stats
        self.levels: dict[str | None, _Level] = {FEATURES: _Level(), **{name: _Level() for name in layers}}
        self.n = 0
        self.pos: list[torch.Tensor] = []
        self.neg_max: list[torch.Tensor] = []
        device = ctx.weight.device
        self.pos_moments, self.neg_moments = ScalarMoments(device), ScalarMoments(device)
        self.samplers = {"pos": BottomK(samples, 2 * seed), "neg": BottomK(samples, 2 * seed + 1)} if samples else None

    @staticmethod
    def _metrics(level: str | None, kind: str, second: bool | None = None) -> list[Metric]:
        return [
            m
            for m in METRICS
            if m.kind == kind and (level is FEATURES or m.layers) and (second is None or m.second_pass == second)
        ]

    @property
    def needs_second(self) -> bool:
        return any(self._metrics(level, "sample", second=True) for level in self.levels)

    def _batches(
        self, features: torch.Tensor, labels: torch.Tensor, layers: dict | None, clean: torch.Tensor | None = None
    ) -> dict[str | None, Batch]:
        y = labels.to(self.ctx.weight.device).long()
        clean = None if clean is None else clean.to(y.device).long()
        head = Batch(features.to(self.ctx.weight.device, torch.float64), y, self.ctx, clean_labels=clean)
        out = {FEATURES: head}
        for name in self.levels:
            if name is not FEATURES:
                out[name] = Batch(
                    layers[name].to(head.features.device, torch.float64).flatten(1), y, self.ctx, head=head
                )
        return out

    def _accumulate(self, level: _Level, batch: Batch, metrics: list[Metric]) -> None:
        for m in metrics:
            values = m.fn(batch)
            if values is None:
                level.missing.add(m.key)
                continue
            total = values.to(torch.float64).sum(dim=0)
            level.sums[m.key] = total if m.key not in level.sums else level.sums[m.key] + total

    def first(
        self,
        features: torch.Tensor,
        labels: torch.Tensor,
        layers: dict | None = None,
        clean: torch.Tensor | None = None,
    ) -> None:
        """Phase one: one batch of penultimate features (B x d) with their labels (those trained
        on), each tapped layer's pooled output (name -> B x d_l), and under label noise the clean
        labels (B)."""
        batches = self._batches(features, labels, layers, clean)
        for name, batch in batches.items():
            level = self.levels[name]
            if level.moments is None:
                level.moments = ClassMoments(self.ctx.weight.shape[0], batch.features.shape[1], batch.features.device)
            level.moments.update(batch.features, batch.labels)
            self._accumulate(level, batch, self._metrics(name, "sample", second=False))
        self._scores(batches[FEATURES])
        self.n += labels.numel()

    def _scores(self, batch: Batch) -> None:
        z, y = batch.bias_free, batch.labels
        own = torch.zeros_like(z, dtype=torch.bool).scatter_(1, y[:, None], True)
        pos = z.gather(1, y[:, None]).squeeze(1)
        self.pos.append(pos)
        self.neg_max.append(z.masked_fill(own, float("-inf")).max(dim=1).values)
        self.pos_moments.update(pos)
        # The N(K-1) negative scores: sums over Z with each row's own column left out.
        count = pos.numel() * (z.shape[1] - 1)
        if count:
            mean = z.masked_fill(own, 0.0).sum() / count
            self.neg_moments.merge(count, mean, (z - mean).square().masked_fill(own, 0.0).sum())
        if self.samplers:
            self.samplers["pos"].update(pos)
            self.samplers["neg"].update(z[~own])

    def _stats(self, name: str | None) -> SplitStats:
        level = self.levels[name]
        if level.stats is None:
            if level.moments is None:
                raise ValueError("no samples in this split: its metrics are undefined")
            m = level.moments
            missing = torch.nonzero(m.counts == 0).flatten().tolist()
            if missing:
                raise ValueError(f"classes {missing} have no samples in this split; class means are undefined")
            head = name is FEATURES
            scores = (
                ScoreStats(torch.cat(self.pos), torch.cat(self.neg_max), self.pos_moments, self.neg_moments)
                if head
                else None
            )
            level.stats = SplitStats(
                m.counts,
                m.means,
                m.within,
                m.class_ss,
                weight=self.ctx.weight if head else None,
                bias=self.ctx.bias if head else None,
                lambda_b=self.ctx.lambda_b,
                scores=scores,
            )
        return level.stats

    def second(
        self,
        features: torch.Tensor,
        labels: torch.Tensor,
        layers: dict | None = None,
        clean: torch.Tensor | None = None,
    ) -> None:
        """Phase two: the same batches again, after every batch went through `first`."""
        for name, batch in self._batches(features, labels, layers, clean).items():
            stats = self._stats(name)
            batch.means, batch.mu_global = stats.means, stats.mu_global
            batch.train_means = stats.means if self.train_means is None else self.train_means[name]
            batch.train_stats = stats if self.train_stats is None else self.train_stats[name]
            batch.split_stats = stats
            self._accumulate(self.levels[name], batch, self._metrics(name, "sample", second=True))

    def _value(self, m: Metric, name: str | None) -> float:
        level, stats = self.levels[name], self._stats(name)
        if m.kind == "summary":
            return float(m.fn(stats))
        if m.key in level.missing or m.key not in level.sums:
            return float("nan")
        mean = level.sums[m.key] / self.n
        return float(m.finish(mean, stats)) if m.finish else mean.item()

    def class_means(self) -> dict[str | None, torch.Tensor]:
        """Level -> the class means (K x d) of every batch seen so far."""
        return {name: self._stats(name).means for name in self.levels}

    def statistics(self) -> dict[str | None, SplitStats]:
        """Level -> the statistics of every batch seen so far (what the evaluations read of train)."""
        return {name: self._stats(name) for name in self.levels}

    def finish(self) -> SplitResult:
        """Every registered metric at every level (NaN where a metric does not apply)."""
        values = {m.key: self._value(m, FEATURES) for m in METRICS}
        layers = {
            name: {m.key: self._value(m, name) for m in METRICS if m.layers}
            for name in self.levels
            if name is not FEATURES
        }
        means = self.class_means()
        samples = {kind: s.sample() for kind, s in self.samplers.items()} if self.samplers else None
        return SplitResult(values, layers, means, samples, self.statistics())


def compute_split(
    features: torch.Tensor,
    labels: torch.Tensor,
    ctx: Context,
    layers: dict | None = None,
    train_means: dict | None = None,
    chunk: int = 4096,
) -> SplitResult:
    """The streaming pass over in-memory tensors cut into chunks of `chunk` samples (a notebook's
    entry point, and the tests'): features (N x d), labels (N), layers name -> (N x d_l)."""
    names = list(layers or {})
    split = SplitPass(ctx, names, train_means)

    def chunks():
        for start in range(0, labels.numel(), chunk):
            part = slice(start, start + chunk)
            yield features[part], labels[part], {n: layers[n][part] for n in names}

    for batch in chunks():
        split.first(*batch)
    if split.needs_second:
        for batch in chunks():
            split.second(*batch)
    return split.finish()
