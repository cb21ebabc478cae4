"""Every registered loss against an independent computation: a per-sample, per-class loop in plain
Python `math` written from docs/science.md#losses, the limits each loss reduces to, and the bias
gradient (autograd in `Loss.bias_gradient`) against the CE/BCE closed forms and finite differences."""

import math

import pytest
import torch

from trainers.losses import LOSSES, soft_targets

K = 4
SCORES = torch.tensor([[2.0, -1.0, 0.5, 0.0], [-3.0, 4.0, 1.0, -0.5], [0.3, 0.2, -0.1, 2.5]], dtype=torch.float64)
LABELS = torch.tensor([0, 1, 2])


def softmax(row):
    top = max(row)
    e = [math.exp(v - top) for v in row]
    return [v / sum(e) for v in e]


def sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


def bce_term(s, q):
    return q * math.log(1 + math.exp(-s)) + (1 - q) * math.log(1 + math.exp(s))


def reference(name, params, s, q):
    """L for one sample: the formulas of docs/science.md#losses, one class at a time."""
    p, kk = softmax(s), len(s)
    ce = -sum(qk * math.log(pk) for qk, pk in zip(q, p))
    if name == "ce":
        return ce
    if name == "bce":
        return sum(bce_term(sk, qk) for sk, qk in zip(s, q))
    if name == "focal":
        return -sum(qk * (1 - pk) ** params["gamma"] * math.log(pk) for qk, pk in zip(q, p))
    if name == "sigmoid_focal":
        total = 0.0
        for sk, qk in zip(s, q):
            pt = qk * sigmoid(sk) + (1 - qk) * (1 - sigmoid(sk))
            at = params["alpha"] * qk + (1 - params["alpha"]) * (1 - qk) if params["alpha"] >= 0 else 1.0
            total += at * (1 - pt) ** params["gamma"] * bce_term(sk, qk)
        return total
    if name == "mse":
        return sum((params["k"] if qk == max(q) else 1.0) * (sk - params["m"] * qk) ** 2 for sk, qk in zip(s, q))
    if name == "mae":
        return sum(abs(sigmoid(sk) - qk) for sk, qk in zip(s, q))
    if name == "mae_mse":
        return sum(abs(sigmoid(sk) - qk) + (sigmoid(sk) - qk) ** 2 for sk, qk in zip(s, q))
    if name == "encouraging":
        tau = params["log_end"]

        def bonus(pk):
            return math.log(1 - pk) if pk <= tau else math.log(1 - tau) - (pk - tau) / (1 - tau)

        return sum(qk * (-math.log(pk) + bonus(pk)) for qk, pk in zip(q, p))
    if name == "poly1":
        return ce + params["epsilon"] * (1 - sum(qk * pk for qk, pk in zip(q, p)))
    if name == "zloss":
        mean = sum(s) / kk
        std = math.sqrt(sum((v - mean) ** 2 for v in s) / kk)
        a, b = params["a"], params["b"]
        return sum(qk * math.log1p(math.exp(a * (b - (sk - mean) / std))) / a for sk, qk in zip(s, q))
    if name == "squentropy":
        return ce + sum((1 - qk) * sk**2 for sk, qk in zip(s, q)) / (kk - 1)
    nce = sum(qk * math.log(pk) for qk, pk in zip(q, p)) / sum(math.log(pk) for pk in p)

    def rce(log_zero):
        return -sum(pk * (math.log(qk) if qk > 0 and math.log(qk) > log_zero else log_zero) for qk, pk in zip(q, p))

    if name == "gce":
        return sum(qk * (1 - pk ** params["q"]) / params["q"] for qk, pk in zip(q, p))
    if name == "sce":
        return params["alpha"] * ce + params["beta"] * rce(params["A"])
    if name == "nce_rce":
        return params["alpha"] * nce + params["beta"] * rce(math.log(1e-4))
    if name == "nce_mae":
        return params["alpha"] * nce + params["beta"] * (1 - sum(qk * pk for qk, pk in zip(q, p)))
    raise KeyError(name)


