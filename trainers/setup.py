"""Everything a trial trains with, built from its config: the data on the device, the model (in
its memory layout, and compiled if asked), the optimizer, the schedule and the data-order
generator. The training loop and `ncsweep bench` build it the same way, so the bench measures
exactly what a trial runs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from trainers.accel import autocast_dtype, resolve_device, use_channels_last
from trainers.config import TrialConfig
from trainers.data import Dataset, load_dataset
from trainers.losses import Loss
from trainers.models import Classifier, build_model
from trainers.schedules import build_scheduler


@dataclass
class Trainee:
    config: TrialConfig
    device: torch.device
    loss: Loss  # config.loss, with the training split's class counts when it needs them
    data: Dataset
    model: Classifier
    forward: torch.nn.Module  # the model, or its torch.compile'd wrapper (same parameters)
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator  # the order of the training samples
    mixup: object | None  # timm's Mixup for DA2, else None
    amp_dtype: torch.dtype | None  # bf16 under autocast, or None for fp32
    channels_last: bool
    tap: object | None = None  # the metrics pass's view of metrics.layers (trainers/layers.py), or None


def prepare(config: TrialConfig, data: Dataset | None = None) -> Trainee:
    """Seed, load (or take `data`, already on the device) and build. The metrics pass and the
    checkpoints use `model`; only the training forward goes through `forward`, so torch.compile
    (train.compile) changes speed, not what is measured or saved."""
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)  # timm's Mixup draws from numpy's global generator
    device = resolve_device(config.train.device)
    data = data if data is not None else load_dataset(config.data).to(device)
    model = build_model(config.model, config.classifier, data.input_shape, data.num_classes).to(device)
    start = config.loss.initial_bias(data.num_classes)
    if start is not None and model.head.bias is not None:  # the loss's own start (SphereFace2, UniFace)
        with torch.no_grad():
            model.head.bias.fill_(start)
    channels_last = use_channels_last(config.train, device, data.input_shape)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = config.optim.build(model.parameters(), config.effective_lr)
    return Trainee(
        config=config,
        device=device,
        loss=bind_loss(config.loss, data),
        data=data,
        model=model,
        forward=torch.compile(model) if config.train.compile else model,
        optimizer=optimizer,
        scheduler=build_scheduler(optimizer, config.schedule, config.train.epochs, config.effective_lr),
        generator=torch.Generator().manual_seed(config.seed),
        mixup=config.augmentation.mixup(config, data.num_classes),
        amp_dtype=autocast_dtype(config.train, device),
        channels_last=channels_last,
        tap=config.model.layer_tap(model.backbone, config.metrics.layers) if config.metrics.layers else None,
    )


def bind_loss(loss: Loss, data: Dataset) -> Loss:
    """The loss as a trial computes it: with the training split's per-class counts filled in when
    it needs them (the long-tail losses), never from the sweep file."""
    return loss.with_class_counts(data.class_counts().tolist()) if loss.needs_class_counts else loss
