"""Open-set recognition: the test samples of the classes data.open_set held out of training must be
rejected, the known ones accepted and classified. The BCE papers' argument for a unified threshold
is exactly this task (Li et al., "Rediscovering BCE Loss for Uniform Classification", 2024): one
threshold that accepts a known class and rejects the rest."""

from __future__ import annotations

from trainers.evaluations.inputs import EvalInputs
from trainers.evaluations.registry import evaluation
from trainers.evaluations.roc import auroc, oscr

KEYS = ("auroc_msp", "auroc_max_score", "auroc_margin", "oscr_msp", "oscr_margin", "threshold_acc")


@evaluation("open_set", keys=KEYS, needs="data.open_set")
def open_set(inputs: EvalInputs) -> dict[str, float]:
    """AUROC of known against unknown test samples by three scores: the maximum softmax probability
    max_k softmax(S)_k (Hendrycks & Gimpel, ICLR 2017), the maximum bias-free score max_k Z_k, and
    the margin to the learned threshold max_k S_k = max_k (Z_k - b_k); OSCR (Dhamija et al.,
    NeurIPS 2018) by the softmax probability and by the margin; and the accuracy of the one learned
    threshold, the bias: [known: argmax_k S_k = y and max_k S_k > 0] and [unknown: max_k S_k <= 0]
    over all test samples. Without a bias the margin is the maximum score and the threshold 0."""
    import torch

    known, unknown = inputs.test, inputs.unknown
    correct = known.scores.argmax(dim=1) == known.labels.to(known.scores.device)

    def scores(side):
        return {
            "msp": torch.softmax(side.scores, dim=1).max(dim=1).values,
            "max_score": side.bias_free.max(dim=1).values,
            "margin": side.scores.max(dim=1).values,
        }

    inside, outside = scores(known), scores(unknown)
    out = {f"auroc_{name}": auroc(inside[name], outside[name]) for name in inside}
    out.update({f"oscr_{name}": oscr(inside[name], correct, outside[name]) for name in ("msp", "margin")})
    accepted_right = int((correct & (inside["margin"] > 0)).sum())
    rejected = int((outside["margin"] <= 0).sum())
    out["threshold_acc"] = (accepted_right + rejected) / (known.scores.shape[0] + unknown.scores.shape[0])
    return out