CASES = [
    ("ce", {}),
    ("bce", {}),
    ("focal", {"gamma": 2.0}),
    ("focal", {"gamma": 0.5}),
    ("sigmoid_focal", {"gamma": 2.0, "alpha": 0.25}),
    ("sigmoid_focal", {"gamma": 1.0, "alpha": -1.0}),
    ("sigmoid_focal", {"gamma": 0.5, "alpha": 1.0}),
    ("mse", {"k": 1.0, "m": 1.0}),
    ("mse", {"k": 3.0, "m": 5.0}),
    ("mae", {}),
    ("mae_mse", {}),
    ("encouraging", {"log_end": 0.75}),
    ("encouraging", {"log_end": 0.3}),
    ("encouraging", {"log_end": 1.0}),
    ("poly1", {"epsilon": 1.0}),
    ("poly1", {"epsilon": -0.5}),
    ("zloss", {"a": 1.0, "b": 3.0}),
    ("zloss", {"a": 0.5, "b": 1.0}),
    ("squentropy", {}),
    ("gce", {"q": 0.7}),
    ("gce", {"q": 0.1}),
    ("gce", {"q": 1.0}),
    ("sce", {"alpha": 0.1, "beta": 1.0, "A": -4.0}),
    ("sce", {"alpha": 1.0, "beta": 0.5, "A": -9.0}),
    ("nce_rce", {"alpha": 1.0, "beta": 1.0}),
    ("nce_rce", {"alpha": 10.0, "beta": 0.1}),
    ("nce_mae", {"alpha": 1.0, "beta": 1.0}),
]


def test_every_registered_loss_is_tested_here_or_with_its_head_and_counts():
    from test_losses_families import CASES as FAMILIES
    from test_losses_margin_longtail import CASES as MORE

    here, more, families = {n for n, _ in CASES}, {n for n, _ in MORE}, {case[0] for case in FAMILIES}
    assert here | more | families == set(LOSSES.names())
    assert not here & more and not here & families and not more & families


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize(("name", "params"), CASES)
def test_loss_matches_the_formula_computed_class_by_class(name, params, smoothing):
    loss = LOSSES.make(name=name, label_smoothing=smoothing, **params)
    q = soft_targets(LABELS, K, smoothing, dtype=torch.float64)
    got = loss.per_sample(SCORES, q)
    want = [reference(name, params, s.tolist(), qi.tolist()) for s, qi in zip(SCORES, q)]
    assert got.shape == (len(LABELS),)
    assert got.tolist() == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert loss(SCORES, q).item() == pytest.approx(sum(want) / len(want), rel=1e-12)


@pytest.mark.parametrize(
    ("name", "params", "same_as"),
    [
        ("focal", {"gamma": 0.0}, "ce"),
        ("poly1", {"epsilon": 0.0}, "ce"),
        ("sigmoid_focal", {"gamma": 0.0, "alpha": -1.0}, "bce"),
        ("sce", {"alpha": 1.0, "beta": 0.0}, "ce"),
    ],
)
def test_named_limits(name, params, same_as):
    q = soft_targets(LABELS, K, 0.1, dtype=torch.float64)
    got = LOSSES.make(name=name, **params).per_sample(SCORES, q)
    assert torch.allclose(got, LOSSES.make(name=same_as).per_sample(SCORES, q), rtol=1e-13, atol=1e-13)


def test_noise_robust_losses_reduce_to_their_named_limits():
    """GCE: q -> 0 is CE, q = 1 is MAE on the softmax (1 - p_y = half of sum_k |p_k - e_yk|);
    RCE on one-hot labels is -A (1 - p_y); NCE is CE over its sum across all labels, in [0, 1]."""
    q = soft_targets(LABELS, K, dtype=torch.float64)
    p = SCORES.softmax(dim=1)
    ce = LOSSES.make(name="ce").per_sample(SCORES, q)
    assert torch.allclose(LOSSES.make(name="gce", q=1e-10).per_sample(SCORES, q), ce, rtol=1e-8)
    half_l1 = 0.5 * (p - q).abs().sum(dim=1)
    assert torch.allclose(LOSSES.make(name="gce", q=1.0).per_sample(SCORES, q), half_l1, rtol=1e-13)
    assert torch.allclose(LOSSES.make(name="nce_mae", alpha=0.0, beta=1.0).per_sample(SCORES, q), half_l1, rtol=1e-13)
    rce = LOSSES.make(name="sce", alpha=0.0, beta=1.0, A=-4.0).per_sample(SCORES, q)
    assert torch.allclose(rce, 4.0 * (1 - (p * q).sum(dim=1)), rtol=1e-13)
    nce = LOSSES.make(name="nce_mae", alpha=1.0, beta=0.0).per_sample(SCORES, q)
    all_labels = torch.stack(
        [
            LOSSES.make(name="ce").per_sample(SCORES, soft_targets(torch.full((3,), k), K, dtype=torch.float64))
            for k in range(K)
        ],
        1,
    )
    assert torch.allclose(nce, ce / all_labels.sum(dim=1), rtol=1e-13) and bool(((nce > 0) & (nce < 1)).all())


