"""The loss families added for issue 29, each against an outside implementation: the `entmax`
package (sparsemax, 1.5-entmax, by their authors) and otherwise the official code's forward
transcribed here, with the repository and commit it was read at; values and gradients both."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from entmax import Entmax15Loss, SparsemaxLoss, entmax15, sparsemax

from trainers.config import TrialConfig
from trainers.heads import CLASSIFIERS
from trainers.losses import LOSSES, Geometry, soft_targets
from trainers.losses.entmax15 import entmax15 as our_entmax15
from trainers.losses.sparsemax import sparsemax as our_sparsemax

K, D, N = 5, 6, 40
SCALE = 16.0
F64 = torch.float64

# (name, keys, head): every loss of this file; the head is what its scores come from.
CASES = [
    ("taylor_ce", {"order": 2}, "linear"),
    ("taylor_ce", {"order": 6}, "linear"),
    ("dual_focal", {"gamma": 5.0}, "linear"),
    ("dual_focal", {"gamma": 1.0}, "linear"),
    ("asl", {}, "linear"),
    ("asl", {"gamma_pos": 1.0, "gamma_neg": 2.0, "clip": 0.0}, "linear"),
    ("ldr", {}, "linear"),
    ("ldr", {"threshold": 0.1, "lambda": 3.0}, "linear"),
    ("sparsemax", {}, "linear"),
    ("entmax15", {}, "linear"),
    ("uniface", {}, "cosine"),
    ("uniface", {"margin": 0.2, "negative_weight": 0.5}, "cosine"),
    ("adaface", {}, "cosine"),
    ("elasticface", {}, "cosine"),
    ("elasticface", {"kind": "cos", "std": 0.05}, "cosine"),
    ("dot_regression", {}, "fixed_etf"),
    ("harmonic", {}, "harmonic"),
]


def data(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(N, D, generator=g, dtype=F64) * 3.0
    w = torch.randn(K, D, generator=g, dtype=F64)
    labels = torch.arange(N) % K
    return h, w, labels


def scores(s, q, loss, norms=None, rows=None, training=False, scale=SCALE):
    geometry = Geometry(norms, rows, training)
    return loss.margined(s, None, q, torch.tensor(scale, dtype=s.dtype), geometry)


def value_and_grad(fn, x):
    x = x.clone().requires_grad_(True)
    value = fn(x)
    (grad,) = torch.autograd.grad(value, x)
    return value.detach(), grad


def same(ours, theirs, x, rel=1e-10, atol=1e-12):
    (a, ga), (b, gb) = value_and_grad(ours, x), value_and_grad(theirs, x)
    assert a.item() == pytest.approx(b.item(), rel=rel, abs=atol)
    assert torch.allclose(ga, gb, rtol=rel, atol=atol), (ga - gb).abs().max()


# --- sparse softmax losses: the entmax package ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "theirs", "projection"), [("sparsemax", SparsemaxLoss, sparsemax), ("entmax15", Entmax15Loss, entmax15)]
)
def test_sparse_losses_equal_the_entmax_package(name, theirs, projection):
    h, w, labels = data()
    s = h @ w.T
    ours_p = our_sparsemax(s) if name == "sparsemax" else our_entmax15(s)
    assert torch.allclose(ours_p, projection(s, dim=1), atol=1e-12)
    assert (ours_p == 0).any()  # sparse: some classes get exactly zero probability
    loss = LOSSES.make(name=name)
    q = soft_targets(labels, K, dtype=F64)
    same(lambda x: loss(x, q), lambda x: theirs(reduction="elementwise_mean")(x, labels), s)


# --- label-noise and calibration losses: transcriptions -------------------------------------------


def test_taylor_ce_is_the_truncated_series_of_ce():
    """Feng et al. 2020, eq. 8 (no package; the formula): t = 1 is MAE's 1 - p_y, large t reaches CE."""
    h, w, labels = data()
    s = h @ w.T
    q = soft_targets(labels, K, dtype=F64)
    p_y = s.softmax(1)[torch.arange(N), labels]
    for t in (1, 2, 6):
        want = sum((1 - p_y) ** i / i for i in range(1, t + 1)).mean()
        assert LOSSES.make(name="taylor_ce", order=t)(s, q).item() == pytest.approx(want.item(), rel=1e-13)
    ce = F.cross_entropy(s / 8, labels)  # p_y away from 0, where the series converges quickly
    assert LOSSES.make(name="taylor_ce", order=400)(s / 8, q).item() == pytest.approx(ce.item(), rel=1e-6)


