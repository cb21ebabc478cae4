"""The outside data of an out-of-distribution test (metrics.ood): another dataset's test split,
through its own normalization, then brought to the trial's input shape: channels averaged to one
or one repeated to three, sides resized with antialiasing (bilinear). Vector data must have the
trial's dimension. Kept per process for the trials that run there (a small LRU cache)."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

CHUNK = 4096


def to_shape(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Normalized inputs (B x C x H x W, or B x D) in `shape` (C', H', W') or (D',)."""
    if x.dim() == 2 or len(shape) == 1:
        if tuple(x.shape[1:]) != tuple(shape):
            raise ValueError(f"metrics.ood.dataset: vectors of {tuple(x.shape[1:])}, the trial's are {tuple(shape)}")
        return x
    channels, side = shape[0], tuple(shape[1:])
    if x.shape[1] != channels:
        if channels == 1:
            x = x.mean(dim=1, keepdim=True)
        elif x.shape[1] == 1:
            x = x.expand(-1, channels, -1, -1)
        else:
            raise ValueError(f"metrics.ood.dataset: {x.shape[1]} channels cannot become {channels}")
    if tuple(x.shape[2:]) != side:
        x = F.interpolate(x, size=side, mode="bilinear", antialias=True, align_corners=False)
    return x.contiguous()


@functools.lru_cache(maxsize=2)
def _outside(dataset_json: str, shape: tuple[int, ...], max_samples: int | None, seed: int) -> torch.Tensor:
    from trainers.config import OODConfig

    data = OODConfig.model_validate_json(dataset_json).dataset.load()
    parts = [to_shape(x.float().cpu(), shape) for x, _ in data.eval_batches("test", CHUNK, max_samples, seed)]
    return torch.cat(parts)


def outside_inputs(ood, shape: tuple[int, ...], max_samples: int | None = None, seed: int = 0) -> torch.Tensor:
    """The test split of ood.dataset (an OODConfig) as model inputs of `shape`, on the CPU (at most
    max_samples, a fixed subset drawn with `seed`)."""
    return _outside(ood.model_dump_json(), tuple(shape), max_samples, seed)
