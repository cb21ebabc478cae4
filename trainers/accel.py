"""Where and how fast a trial computes: device, bf16 autocast and channels_last.

On an Ampere-or-newer GPU, bf16 autocast roughly doubles convnet throughput without a loss scaler
(bf16 has fp32's exponent range), and channels_last (NHWC) lets cuDNN pick its tensor-core kernels
without transposes. On a CPU neither pays off, so "auto" turns both on only on CUDA.
"""

from __future__ import annotations

import contextlib

import torch

from trainers.config import TrainConfig


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    """bf16 for training under autocast, or None for plain fp32."""
    if cfg.precision == "bf16":
        return torch.bfloat16
    if cfg.precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def use_channels_last(cfg: TrainConfig, device: torch.device, input_shape: tuple[int, ...]) -> bool:
    """NHWC only means something for image batches (C, H, W)."""
    if len(input_shape) != 3:
        return False
    return device.type == "cuda" if cfg.channels_last == "auto" else bool(cfg.channels_last)


def autocast(device: torch.device, dtype: torch.dtype | None):
    """The training forward's context: bf16 autocast, or nothing."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