def dual_focal_official(logits, target, gamma):
    """DualFocalLoss.forward of the paper's code (Linwei-Tao/Dual-Focal-Loss-for-Calibration; the
    copy read here, in the code index, carries no commit), with size_average."""
    target = target.view(-1, 1)
    logp_k = F.log_softmax(logits, dim=1)
    softmax_logits = logp_k.exp()
    logp_k = logp_k.gather(1, target).view(-1)
    p_k = logp_k.exp()
    p_j_mask = torch.lt(softmax_logits, p_k.reshape(p_k.shape[0], 1)) * 1
    p_j = torch.topk(p_j_mask * softmax_logits, 1)[0].squeeze()
    return (-1 * (1 - p_k + p_j) ** gamma * logp_k).mean()


@pytest.mark.parametrize("gamma", [5.0, 1.0, 0.0])
def test_dual_focal_equals_the_official_forward(gamma):
    h, w, labels = data()
    s = h @ w.T
    s[0, 1] = s[0, 2]  # a tie below the target: the strict `<` of the official mask
    q = soft_targets(labels, K, dtype=F64)
    loss = LOSSES.make(name="dual_focal", gamma=gamma)
    same(lambda x: loss(x, q), lambda x: dual_focal_official(x, labels, gamma), s)


def asl_official(x, y, gamma_neg, gamma_pos, clip, eps=1e-8):
    """AsymmetricLoss.forward (Alibaba-MIIL/ASL at 05b193d, src/loss_functions/losses.py)."""
    x_sigmoid = torch.sigmoid(x)
    xs_pos = x_sigmoid
    xs_neg = 1 - x_sigmoid
    if clip is not None and clip > 0:
        xs_neg = (xs_neg + clip).clamp(max=1)
    los_pos = y * torch.log(xs_pos.clamp(min=eps))
    los_neg = (1 - y) * torch.log(xs_neg.clamp(min=eps))
    loss = los_pos + los_neg
    if gamma_neg > 0 or gamma_pos > 0:
        pt = xs_pos * y + xs_neg * (1 - y)
        one_sided_gamma = gamma_pos * y + gamma_neg * (1 - y)
        loss *= torch.pow(1 - pt, one_sided_gamma)
    return -loss.sum()


@pytest.mark.parametrize(
    ("keys", "official"), [({}, (4.0, 0.0, 0.05)), ({"gamma_pos": 1.0, "gamma_neg": 2.0, "clip": 0.0}, (2.0, 1.0, 0.0))]
)
def test_asl_equals_the_official_forward(keys, official):
    h, w, labels = data()
    s = h @ w.T / 2
    q = soft_targets(labels, K, dtype=F64)
    loss = LOSSES.make(name="asl", **keys)
    # ours is the mean over samples of the class sum; the official code sums over both
    same(lambda x: loss(x, q) * N, lambda x: asl_official(x, q, *official), s, rel=1e-9)


def ldr_official(y_pred, y_true, threshold, lam):
    """LDRLoss_V1.forward, the LDR-KL code released with the paper (LibAUC; the copy read here, in
    the code index, carries no commit), given one-hot y_true."""
    y_pred = F.softplus(y_pred)
    y_pred = y_pred / torch.mean(y_pred, dim=1, keepdim=True)
    diff_logits = threshold * (1 - y_true) + (y_pred - torch.sum(y_pred * y_true, dim=1, keepdim=True))
    diff_logits = diff_logits / lam
    max_diff = torch.max(diff_logits, dim=1, keepdim=True).values.detach()
    diff_logits = torch.exp(diff_logits - max_diff)
    return (lam * (torch.log(torch.mean(diff_logits, dim=1, keepdim=True)) + max_diff)).mean()