def test_encouraging_bonus_is_continuous_at_log_end_and_mse_is_zero_at_its_targets():
    loss = LOSSES.make(name="encouraging", log_end=0.75)
    # two classes with p_0 just below and above 0.75: the losses differ by a tiny amount only
    near = torch.tensor([[math.log(3) - 1e-7, 0.0], [math.log(3) + 1e-7, 0.0]], dtype=torch.float64)
    q = soft_targets(torch.tensor([0, 0]), 2, dtype=torch.float64)
    values = loss.per_sample(near, q)
    assert abs(values[0] - values[1]) < 1e-6
    mse = LOSSES.make(name="mse", k=2.0, m=3.0)
    assert mse.per_sample(3.0 * q, q).abs().max() == 0


def test_zloss_is_shift_and_scale_invariant():
    loss = LOSSES.make(name="zloss")
    q = soft_targets(LABELS, K, dtype=torch.float64)
    base = loss.per_sample(SCORES, q)
    assert torch.allclose(loss.per_sample(3.0 * SCORES + 7.0, q), base, rtol=1e-12)


@pytest.mark.parametrize("name", ["ce", "bce"])
def test_autograd_bias_gradient_equals_the_closed_form(name):
    loss = LOSSES.make(name=name)
    q = soft_targets(LABELS, K, 0.1, dtype=torch.float64)
    closed = loss.bias_gradient(SCORES, q)
    autograd = type(loss).__mro__[1].bias_gradient(loss, SCORES, q)  # Loss.bias_gradient, no override
    assert torch.allclose(closed, autograd, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("name", "params"), CASES)
def test_bias_gradient_matches_finite_differences(name, params):
    """dL_i/db_k for s = z - b, by central differences on b, for every loss."""
    loss = LOSSES.make(name=name, **params)
    q = soft_targets(LABELS, K, 0.1, dtype=torch.float64)
    grad = loss.bias_gradient(SCORES, q)
    h = 1e-6
    for k in range(K):
        step = torch.zeros(K, dtype=torch.float64)
        step[k] = h
        numeric = (loss.per_sample(SCORES - step, q) - loss.per_sample(SCORES + step, q)) / (2 * h)
        assert torch.allclose(grad[:, k], numeric, rtol=1e-5, atol=1e-6), (name, k)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize(("name", "params"), CASES)
def test_losses_and_gradients_stay_finite_at_extreme_scores(name, params, smoothing):
    """fp32, as training runs: scores far on either side of their label (a sigmoid saturates past
    about 17), and a row of equal scores (zero features with a unified or no bias)."""
    loss = LOSSES.make(name=name, label_smoothing=smoothing, **params)
    scores = torch.tensor(
        [[1000.0, -1000.0, 0.0, 5.0], [-800.0, 900.0, 1.0, 0.0], [30.0, -30.0, -25.0, -20.0], [0.0, 0.0, 0.0, 0.0]],
        dtype=torch.float32,
    )
    q = soft_targets(torch.tensor([0, 0, 0, 2]), K, smoothing)
    assert torch.isfinite(loss.per_sample(scores, q)).all()
    assert torch.isfinite(loss.bias_gradient(scores, q)).all()


def test_sigmoid_focal_takes_torchvisions_alphas_only():
    for alpha in (0.0, 0.25, 1.0, -1.0):
        assert LOSSES.make(name="sigmoid_focal", alpha=alpha).alpha == alpha
    for alpha in (-0.5, 1.5, -2.0):
        with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\], or -1"):
            LOSSES.make(name="sigmoid_focal", alpha=alpha)
