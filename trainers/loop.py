"""One trial: config -> data -> model -> epochs -> metrics, reported through a callback.

Nothing here knows about Ray or MLflow: `run_trial(config, report)` works from a notebook.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import torch

from trainers import state as train_state
from trainers.accel import autocast
from trainers.augment.mixup import mix
from trainers.config import TrialConfig
from trainers.evaluate import evaluate
from trainers.losses import Geometry, soft_targets
from trainers.models import Classifier
from trainers.report import CHECKPOINT, DISTRIBUTIONS, DIVERGED, FINISHED, Report  # noqa: F401 - re-exported
from trainers.setup import Trainee, prepare
from trainers.usage import peak_mem_mb, reset_peak_memory


def regularized_objective(
    config: TrialConfig, model: Classifier, features: torch.Tensor, data_loss: torch.Tensor
) -> torch.Tensor:
    """mean_batch L + lambda_w/2 ||W||_F^2 + lambda_b/2 ||b||^2 + lambda_h/2 sum_{i in batch} ||h_i||^2.

    The feature term is a *sum* over the batch, as in the official code (docs/science.md#regularization), so
    its weight grows with the batch size.
    """
    reg = config.regularization
    head = model.head
    objective = data_loss
    if reg.lambda_w:
        objective = objective + 0.5 * reg.lambda_w * head.weight.square().sum()
    if reg.lambda_b and head.bias is not None:
        objective = objective + 0.5 * reg.lambda_b * head.bias.square().sum()
    if reg.lambda_h:
        objective = objective + 0.5 * reg.lambda_h * features.square().sum()
    return objective


def prepared_batches(t: Trainee) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(inputs, soft targets) of one pass over a random permutation of the training set:
    DA1 (inside `train_batches`, batched) -> normalize -> memory layout -> DA2 (mixup/cutmix, soft
    targets with its smoothing) or plain targets with `loss.label_smoothing`."""
    config = t.config
    augmentation = config.augmentation
    crop, rotate = augmentation.crop_padding(config), augmentation.rotate(config)
    for x, y in t.data.train_batches(config.train.batch_size, t.generator, crop, rotate):
        if y.numel() < 2:  # batch norm cannot normalize a single sample
            continue
        x = t.data.normalize(x)
        if t.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if t.mixup is not None:
            yield mix(t.mixup, x, y)
        else:
            yield x, soft_targets(y, t.data.num_classes, config.loss.label_smoothing)


def train_step(t: Trainee, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """One optimizer step on a batch; returns the batch's data loss (a device tensor, not synced).
    Under bf16 autocast only the forward runs in bf16; the loss and the regularizers are in fp32."""
    with autocast(x.device, t.amp_dtype):
        features, scores = t.forward(x)
    features, scores = features.float(), scores.float()
    if t.loss.has_margin:  # a margin moves the target's bias-free score: s' = margin(z) - b
        head = t.model.head
        geometry = Geometry(features.norm(dim=1), head.weight.norm(dim=1), training=True)
        scores = t.loss.margined(head.bias_free(features), head.bias, targets, head.scale, geometry)
    data_loss = t.loss(scores, targets)
    objective = regularized_objective(t.config, t.model, features, data_loss)
    t.optimizer.zero_grad(set_to_none=True)
    objective.backward()
    t.optimizer.step()
    return data_loss.detach()


def train_epoch(t: Trainee) -> torch.Tensor:
    """One pass over the training set; returns the mean batch loss as a device tensor (one sync
    per epoch instead of one per step)."""
    t.model.train()
    total, steps = None, 0
    for x, targets in prepared_batches(t):
        loss = train_step(t, x, targets)
        total = loss if total is None else total + loss
        steps += 1
    return total / steps if steps else torch.tensor(math.nan)


def run_trial(config: TrialConfig, report: Report, checkpoint_every: int = 0, resume_from: dict | None = None) -> str:
    """Train one trial, calling `report(epoch, metrics)` after every epoch (1-based).

    With `checkpoint_every` > 0, every that many epochs and at the last one the report also holds
    CHECKPOINT (the training state). `resume_from` (such a state) continues after its epoch: the
    epochs already done are neither trained nor reported again.

    Every epoch reports `optim/lr`, `optim/batch_loss`, `time/epoch_s`, `time/train_images_per_s`
    (training only, the metrics pass excluded) and `sys/peak_mem_mb` (trainers/usage.py); every `metrics.every` epochs
    and at the
    last one also `<split>/<metric>`. A non-finite training loss stops the trial: its last report
    carries `diverged = 1.0` and the return value is "diverged"; otherwise "finished". The last
    epoch's report also holds DISTRIBUTIONS (final bias and score samples).
    """
    t = prepare(config)
    model, optimizer, scheduler, generator = t.model, t.optimizer, t.scheduler, t.generator
    done = train_state.restore(resume_from, model, optimizer, scheduler, generator) if resume_from else 0
    epochs = config.train.epochs
    device = next(model.parameters()).device
    reset_peak_memory(device)
    for epoch in range(done + 1, epochs + 1):
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        batch_loss = train_epoch(t).item()  # .item() syncs: the time below is the training's own
        trained_s = time.perf_counter() - started
        scheduler.step()
        metrics = {
            "optim/lr": lr,
            "optim/batch_loss": batch_loss,
            "time/train_images_per_s": t.data.train_size / trained_s,
        }
        if not math.isfinite(batch_loss):
            report(epoch, {**metrics, "diverged": 1.0})
            return DIVERGED
        if epoch % config.metrics.every == 0 or epoch == epochs:
            metrics.update(
                evaluate(
                    config, model, t.data, final=epoch == epochs, channels_last=t.channels_last, tap=t.tap, loss=t.loss
                )
            )
        metrics["time/epoch_s"] = time.perf_counter() - started
        metrics["sys/peak_mem_mb"] = peak_mem_mb(device)
        if checkpoint_every and (epoch % checkpoint_every == 0 or epoch == epochs):
            metrics[CHECKPOINT] = train_state.capture(epoch, model, optimizer, scheduler, generator)
        report(epoch, metrics)
    return FINISHED