@pytest.mark.parametrize(("threshold", "lam"), [(2.0, 1.0), (0.1, 3.0)])
def test_ldr_equals_the_official_forward(threshold, lam):
    h, w, labels = data()
    s = h @ w.T
    q = soft_targets(labels, K, dtype=F64)
    loss = LOSSES.make(name="ldr", threshold=threshold, **{"lambda": lam})
    same(lambda x: loss(x, q), lambda x: ldr_official(x, q, threshold, lam), s)


# --- face losses on a cosine head: transcriptions ----------------------------------------------------


def cosines(h, w):
    return F.normalize(h, dim=1) @ F.normalize(w, dim=1).T


def test_uniface_equals_the_official_forward_and_starts_its_threshold_there():
    """Unified_Cross_Entropy_Loss.forward (CVI-SZU/UniFace at f866887, head.py), its one bias
    subtracted as ours is; its init log(10 K)."""
    h, w, labels = data()
    q = soft_targets(labels, K, dtype=F64)
    one_hot = F.one_hot(labels, K).bool()
    for m, lam, b in ((0.4, 1.0, math.log(10 * K)), (0.2, 0.5, -3.0)):
        loss = LOSSES.make(name="uniface", margin=m, negative_weight=lam)
        bias = torch.tensor([b], dtype=F64)

        def official(x, m=m, lam=lam, bias=bias):
            cos = cosines(x, w)
            p = SCALE * (cos - m) - bias
            n = SCALE * cos - bias
            p_loss = torch.log(1 + torch.exp(-p.clamp(min=-SCALE, max=SCALE)))
            n_loss = torch.log(1 + torch.exp(n.clamp(min=-SCALE, max=SCALE))) * lam
            return (one_hot * p_loss + (~one_hot) * n_loss).sum(dim=1).mean()

        def ours(x, loss=loss, bias=bias):
            z = SCALE * cosines(x, w)
            return loss(loss.margined(z, bias, q, torch.tensor(SCALE, dtype=F64)), q)

        same(ours, official, h, rel=1e-9)
    assert LOSSES.make(name="uniface").initial_bias(K) == pytest.approx(math.log(10 * K))
    assert LOSSES.make(name="uniface", bias_init="head").initial_bias(K) is None


def adaface_official(embeddings, norms, label, kernel, m, h, s, eps=1e-3):
    """AdaFace.forward (mk-minchul/AdaFace at 9cb9816, head.py) with t_alpha = 1 (its default),
    returning the logits; the caller takes softmax CE as the repository's training step does."""
    kernel_norm = F.normalize(kernel, dim=0)
    cosine = torch.mm(embeddings, kernel_norm).clamp(-1 + eps, 1 - eps)
    safe_norms = torch.clip(norms, min=0.001, max=100).clone().detach()
    mean, std = safe_norms.mean().detach(), safe_norms.std().detach()
    margin_scaler = torch.clip((safe_norms - mean) / (std + eps) * h, -1, 1)
    m_arc = torch.zeros(label.size()[0], cosine.size()[1], dtype=cosine.dtype)
    m_arc.scatter_(1, label.reshape(-1, 1), 1.0)
    m_arc = m_arc * (m * margin_scaler * -1)
    theta_m = torch.clip(cosine.acos() + m_arc, min=eps, max=math.pi - eps)
    cosine = theta_m.cos()
    m_cos = torch.zeros(label.size()[0], cosine.size()[1], dtype=cosine.dtype)
    m_cos.scatter_(1, label.reshape(-1, 1), 1.0)
    cosine = cosine - m_cos * (m + m * margin_scaler)
    return cosine * s


def test_adaface_equals_the_official_head_with_the_norms_of_its_features():
    h, w, labels = data()
    q = soft_targets(labels, K, dtype=F64)
    loss = LOSSES.make(name="adaface")

    def official(x):
        norms = x.norm(dim=1, keepdim=True)
        logits = adaface_official(x / norms, norms, labels, w.T, 0.4, 0.333, SCALE)
        return F.cross_entropy(logits, labels)

    def ours(x):
        return loss(scores(SCALE * cosines(x, w), q, loss, x.norm(dim=1), training=True), q)

    same(ours, official, h, rel=1e-9)
    with pytest.raises(ValueError, match="norms"):
        loss.margined(SCALE * cosines(h, w), None, q, torch.tensor(SCALE, dtype=F64))


