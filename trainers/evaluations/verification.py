"""Pair verification on a split's features: is a pair of samples of one class, by the cosine
similarity of their features against one threshold?"""

from __future__ import annotations

from trainers.evaluations.inputs import EvalInputs
from trainers.evaluations.registry import evaluation

MAX_PAIRS = 1_000_000  # positive pairs used (a seeded sample past this), and as many negatives
FARS = (1e-2, 1e-3)


def sample_pairs(labels, count: int, positive: bool, seed: int):
    """Up to `count` distinct index pairs (i < j) of samples of one class (positive) or of two
    classes (negative), drawn uniformly with a seeded generator: all positive pairs when they are
    at most `count`. Drawn in rounds of candidate pairs so that nothing N x N is held."""
    import torch

    n = labels.numel()
    g = torch.Generator().manual_seed(seed)
    if positive:
        sizes = torch.bincount(labels)
        if int((sizes * (sizes - 1) // 2).sum()) <= count:
            pairs = []
            for c in torch.nonzero(sizes > 1).flatten().tolist():
                members = torch.nonzero(labels == c).flatten()
                i, j = torch.triu_indices(members.numel(), members.numel(), 1, device=labels.device)
                pairs.append(torch.stack([members[i], members[j]], dim=1))
            return torch.cat(pairs) if pairs else torch.zeros(0, 2, dtype=torch.long)
    cpu, codes = labels.cpu(), torch.zeros(0, dtype=torch.long)
    for _ in range(64):  # rounds of candidates until `count` distinct pairs (or all there are)
        i = torch.randint(n, (2 * count,), generator=g)
        j = torch.randint(n, (2 * count,), generator=g)
        keep = (i != j) & ((cpu[i] == cpu[j]) == positive)
        lo, hi = torch.minimum(i[keep], j[keep]), torch.maximum(i[keep], j[keep])
        codes = torch.unique(torch.cat([codes, lo * n + hi]))  # pair (i, j) as one number
        if codes.numel() >= count:
            break
    if codes.numel() > count:  # a uniform subset: unique() sorts, so cutting its head would not be
        codes = codes[torch.randperm(codes.numel(), generator=g)[:count]]
    return torch.stack([codes // n, codes % n], dim=1).to(labels.device)


PAIR_ELEMENTS = 2**23  # feature values gathered per chunk of pairs: 64 MB of float64 per side


def pair_similarities(gallery, pairs, chunk: int | None = None):
    """cos(h_i, h_j) of each pair, of unit-norm features, in chunks of pairs (gathering both rows of
    a chunk costs 2 x chunk x d values: PAIR_ELEMENTS per side by default, 16,384 pairs at d = 512)."""
    import torch

    chunk = chunk or max(1, PAIR_ELEMENTS // max(gallery.shape[1], 1))
    out = [
        (gallery[pairs[s : s + chunk, 0]] * gallery[pairs[s : s + chunk, 1]]).sum(dim=1)
        for s in range(0, len(pairs), chunk)
    ]
    return torch.cat(out) if out else gallery.new_zeros(0)


def tar_at_far(positive, negative, far: float) -> float:
    """The fraction of positive pairs above the lowest threshold t at which at most `far` of the
    negative pairs lie above t (TAR at FAR; t = the ceil(far M)+1-th largest negative similarity)."""
    import math

    import torch

    allowed = math.floor(far * negative.numel())
    if negative.numel() == 0 or positive.numel() == 0:
        return float("nan")
    top = torch.topk(negative, min(allowed + 1, negative.numel())).values
    threshold = top[-1] if allowed < negative.numel() else negative.min() - 1
    return float((positive > threshold).double().mean())


def best_accuracy(positive, negative) -> float:
    """max_t ( #[positive > t] + #[negative <= t] ) / (P + M): the accuracy of the best single
    threshold on these pairs (thresholds at every observed similarity, and below all)."""
    import torch

    scores = torch.cat([positive, negative])
    is_pos = torch.cat([torch.ones_like(positive), torch.zeros_like(negative)])
    order = torch.argsort(scores, stable=True)
    s, p = scores[order], is_pos[order]
    # threshold after the k lowest: negatives at or below it are right, positives above it are right
    neg_below = torch.cat([p.new_zeros(1), (1 - p).cumsum(0)])
    pos_above = p.sum() - torch.cat([p.new_zeros(1), p.cumsum(0)])
    last_of_tie = torch.cat([s[1:] != s[:-1], s.new_ones(1, dtype=torch.bool)])
    valid = torch.cat([torch.ones(1, dtype=torch.bool, device=s.device), last_of_tie])
    right = (neg_below + pos_above)[valid]
    return float(right.max() / scores.numel())


@evaluation("verification", keys=("tar_at_far_1e-2", "tar_at_far_1e-3", "best_accuracy"))
def verification(inputs: EvalInputs) -> dict[str, float]:
    """TAR@FAR = the share of same-class pairs whose cosine similarity passes the threshold that
    lets through at most FAR of the different-class pairs, at FAR 1e-2 and 1e-3; best_accuracy =
    the accuracy of the best single threshold on the pairs (as face verification reports them:
    Huang et al., Labeled Faces in the Wild, 2007; the IJB-B/C protocols). All positive pairs (a
    seeded sample of MAX_PAIRS past that) against a seeded sample of as many negative pairs."""
    return verify(inputs.test.features, inputs.test.labels, inputs.seed)


def verify(features, labels, seed: int = 0) -> dict[str, float]:
    """TAR at each FAR and the best threshold's accuracy on the pairs of `features` (see `verification`)."""
    import torch.nn.functional as F

    gallery = F.normalize(features.double(), dim=1)
    positive = pair_similarities(gallery, sample_pairs(labels, MAX_PAIRS, True, seed))
    negative = pair_similarities(gallery, sample_pairs(labels, max(positive.numel(), 1), False, seed + 1))
    out = {f"tar_at_far_{far:.0e}".replace("e-0", "e-"): tar_at_far(positive, negative, far) for far in FARS}
    out["best_accuracy"] = best_accuracy(positive, negative) if positive.numel() and negative.numel() else float("nan")
    return out
