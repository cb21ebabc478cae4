"""The losses that see more than (scores, targets): margin losses on a cosine head (CosFace,
ArcFace, SphereFace2) and long-tail losses that read the training split's class counts (logit
adjustment, balanced softmax, LDAM), each against an outside implementation or an independent
transcription of its paper's (or official code's) formula."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning.losses import ArcFaceLoss, CosFaceLoss

from trainers.config import TrialConfig
from trainers.heads import CLASSIFIERS
from trainers.losses import LOSSES, soft_targets

K, D, N = 5, 6, 40
COUNTS = (400, 120, 40, 12, 4)  # a long tail, imbalance factor 100
SCALE = 16.0

MARGIN_CASES = [
    ("cosface", {"margin": 0.35}),
    ("cosface", {"margin": 0.0}),
    ("arcface", {"margin": 0.5}),
    ("arcface", {"margin": 0.5, "easy_margin": True}),
    ("arcface", {"margin": 1.2}),
    ("sphereface2", {}),
    ("sphereface2", {"lambda": 0.5, "r": 30.0, "m": 0.2, "t": 2.0}),
]
COUNT_CASES = [
    ("logit_adjusted", {"tau": 1.0}),
    ("logit_adjusted", {"tau": 0.5}),
    ("balanced_softmax", {}),
    ("ldam", {"max_margin": 0.5, "scale": 1.0}),
    ("ldam", {"max_margin": 0.5, "scale": 30.0}),
]
CASES = MARGIN_CASES + COUNT_CASES


def features_and_weight(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(N, D, generator=g, dtype=torch.float64)
    w = torch.randn(K, D, generator=g, dtype=torch.float64)
    labels = torch.arange(N) % K
    h[:4] = -w[labels[:4]] + 0.05 * torch.randn(
        4, D, generator=g, dtype=torch.float64
    )  # theta_y near pi: past ArcFace's pi - m
    return h, w, labels


def cosine_scores(h, w, scale=SCALE):
    return CLASSIFIERS.make(name="cosine", scale=scale).bias_free(w, torch.tensor(scale, dtype=torch.float64), h)


def make(name, params, smoothing=0.0):
    return LOSSES.make(name=name, label_smoothing=smoothing, **params).with_class_counts(COUNTS)


def train_value(loss, z, bias, q, scale=SCALE):
    """What the training step computes: the margin on the bias-free scores, then the loss."""
    return loss(loss.margined(z, bias, q, torch.tensor(scale, dtype=z.dtype)), q)


def test_cosface_equals_pytorch_metric_learning():
    h, w, labels = features_and_weight()
    for margin in (0.0, 0.35):
        ours = train_value(
            make("cosface", {"margin": margin}), cosine_scores(h, w), None, soft_targets(labels, K, dtype=torch.float64)
        )
        theirs = CosFaceLoss(num_classes=K, embedding_size=D, margin=margin, scale=SCALE)
        theirs.W.data = w.T.clone()
        assert ours.item() == pytest.approx(theirs(h, labels).item(), rel=1e-12)


@pytest.mark.parametrize("margin", [0.2, 0.5, 1.2])
def test_arcface_equals_pytorch_metric_learning_past_pi_minus_m_too(margin):
    h, w, labels = features_and_weight()
    z = cosine_scores(h, w)
    theta = torch.acos(z[torch.arange(N), labels] / SCALE)
    assert (theta > math.pi - margin).any() and (theta < math.pi - margin).any()  # both branches
    ours = train_value(make("arcface", {"margin": margin}), z, None, soft_targets(labels, K, dtype=torch.float64))
    theirs = ArcFaceLoss(num_classes=K, embedding_size=D, margin=math.degrees(margin), scale=SCALE)
    theirs.W.data = w.T.clone()
    assert ours.item() == pytest.approx(theirs(h, labels).item(), rel=1e-9)


def test_arcface_easy_margin_moves_only_targets_within_ninety_degrees():
    h, w, labels = features_and_weight()
    z = cosine_scores(h, w)
    q = soft_targets(labels, K, dtype=torch.float64)
    moved = make("arcface", {"margin": 0.5, "easy_margin": True}).with_margin(
        z, q, torch.tensor(SCALE, dtype=torch.float64)
    )
    for i in range(N):
        for k in range(K):
            c = z[i, k].item() / SCALE
            want = SCALE * math.cos(math.acos(c) + 0.5) if k == labels[i] and c > 0 else z[i, k].item()
            assert moved[i, k].item() == pytest.approx(want, rel=1e-9, abs=1e-9)


def sphereface2_official(h, w, labels, b, lam, r, m, t):
    """OpenSphere's SphereFace2-C forward (its `lw` = 1): BCE with logits r (g(cos) -+ m) + b'
    where the code's b' is ours with the sign flipped (the paper subtracts it)."""
    cos = F.normalize(h, dim=1) @ F.normalize(w, dim=1).T
    one_hot = F.one_hot(labels, K).to(h.dtype)
    g = 2.0 * ((cos + 1.0) / 2.0) ** t - 1.0 - m * (2.0 * one_hot - 1.0)
    logits = r * g + (-b)
    weight = (lam * one_hot + (1.0 - lam) * (1.0 - one_hot)) * K / r
    return F.binary_cross_entropy_with_logits(logits, one_hot, weight=weight)


@pytest.mark.parametrize(
    ("params", "official"),
    [({}, (0.7, 40.0, 0.4, 3.0)), ({"lambda": 0.5, "r": 30.0, "m": 0.2, "t": 2.0}, (0.5, 30.0, 0.2, 2.0))],
)
def test_sphereface2_equals_the_official_forward_and_keeps_its_gradient(params, official):
    h, w, labels = features_and_weight()
    loss = make("sphereface2", params)
    assert (loss.lambda_, loss.r, loss.m, loss.t) == official
    b = torch.tensor([-5.0], dtype=torch.float64)  # one unified bias, as the paper's
    q = soft_targets(labels, K, dtype=torch.float64)
    hh = h.clone().requires_grad_(True)
    ours = train_value(loss, cosine_scores(hh, w), b, q)
    # rel 1e-10: r (cos + (g - cos)) rounds differently from r g (the detach trick)
    assert ours.item() == pytest.approx(sphereface2_official(h, w, labels, b, *official).item(), rel=1e-10)
    # The official code's gradient: g and m detached, as if the logits were r cos - b.
    (grad,) = torch.autograd.grad(ours, hh)
    hp = h.clone().requires_grad_(True)
    lam, r, _, _ = official
    cos = cosine_scores(hp, w) / SCALE
    logits = (
        r * cos
        + (loss.with_margin(cosine_scores(h, w), q, torch.tensor(SCALE, dtype=torch.float64)) - r * cos).detach()
        - b
    )
    plain = (lam * q * F.softplus(-logits) + (1 - lam) * (1 - q) * F.softplus(logits)).sum(1).mean() / r
    (want,) = torch.autograd.grad(plain, hp)
    assert torch.allclose(grad, want, rtol=1e-10, atol=1e-14)


def test_long_tail_losses_against_their_formulas():
    g = torch.Generator().manual_seed(1)
    s = torch.randn(N, K, generator=g, dtype=torch.float64) * 3
    labels = torch.arange(N) % K
    q = soft_targets(labels, K, dtype=torch.float64)
    n = torch.tensor(COUNTS, dtype=torch.float64)
    for tau in (1.0, 0.5):
        want = F.cross_entropy(s + tau * torch.log(n / n.sum()), labels)
        assert make("logit_adjusted", {"tau": tau})(s, q).item() == pytest.approx(want.item(), rel=1e-12)
    want = -(torch.log(n[labels] * s.exp()[torch.arange(N), labels] / (n * s.exp()).sum(1))).mean()  # eq. 4 literally
    assert make("balanced_softmax", {})(s, q).item() == pytest.approx(want.item(), rel=1e-12)
    assert make("balanced_softmax", {})(s, q).item() == pytest.approx(
        make("logit_adjusted", {"tau": 1.0})(s, q).item(), rel=1e-12
    )
    for scale in (1.0, 30.0):
        # The official LDAMLoss: m_j = 1 / n_j^(1/4) scaled so the largest is max_m, subtracted from the target's logit,
        # times s.
        m_list = 1.0 / torch.sqrt(torch.sqrt(n))
        m_list = m_list * (0.5 / m_list.max())
        output = torch.where(F.one_hot(labels, K).bool(), s - m_list[labels][:, None], s)
        want = F.cross_entropy(scale * output, labels)
        assert make("ldam", {"max_margin": 0.5, "scale": scale})(s, q).item() == pytest.approx(want.item(), rel=1e-12)


def test_a_loss_without_its_class_counts_says_so():
    with pytest.raises(RuntimeError, match="ldam.*class counts"):
        LOSSES.make(name="ldam")(torch.zeros(2, K), soft_targets(torch.tensor([0, 1]), K))


def bias_free_extremes(scale=SCALE):
    """A cosine head's z at and near its edges (cos = +-1, 0) and bias values far on either side."""
    cos = torch.tensor(
        [
            [1.0, -1.0, 0.0, 0.5, -0.99999],
            [-1.0, 1.0, 0.3, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [-1.0, -1.0, -1.0, -1.0, -1.0],
        ]
    )
    return scale * cos, torch.tensor([1000.0, -1000.0, 0.0, 30.0, -30.0])


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize(("name", "params"), CASES)
def test_finite_values_and_gradients_at_extremes(name, params, smoothing):
    """fp32, as training runs: cosines at +-1 (acos's infinite slope), biases of +-1000."""
    loss = make(name, params, smoothing)
    z, b = bias_free_extremes()
    q = soft_targets(torch.tensor([0, 0, 2, 4]), K, smoothing)
    for bias in (b, None, torch.tensor([1000.0])):
        zz = z.clone().requires_grad_(True)
        bb = None if bias is None else bias.clone().requires_grad_(True)
        value = loss.per_sample(loss.margined(zz, bb, q, torch.tensor(SCALE)), q)
        assert torch.isfinite(value).all()
        grads = torch.autograd.grad(value.sum(), [zz] + ([bb] if bb is not None else []))
        assert all(torch.isfinite(g).all() for g in grads)
        assert torch.isfinite(loss.bias_gradient(loss.margined(z, bias, q, torch.tensor(SCALE)), q)).all()


@pytest.mark.parametrize(("name", "params"), CASES)
def test_bias_gradient_is_minus_the_score_gradient_after_the_margin(name, params):
    """The bias_residual metric's dL_i/db_k = -dL_i/ds'_k (the margin acts on z, before the bias),
    against central differences on b."""
    loss = make(name, params, 0.1)
    h, w, labels = features_and_weight()
    z = cosine_scores(h[:6], w)
    q = soft_targets(labels[:6], K, 0.1, dtype=torch.float64)
    b = torch.linspace(-1.0, 1.0, K, dtype=torch.float64)
    scale = torch.tensor(SCALE, dtype=torch.float64)
    grad = loss.bias_gradient(loss.margined(z, b, q, scale), q)
    step = 1e-6
    for k in range(K):
        e = torch.zeros(K, dtype=torch.float64)
        e[k] = step
        numeric = (
            loss.per_sample(loss.margined(z, b + e, q, scale), q)
            - loss.per_sample(loss.margined(z, b - e, q, scale), q)
        ) / (2 * step)
        assert torch.allclose(grad[:, k], numeric, rtol=1e-5, atol=1e-6), (name, k)


@pytest.mark.parametrize("loss", ["cosface", "arcface", "sphereface2"])
@pytest.mark.parametrize("head", ["linear", "fixed_etf"])
def test_a_margin_loss_on_a_head_without_cosines_is_a_config_error(loss, head):
    with pytest.raises(
        ValueError, match=rf"loss.name '{loss}' acts on cosines; classifier.name '{head}' has none \(use cosine\)"
    ):
        TrialConfig.model_validate({"loss": {"name": loss}, "classifier": {"name": head}})


@pytest.mark.parametrize("loss", [{"name": "logit_adjusted", "tau": 1.0}, {"name": "ldam", "max_margin": 0.5}])
def test_a_cifar100_lt_trial_trains_with_the_real_class_counts(tmp_path, monkeypatch, loss):
    """One epoch of ResNet32 on CIFAR-100-LT files written here: every time the loss reads its
    class counts (training steps and the metrics pass), they are the long-tailed split's."""
    from datafiles import write_cifar100

    from trainers.loop import run_trial
    from trainers.losses import Loss

    write_cifar100(tmp_path, train_per_class=20, test_per_class=1)
    received: list[tuple[int, ...]] = []
    read = Loss.class_counts

    def spy(self, like):
        received.append(self._class_counts)
        return read(self, like)

    monkeypatch.setattr(Loss, "class_counts", spy)
    config = TrialConfig.model_validate(
        {
            "data": {"name": "cifar100_lt", "root": str(tmp_path), "imbalance_factor": 10},
            "model": {"name": "resnet32"},
            "loss": loss,
            "train": {"epochs": 1, "batch_size": 128, "augment": "da1", "device": "cpu"},
        }
    )
    reports = []
    assert run_trial(config, lambda epoch, metrics: reports.append(metrics)) == "finished"
    profile = tuple(int(20 * 10 ** (-k / 99)) for k in range(100))  # n_k = floor(n_max IF^(-k/(K-1)))
    assert len(received) >= 7 and set(received) == {profile}  # 7 training steps (849 samples), then the metrics
    assert math.isfinite(reports[-1]["train/loss"]) and math.isfinite(reports[-1]["test/loss"])


def test_an_empty_class_under_a_loss_that_reads_class_counts_is_bad_input(tmp_path):
    """CIFAR-100 files with 5 images a class at imbalance factor 10 leave the last classes none
    (floor(5 / 10) = 0): logit_adjusted would be NaN on every batch, so the preflight refuses it,
    naming the class and the setting; CE, which reads no counts, trains on the same data."""
    from datafiles import write_cifar100

    from orchestrator.errors import BadInput
    from orchestrator.running.preflight import check_inputs

    write_cifar100(tmp_path, train_per_class=5, test_per_class=1)

    def config(loss: str) -> TrialConfig:
        data = {"name": "cifar100_lt", "root": str(tmp_path), "imbalance_factor": 10}
        return TrialConfig.model_validate({"data": data, "model": {"name": "resnet32"}, "loss": {"name": loss}})

    with pytest.raises(BadInput) as caught:
        check_inputs([config("ce"), config("logit_adjusted")], "lt.yaml")
    message = str(caught.value)
    assert message.startswith("lt.yaml: loss.name 'logit_adjusted': class ")
    assert "has no training sample at data.imbalance_factor 10" in message and "classes empty" in message
    first_empty = next(k for k in range(100) if int(5 * 10 ** (-k / 99)) == 0)
    assert f"class {first_empty} of data.name 'cifar100_lt'" in message
    check_inputs([config("ce")], "lt.yaml")  # no class counts read: nothing to refuse


def test_cifar100_lt_imbalance_factor_stops_where_a_class_would_be_empty():
    """CIFAR-100 has 500 training images a class: past an imbalance factor of 500 the last keeps none."""
    assert (
        TrialConfig.model_validate({"data": {"name": "cifar100_lt", "imbalance_factor": 500}}).data.imbalance_factor
        == 500
    )
    with pytest.raises(ValueError, match="less than or equal to 500"):
        TrialConfig.model_validate({"data": {"name": "cifar100_lt", "imbalance_factor": 501}})


@pytest.mark.parametrize("margin", [0.2, 0.5, 1.2])
def test_arcface_is_exact_near_angle_zero_and_finite_at_it(margin):
    """cos(theta + m) at angles down to what an fp64 cosine holds (the old clamp of the cosine at
    1 - 1e-7 shifted every angle below 4.5e-4 rad), and a finite gradient at cos = 1 exactly (fp32 and fp64)."""
    loss = make("arcface", {"margin": margin})
    thetas = [1e-8, 1e-6, 1e-4, 4.5e-4, 1e-3, 0.3]
    cos = torch.tensor([[math.cos(t)] + [0.0] * (K - 1) for t in thetas], dtype=torch.float64)
    q = soft_targets(torch.zeros(len(thetas), dtype=torch.long), K, dtype=torch.float64)
    moved = loss.with_margin(SCALE * cos, q, torch.tensor(SCALE, dtype=torch.float64))
    for i, t in enumerate(thetas):
        # the angle the fp64 cosine holds (1 - c is exact near 1; at 1e-8 rad c rounds to 1, angle 0)
        held = 2.0 * math.asin(math.sqrt((1.0 - cos[i, 0].item()) / 2.0))
        assert held == pytest.approx(t, rel=1e-4) or t < 1e-7
        assert moved[i, 0].item() == pytest.approx(SCALE * math.cos(held + margin), rel=1e-12, abs=1e-12), t
    for dtype in (torch.float32, torch.float64):
        z = (SCALE * torch.tensor([[1.0, 0.0, -1.0, 0.5, 0.0]], dtype=dtype)).requires_grad_(True)
        one = soft_targets(torch.tensor([0]), K, dtype=dtype)
        value = loss(loss.margined(z, None, one, torch.tensor(SCALE, dtype=dtype)), one)
        (grad,) = torch.autograd.grad(value, z)
        assert torch.isfinite(value) and torch.isfinite(grad).all()
        want = -F.log_softmax(
            torch.tensor([SCALE * math.cos(margin), 0.0, -SCALE, SCALE / 2, 0.0], dtype=torch.float64), 0
        )[0]
        assert value.item() == pytest.approx(want.item(), rel=1e-3 if dtype == torch.float32 else 1e-12)


def test_sphereface2_starts_its_bias_where_opensphere_does(tmp_path):
    """OpenSphere's init (ydwen/opensphere model/head/sphereface2.py at f220a2c, SphereFace2-C), transcribed: its b is
    added to the logits, ncsweep's is subtracted, so ours is minus it."""

    def official(alpha, r, m, t, num_class):
        z = alpha / ((1.0 - alpha) * (num_class - 1.0))
        ay = r * (2.0 * 0.5**t - 1.0 - m)
        ai = r * (2.0 * 0.5**t - 1.0 + m)
        temp = (1.0 - z) ** 2 + 4.0 * z * math.exp(ay - ai)
        return math.log(2.0 * z) - ai - math.log(1.0 - z + math.sqrt(temp))

    assert make("sphereface2", {}).initial_bias(10) == pytest.approx(-official(0.7, 40.0, 0.4, 3.0, 10), rel=1e-15)
    assert make("sphereface2", {}).initial_bias(10) == pytest.approx(-12.95, abs=5e-3)
    params = {"lambda": 0.5, "r": 30.0, "m": 0.2, "t": 2.0}
    assert make("sphereface2", params).initial_bias(100) == pytest.approx(-official(0.5, 30.0, 0.2, 2.0, 100))
    assert make("sphereface2", {"bias_init": "head"}).initial_bias(10) is None
    from trainers.setup import prepare

    base = {
        "data": {"name": "synthetic", "num_classes": 10, "dim": 8, "train_per_class": 4, "test_per_class": 2},
        "model": {"name": "mlp", "width": 16, "depth": 1},
        "classifier": {"name": "cosine", "bias": "unified"},
    }
    balanced = prepare(TrialConfig.model_validate({**base, "loss": {"name": "sphereface2"}}))
    assert balanced.model.head.bias.tolist() == pytest.approx([-12.950177875501316])
    own = prepare(TrialConfig.model_validate({**base, "loss": {"name": "sphereface2", "bias_init": "head"}}))
    assert abs(own.model.head.bias.item()) < 1.0  # the head's U(-1/sqrt(d), 1/sqrt(d))


def test_sce_and_nce_rce_share_one_convention_for_a():
    """Both default to the official codes' A = ln 1e-4; the SCE paper's A = -4 is one key away in both."""
    sce, nce_rce = LOSSES.make(name="sce"), LOSSES.make(name="nce_rce")
    assert sce.A == nce_rce.A == pytest.approx(math.log(1e-4))
    s = torch.tensor([[2.0, -1.0, 0.5, 0.0, 1.0]], dtype=torch.float64)
    q = soft_targets(torch.tensor([1]), K, dtype=torch.float64)
    p_y = s.softmax(1)[0, 1].item()
    for name in ("sce", "nce_rce"):
        paper = LOSSES.make(name=name, A=-4.0)
        # one-hot q: RCE = -A (1 - p_y), so the two conventions differ by beta (1 - p_y)(4 + ln 1e-4)
        moved = paper.per_sample(s, q).item() - LOSSES.make(name=name).per_sample(s, q).item()
        assert moved == pytest.approx(paper.beta * (1 - p_y) * (4.0 + math.log(1e-4)), rel=1e-12)
