"""The training split as a trial sees it: `data.val_fraction` carved out as a validation split,
then `data.sample_size` samples per class and `data.label_noise`, both pure functions of (the data, the settings,
data.split_seed), so every
trial of a sweep, and a trial resumed on another node, trains on the same samples and labels.

The noise models are those of the noisy-label literature (Patrini et al., CVPR 2017; Zhang and
Sabuncu, NeurIPS 2018; Ma et al., ICML 2020): exactly round(rate * n) samples are corrupted (per
class for the asymmetric map), so the noise rate is what the sweep file says, not a draw around it.
"""

from __future__ import annotations

import torch

# CIFAR-10's asymmetric map (Patrini et al. 2017): truck -> automobile, bird -> airplane,
# deer -> horse, cat <-> dog; the other classes keep their labels.
CIFAR10_MAP = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}
CIFAR10_SOURCES = ("cifar10",)


def class_map(num_classes: int, dataset: str) -> dict[int, int]:
    """Where the asymmetric noise sends each class it corrupts."""
    if dataset in CIFAR10_SOURCES and num_classes == 10:
        return dict(CIFAR10_MAP)
    return {k: (k + 1) % num_classes for k in range(num_classes)}


def per_class_subset(labels: torch.Tensor, num_classes: int, n: int, seed: int) -> torch.Tensor:
    """Sorted indices of n samples of every class, drawn uniformly with `seed`."""
    gen = torch.Generator().manual_seed(seed)
    keep = []
    for k in range(num_classes):
        members = (labels == k).nonzero().squeeze(1)
        if len(members) < n:
            raise ValueError(
                f"data.sample_size: {n} samples per class, but class {k} has only {len(members)} (allowed: 1 to "
                f"{smallest_class(labels, num_classes)})"
            )
        keep.append(members[torch.randperm(len(members), generator=gen)[:n]])
    return torch.cat(keep).sort().values


def stratified_split(
    labels: torch.Tensor, num_classes: int, fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, val): sorted indices, round(fraction * n_k) of each class k drawn uniformly with `seed`
    into val (at least one per class, and at least one left to train on), the rest into train.
    Stratified, so a class's share of the validation split is its share of the training split."""
    gen = torch.Generator().manual_seed(seed)
    val = []
    for k in range(num_classes):
        members = (labels == k).nonzero().squeeze(1)
        if len(members) < 2:
            raise ValueError(
                f"data.val_fraction: class {k} has {len(members)} training samples; a validation split needs at "
                "least 2 per class"
            )
        n = min(max(round(fraction * len(members)), 1), len(members) - 1)
        val.append(members[torch.randperm(len(members), generator=gen)[:n]])
    held = torch.cat(val).sort().values
    keep = torch.ones(len(labels), dtype=torch.bool)
    keep[held] = False
    return keep.nonzero().squeeze(1), held


def smallest_class(labels: torch.Tensor, num_classes: int) -> int:
    return int(torch.bincount(labels, minlength=num_classes).min())


def noisy_labels(
    labels: torch.Tensor, num_classes: int, kind: str, rate: float, seed: int, dataset: str = ""
) -> torch.Tensor:
    """The corrupted copy of `labels` (CPU, long):

    symmetric: round(rate N) samples, chosen uniformly, get a label drawn uniformly from the K - 1
    wrong ones; asymmetric: round(rate n_k) samples of each class k that the class map moves get
    map(k); random: round(rate N) samples get a label drawn uniformly from all K (so about 1/K of
    them keep theirs).
    """
    gen = torch.Generator().manual_seed(seed)
    labels = labels.cpu().long()
    out = labels.clone()
    n = labels.numel()
    if kind == "asymmetric":
        for source, target in class_map(num_classes, dataset).items():
            members = (labels == source).nonzero().squeeze(1)
            chosen = members[torch.randperm(len(members), generator=gen)[: round(rate * len(members))]]
            out[chosen] = target
        return out
    chosen = torch.randperm(n, generator=gen)[: round(rate * n)]
    if kind == "symmetric":  # an offset of 1..K-1 from the true label: uniform over the wrong ones
        offset = torch.randint(1, num_classes, (len(chosen),), generator=gen)
        out[chosen] = (labels[chosen] + offset) % num_classes
    elif kind == "random":
        out[chosen] = torch.randint(0, num_classes, (len(chosen),), generator=gen)
    else:
        raise ValueError(f"data.label_noise.kind: unknown {kind!r} (allowed: symmetric, asymmetric, random)")
    return out


def prepare_train(data, cfg):
    """`data` with the classes of cfg.open_set held out (their test samples the `unknown` split),
    then cfg.val_fraction of the training split carved out as the `val` split (clean labels,
    before the rest: the same validation samples whatever the subset or the noise),
    then the training split cut to cfg.sample_size per class, then its labels corrupted by
    cfg.label_noise; the clean labels stay beside the noisy ones (`train_labels(clean=True)`)."""
    seed = cfg.split_seed
    if getattr(cfg, "open_set", None) is not None:  # first: every later draw sees only the known classes
        if not hasattr(data, "with_open_set"):
            raise ValueError(f"data.open_set: {cfg.name} is streamed from disk; open-set needs data held in memory")
        data = data.with_open_set(cfg.open_set.classes(data.num_classes))
    if getattr(cfg, "val_fraction", None):
        # A seed of its own (+2): independent of the subset (+0) and the noise (+1) drawn below.
        data = data.with_val(*stratified_split(data.train_labels(), data.num_classes, cfg.val_fraction, seed + 2))
    if cfg.sample_size is not None:
        data = data.train_subset(per_class_subset(data.train_labels(), data.num_classes, cfg.sample_size, seed))
    noise = cfg.label_noise
    if noise is not None and noise.rate > 0:
        source = getattr(cfg, "source", cfg.name)
        # A seed of its own for the noise: the subset above and the noise are independent draws.
        data = data.with_train_labels(
            noisy_labels(data.train_labels(), data.num_classes, noise.kind, noise.rate, seed + 1, source)
        )
    return data
