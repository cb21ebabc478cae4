"""The dot-regression loss for a fixed simplex-ETF classifier (Yang, Chen, Li, Xie, Lin, Tao, "Inducing
Neural Collapse in Imbalanced Learning: Do We Really Need a Learnable Classifier at the End of Deep
Neural Network?", NeurIPS 2022), which the BCE vs CE paper cites for fixed classifiers."""

from __future__ import annotations

from typing import ClassVar, Literal

from trainers.losses.base import Loss


class DotRegression(Loss):
    """L = (1/2) sum_k q_k (w_k . h - ||w_k|| ||h||)^2 / ||h||, both norms held constant: each
    feature is pulled to point along its class's fixed ETF vector, and nothing pushes the other
    classes (the classifier is already the simplex ETF). The paper's eq. 14 (E_W = ||w_k||,
    E_H = ||h||), as its official code (NeuralCollapseApplications/ImbalancedLearning, methods.py
    `dot_loss` with `reg_dot_loss`) computes it. Written through the margin seam: s'_k =
    (z_k - ||w_k|| ||h||) / sqrt(||h||) - b_k and L = (1/2) sum_k q_k s'_k^2, so the paper's loss is
    the one with classifier.bias: none (with a bias, b_y shifts the regression target). Defined on
    classifier.name fixed_etf only.
    """

    name: Literal["dot_regression"] = "dot_regression"
    heads: ClassVar[tuple[str, ...]] = ("fixed_etf",)

    def with_margin(self, bias_free, targets, scale, geometry=None):
        if geometry is None or geometry.norms is None or geometry.row_norms is None:
            raise ValueError("loss.name 'dot_regression' reads the feature and row norms: pass the batch's Geometry")
        h = geometry.norms.detach().clamp_min(1e-8).unsqueeze(1)  # the official clamp of ||h||
        w = geometry.row_norms.detach().unsqueeze(0)
        return (bias_free - w * h) / h.sqrt()

    def per_sample(self, scores, targets):
        return 0.5 * (targets * scores**2).sum(dim=1)
