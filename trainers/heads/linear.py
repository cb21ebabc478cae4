"""The paper's linear classifier: s_k = w_k . h - b_k (docs/science.md#scores-and-the-sign-of-the-bias)."""

from __future__ import annotations

from typing import Literal

from trainers.heads.base import Head


class Linear(Head):
    """s_k = w_k . h - b_k: W with torch's Linear init, the bias subtracted (the paper's)."""

    name: Literal["linear"] = "linear"

    def bias_free(self, weight, scale, features):
        return features @ weight.T
