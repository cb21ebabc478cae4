"""Classifier heads (`classifier.name`): each head's scores against its formula, what trains and
what stays fixed, and the metrics reading each head's own bias-free scores."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from test_trainer import collect, config

from trainers.heads import CLASSIFIERS
from trainers.metrics import METRICS, Context


def test_cosine_head_scores_are_scaled_cosines_minus_the_bias():
    torch.manual_seed(0)
    head = CLASSIFIERS.make(name="cosine", scale=8.0).build(feature_dim=6, num_classes=4)
    h = torch.randn(5, 6)
    cos = torch.tensor([[F.cosine_similarity(x, w, dim=0).item() for w in head.weight] for x in h])
    assert torch.allclose(head(h), 8.0 * cos - head.bias, atol=1e-6)
    assert "scale" not in dict(head.named_parameters())  # fixed by default: a buffer
    learned = CLASSIFIERS.make(name="cosine", learn_scale=True, bias="none").build(6, 4)
    learned(h).sum().backward()
    assert learned.scale.grad is not None and learned.bias is None


def test_fixed_etf_head_is_a_frozen_simplex_etf_with_a_learned_bias():
    k, d = 5, 9
    head = CLASSIFIERS.make(name="fixed_etf", scale=2.0).build(feature_dim=d, num_classes=k)
    w = head.weight
    assert "weight" not in dict(head.named_parameters()) and head.bias.requires_grad
    gram = w @ w.T  # rows of norm 2, pairwise cosine -1/(K-1)
    expected = 4.0 * (torch.eye(k) * (1 + 1 / (k - 1)) - 1 / (k - 1))
    assert torch.allclose(gram, expected, atol=1e-6)
    assert torch.equal(w[:, k:], torch.zeros(k, d - k))  # in the first K coordinates, as the official code
    with pytest.raises(ValueError, match="needs at least as many features as classes"):
        CLASSIFIERS.make(name="fixed_etf").build(feature_dim=3, num_classes=5)


@pytest.mark.parametrize(
    "head", [{"name": "linear"}, {"name": "cosine", "learn_scale": True}, {"name": "fixed_etf", "bias": "unified"}]
)
def test_every_head_trains_and_reports_every_metric(head):
    status, reports = collect(config(classifier=head, model={"name": "mlp", "width": 8, "depth": 1}))
    assert status == "finished"
    last = reports[max(reports)]
    for split in ("train", "test"):
        keys = [key for key in METRICS.always_defined() if key != "uniform_threshold"]
        assert all(math.isfinite(last[f"{split}/{key}"]) for key in keys), (head, split)
    assert last["train/acc"] > 0.5


def test_the_metrics_read_each_heads_own_bias_free_scores():
    torch.manual_seed(1)
    h = torch.randn(7, 6, dtype=torch.float64)
    for name in ("linear", "cosine", "fixed_etf"):
        head = CLASSIFIERS.make(name=name).build(feature_dim=6, num_classes=4).double()
        ctx = Context.from_head(head)
        z = ctx.bias_free(h)
        assert torch.allclose(z, head.bias_free(h)), name
        assert torch.allclose(z - ctx.full_bias, head(h).detach()), name
    cosine = CLASSIFIERS.make(name="cosine", scale=3.0).build(6, 4).double()
    assert torch.allclose(
        Context.from_head(cosine).weight.norm(dim=1), torch.full((4,), 3.0, dtype=torch.float64)
    )  # W as the metrics see it
