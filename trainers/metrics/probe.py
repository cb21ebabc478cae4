"""Linear decodability of a layer: a ridge-regression probe fitted in closed form on the train
split's streamed statistics and scored on any split (Masarczyk et al., "The Tunnel Effect",
NeurIPS 2023, probe every layer the same way; Alain & Bengio 2016 introduced linear probes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainers.metrics.registry import sample_metric

if TYPE_CHECKING:
    import torch

    from trainers.metrics.split_pass import Batch, SplitStats

# lambda = PROBE_RIDGE * tr(S) / d, S the train split's centred scatter: a ridge relative to the
# features' own scale, so a layer's probe does not depend on how large its activations are.
PROBE_RIDGE = 1e-4


def ridge_probe(s: SplitStats) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mu, B, c): the least-squares fit of the one-hot labels on the features with an unpenalized
    intercept, B = (S + lambda I)^{-1} C with S = sum_i (h_i - mu)(h_i - mu)^T, C_k = n_k (mu_k - mu)
    and c_k = n_k / N; all from the split's counts, means and within-class scatter
    (S = S_W + sum_k n_k (mu_k - mu)(mu_k - mu)^T): no N x d features held."""
    import torch

    centred = s.means - s.mu_global
    scatter = s.within + centred.T @ (s.counts.unsqueeze(1) * centred)
    d = scatter.shape[0]
    ridge = PROBE_RIDGE * torch.trace(scatter) / d
    eye = torch.eye(d, dtype=scatter.dtype, device=scatter.device)
    weights = torch.linalg.solve(scatter + ridge.clamp_min(1e-300) * eye, (s.counts.unsqueeze(1) * centred).T)
    return s.mu_global, weights, s.counts / s.counts.sum()


@sample_metric("probe_acc", layers=True, second_pass=True)
def probe_acc(b: Batch) -> torch.Tensor:
    """mean_i [ argmax_k ((h_i - mu) B + c)_k = y_i ]: accuracy of a ridge probe of the one-hot labels
    fitted on the TRAIN split's features (closed form, lambda = 1e-4 tr(S)/d), at every layer
    (Masarczyk et al., NeurIPS 2023)."""
    mu, weights, intercept = b.train_stats.probe
    return ((b.features - mu) @ weights + intercept).argmax(dim=1) == b.labels
