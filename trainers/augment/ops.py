"""DA1 of the paper (random crop 32 with padding 4, horizontal flip p = 0.5, and for CIFAR-100 the
official code's RandomRotation(15)) as batched tensor ops.

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


def random_rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """x (N, C, H, W) -> same shape, each sample rotated about its centre by an angle drawn
    uniformly from [-degrees, degrees]: torchvision's RandomRotation (nearest neighbour, zero
    fill) for the whole batch as one grid_sample."""
    angles = (torch.rand(x.shape[0], device=x.device) * 2.0 - 1.0) * (degrees * torch.pi / 180.0)
    return rotate(x, angles)


def rotate(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Each sample of x (N, C, H, W) rotated counter-clockwise by its angle (radians, N) about the
    image centre, nearest neighbour, zeros outside; uint8 stays uint8 (nearest copies pixels)."""
    cos, sin = angles.cos(), angles.sin()
    zero = torch.zeros_like(cos)
    # affine_grid maps each output pixel to the input point it reads, in [-1, 1] units per axis:
    # the inverse rotation, with the aspect ratio folded in so that the turn is by angle in pixels.
    h, w = x.shape[-2:]
    theta = torch.stack([torch.stack([cos, -sin * h / w, zero], 1), torch.stack([sin * w / h, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x.float(), grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return out.round().to(x.dtype) if not x.is_floating_point() else out