@pytest.mark.parametrize("kind", ["arc", "cos"])
def test_elasticface_equals_the_official_head_given_the_same_generator(kind):
    """ElasticArcFace / ElasticCosFace.forward (fdbtrs/ElasticFace at 58e274d, utils/losses.py),
    each drawing its margins from torch's generator seeded alike; the metrics pass uses the mean."""
    h, w, labels = data()
    q = soft_targets(labels, K, dtype=F64)
    m, std = (0.5, 0.0125) if kind == "arc" else (0.35, 0.05)
    loss = LOSSES.make(name="elasticface", kind=kind, std=std)

    def official(x):
        cos_theta = cosines(x, w).clamp(-1, 1)
        margin = torch.normal(mean=m, std=std, size=(N, 1), dtype=F64)
        m_hot = torch.zeros(N, K, dtype=F64).scatter(1, labels[:, None], margin)
        logits = (cos_theta.acos() + m_hot).cos() * SCALE if kind == "arc" else (cos_theta - m_hot) * SCALE
        return F.cross_entropy(logits, labels)

    def ours(x):
        return loss(scores(SCALE * cosines(x, w), q, loss, training=True), q)

    torch.manual_seed(7)
    theirs = value_and_grad(official, h)
    torch.manual_seed(7)
    mine = value_and_grad(ours, h)
    assert mine[0].item() == pytest.approx(theirs[0].item(), rel=1e-9)
    assert torch.allclose(mine[1], theirs[1], rtol=1e-8, atol=1e-12)
    fixed = LOSSES.make(name={"arc": "arcface", "cos": "cosface"}[kind], margin=m)
    assert loss(scores(SCALE * cosines(h, w), q, loss), q).item() == pytest.approx(
        fixed(fixed.margined(SCALE * cosines(h, w), None, q, torch.tensor(SCALE, dtype=F64)), q).item(), rel=1e-12
    )


# --- fixed and distance classifiers ----------------------------------------------------------------


def test_dot_regression_equals_the_official_loss_on_the_fixed_etf():
    """dot_loss(..., criterion='reg_dot_loss') (NeuralCollapseApplications/ImbalancedLearning at
    d319ff0, methods.py, as train.py calls it): H_length the detached feature norms, cur_M = W^T."""
    h, _, labels = data()
    head = CLASSIFIERS.make(name="fixed_etf", scale=2.0, bias="none")
    weight = head.initial_weight(D, K).to(F64)
    q = soft_targets(labels, K, dtype=F64)
    loss = LOSSES.make(name="dot_regression")

    def official(feat):
        cur_m = weight.T
        h_length = torch.clamp(feat.detach().norm(dim=1), 1e-8)
        target = cur_m[:, labels].T
        dot = torch.bmm(feat.unsqueeze(1), target.unsqueeze(2)).view(-1)
        m_length = torch.sqrt(torch.sum(target**2, dim=1))
        return 0.5 * torch.mean((dot - m_length * h_length) ** 2 / h_length)

    def ours(feat):
        z = head.bias_free(weight, None, feat)
        return loss(scores(z, q, loss, feat.norm(dim=1), weight.norm(dim=1), training=True), q)

    same(ours, official, h)


def test_harmonic_loss_is_the_harmonic_max_of_distances_and_scale_invariant():
    """The paper's harmonic max p_k = d_k^-n / sum_j d_j^-n (Baek et al. 2025, eq. 2; no package),
    n = sqrt(d) by default; scaling features and centres together leaves it unchanged."""
    h, w, labels = data()
    q = soft_targets(labels, K, dtype=F64)
    loss = LOSSES.make(name="harmonic")
    for n in (None, 3.0):
        head = CLASSIFIERS.make(name="harmonic", exponent=n, bias="none")
        power = n if n is not None else math.sqrt(D)

        def reference(x, power=power):
            inverse = torch.cdist(x, w) ** -power
            return -torch.log(inverse / inverse.sum(1, keepdim=True))[torch.arange(N), labels].mean()

        same(lambda x, head=head: loss(head.bias_free(w, None, x), q), reference, h, rel=1e-9)
        big = loss(head.bias_free(7.0 * w, None, 7.0 * h), q).item()
        assert big == pytest.approx(loss(head.bias_free(w, None, h), q).item(), rel=1e-9)


