"""Retrieval on a split's features: each sample queries all the others by cosine similarity."""

from __future__ import annotations

from trainers.evaluations.inputs import EvalInputs
from trainers.evaluations.registry import evaluation

QUERY_CHUNK = 1024  # queries per block at most: a block's similarities are QUERY_CHUNK x N, never N x N
BLOCK_ELEMENTS = 2**25  # and at most this many similarities per block (256 MB of float64): 335 queries at N = 100,000


@evaluation("retrieval", keys=("recall_at_1", "map_at_r"))
def retrieval(inputs: EvalInputs) -> dict[str, float]:
    """recall@1 = mean_i [ y of i's nearest other sample = y_i ]; mAP@R = mean_i (1/R_i) sum_{k<=R_i}
    P_i(k) [the k-th nearest shares y_i], R_i the number of other samples of i's class and P_i(k)
    the precision of i's k nearest, by cosine similarity, the query left out of its own results
    (Musgrave, Belongie, Lim, "A Metric Learning Reality Check", ECCV 2020; pytorch-metric-learning's
    AccuracyCalculator `precision_at_1` and `mean_average_precision_at_r`). Samples alone in
    their class have no R and are left out of mAP@R. Queries go in blocks of QUERY_CHUNK (fewer at large N)."""
    return recall_and_map(inputs.test.features, inputs.test.labels)


def recall_and_map(features, labels) -> dict[str, float]:
    """recall@1 and mAP@R of every sample querying the others (see `retrieval`)."""
    import torch
    import torch.nn.functional as F

    gallery = F.normalize(features.double(), dim=1)
    n = gallery.shape[0]
    counts = torch.bincount(labels)
    relevant = counts[labels] - 1  # R_i
    depth = int(relevant.max().clamp_min(1))
    hits_at_1 = average_precision = 0.0
    with_r = int((relevant > 0).sum())
    ranks = torch.arange(1, depth + 1, device=gallery.device, dtype=gallery.dtype)
    rows_per_block = max(1, min(QUERY_CHUNK, BLOCK_ELEMENTS // n))
    for start in range(0, n, rows_per_block):
        block = slice(start, min(start + rows_per_block, n))
        sims = gallery[block] @ gallery.T
        rows = torch.arange(sims.shape[0], device=sims.device)
        sims[rows, rows + start] = -float("inf")  # not its own result
        order = sims.topk(min(depth, n - 1), dim=1).indices
        same = (labels[order] == labels[block].unsqueeze(1)).to(gallery.dtype)
        hits_at_1 += float(same[:, 0].sum())
        r = relevant[block].to(gallery.dtype).unsqueeze(1)
        within = (ranks[: same.shape[1]].unsqueeze(0) <= r).to(gallery.dtype)
        precision = same.cumsum(dim=1) / ranks[: same.shape[1]]
        ap = (precision * same * within).sum(dim=1) / r.squeeze(1).clamp_min(1)
        average_precision += float(ap[relevant[block] > 0].sum())
    return {
        "recall_at_1": hits_at_1 / n,
        "map_at_r": average_precision / with_r if with_r else float("nan"),
    }
