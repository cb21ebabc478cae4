"""DA1 of the paper (random crop 32 with padding 4, horizontal flip p = 0.5) as batched tensor ops.

torchvision's RandomCrop/RandomHorizontalFlip work one PIL image at a time; here the whole batch is
padded once and every sample's crop is one gather, on whatever device the batch is on (the
airbench approach). Zero padding on uint8 images is the black border torchvision's RandomCrop adds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop_flip(x: torch.Tensor, padding: int) -> torch.Tensor:
    """x (N, C, H, W) -> same shape: each sample a random HxW window of its zero-padded copy,
    flipped left-right with probability 1/2. Randomness from torch's (seeded) generator."""
    n, _, h, w = x.shape
    device = x.device
    if padding:
        padded = F.pad(x, (padding, padding, padding, padding))
        dy = torch.randint(0, 2 * padding + 1, (n,), device=device)
        dx = torch.randint(0, 2 * padding + 1, (n,), device=device)
        rows = (dy[:, None] + torch.arange(h, device=device))[:, None, :, None]  # N,1,H,1
        cols = (dx[:, None] + torch.arange(w, device=device))[:, None, None, :]  # N,1,1,W
        batch = torch.arange(n, device=device)[:, None, None, None]
        channel = torch.arange(x.shape[1], device=device)[None, :, None, None]
        x = padded[batch, channel, rows, cols]
    flip = torch.rand(n, device=device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)