@pytest.mark.parametrize(
    ("loss", "head"), [("dot_regression", "linear"), ("harmonic", "linear"), ("harmonic", "fixed_etf")]
)
def test_a_loss_on_a_head_it_is_not_defined_on_is_a_config_error(loss, head):
    with pytest.raises(ValueError, match=rf"loss.name '{loss}' is defined on classifier.name"):
        TrialConfig.model_validate({"loss": {"name": loss}, "classifier": {"name": head}})


# --- every loss of this file: extremes and the bias gradient ---------------------------------------


def head_scores(head_name, h, w, dtype=F64):
    """Bias-free scores of this head, and the Geometry the training step would pass."""
    head = CLASSIFIERS.make(name=head_name, **({"scale": SCALE} if head_name == "cosine" else {}))
    weight = head.initial_weight(D, K).to(dtype) if head_name == "fixed_etf" else w.to(dtype)
    scale = torch.tensor(SCALE, dtype=dtype) if head_name == "cosine" else None
    z = head.bias_free(weight, scale, h.to(dtype))
    return z, scale, Geometry(h.to(dtype).norm(dim=1), weight.norm(dim=1), training=False)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize(("name", "params", "head"), CASES)
def test_finite_values_and_gradients_at_extremes(name, params, head, smoothing):
    """fp32 as training runs: scores of +-1000 (+-1 cosines on a cosine head), biases of +-1000."""
    loss = LOSSES.make(name=name, label_smoothing=smoothing, **params)
    if head == "cosine":
        cos = torch.tensor([[1.0, -1.0, 0.0, 0.3, -0.3], [-1.0, 1.0, 1.0, -1.0, 0.0], [0.0] * 5, [1.0] * 5])
        z, scale = SCALE * cos, torch.tensor(SCALE)
    else:
        z = torch.tensor(
            [[1000.0, -1000.0, 0.0, 30.0, -30.0], [-1000.0, 1000.0, 1000.0, -1000.0, 0.0], [0.0] * 5, [5.0] * 5]
        )
        scale = None
    geometry = Geometry(torch.tensor([1e-3, 1.0, 50.0, 1e4]), torch.ones(K), training=True)
    q = soft_targets(torch.tensor([0, 0, 2, 4]), K, smoothing)
    for bias in (torch.tensor([1000.0, -1000.0, 0.0, 30.0, -30.0]), None, torch.tensor([1000.0])):
        zz = z.clone().requires_grad_(True)
        bb = None if bias is None else bias.clone().requires_grad_(True)
        value = loss.per_sample(loss.margined(zz, bb, q, scale, geometry), q)
        assert torch.isfinite(value).all(), value
        grads = torch.autograd.grad(value.sum(), [zz] + ([bb] if bb is not None else []))
        assert all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize(("name", "params", "head"), CASES)
def test_bias_gradient_matches_finite_differences(name, params, head):
    """The bias_residual metric's dL_i/db_k (autograd on s' = margin(z) - b) against central
    differences on b, at label smoothing 0.1 (every class in the loss)."""
    loss = LOSSES.make(name=name, label_smoothing=0.1, **params)
    h, w, labels = data()
    z, scale, geometry = head_scores(head, h[:6] / 3, w)
    q = soft_targets(labels[:6], K, 0.1, dtype=F64)
    b = torch.linspace(-1.0, 1.0, K, dtype=F64)
    grad = loss.bias_gradient(loss.margined(z, b, q, scale, geometry), q)
    step = 1e-6
    for k in range(K):
        e = torch.zeros(K, dtype=F64)
        e[k] = step
        numeric = (
            loss.per_sample(loss.margined(z, b + e, q, scale, geometry), q)
            - loss.per_sample(loss.margined(z, b - e, q, scale, geometry), q)
        ) / (2 * step)
        assert torch.allclose(grad[:, k], numeric, rtol=1e-5, atol=1e-6), (name, k)
