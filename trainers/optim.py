"""Optimizers and learning-rate schedules by name. The schedule is a pure per-epoch factor so it
can be tested on its own and resumed at any epoch."""

from __future__ import annotations

import math

import torch

from trainers.config import ScheduleConfig, TrialConfig


def build_optimizer(params, config: TrialConfig) -> torch.optim.Optimizer:
    """`optim.weight_decay` applies to every parameter, classifier included (PAPER.md section 3,
    classification settings); the NC settings set it to 0 and use lambda_w/lambda_b/lambda_h."""
    o = config.optim
    if o.name == "sgd":
        return torch.optim.SGD(params, lr=config.effective_lr, momentum=o.momentum, weight_decay=o.weight_decay)
    if o.name == "adamw":  # decoupled decay
        return torch.optim.AdamW(params, lr=config.effective_lr, betas=o.betas, weight_decay=o.weight_decay)
    raise ValueError(f"unknown optimizer {o.name!r}")


def lr_factor(epoch: int, schedule: ScheduleConfig, epochs: int, base_lr: float = 1.0) -> float:
    """Multiplier of the base lr during 0-based `epoch`.

    step: gamma ** (number of milestones <= epoch); cosine: linear warmup over warmup_epochs, then
    f + (1 - f) 0.5 (1 + cos(pi * progress)) down towards the floor f = min_lr / base_lr at the
    last epoch (timm's CosineLRScheduler with lr_min, as the official code uses it); constant: 1.
    """
    if schedule.name == "step":
        return schedule.gamma ** sum(epoch >= m for m in schedule.milestones)
    if schedule.name == "cosine":
        if epoch < schedule.warmup_epochs:
            return (epoch + 1) / schedule.warmup_epochs
        span = max(1, epochs - schedule.warmup_epochs)
        floor = schedule.min_lr / base_lr
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * (epoch - schedule.warmup_epochs) / span))
    return 1.0


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrialConfig) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: lr_factor(epoch, config.schedule, config.train.epochs, config.effective_lr))
