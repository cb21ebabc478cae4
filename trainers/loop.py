"""One trial: config -> data -> model -> epochs -> metrics, reported through a callback.

Nothing here knows about Ray or MLflow: `run_trial(config, report)` works from a notebook.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from trainers import state as train_state
from trainers.accel import autocast, autocast_dtype, resolve_device, use_channels_last
from trainers.config import TrialConfig
from trainers.data import Dataset, load_dataset
from trainers.data.mixup import build_mixup, mix
from trainers.losses import soft_targets
from trainers.metrics import loss_metrics, score_samples, split_metrics
from trainers.models import Classifier, build_model
from trainers.optim import build_optimizer, build_scheduler
from trainers.report import CHECKPOINT, DISTRIBUTIONS, DIVERGED, FINISHED, Report  # noqa: F401 - re-exported

EVAL_CHUNK = 4096  # samples per forward pass when extracting features for the metrics


def regularized_objective(config: TrialConfig, model: Classifier, features: torch.Tensor, data_loss: torch.Tensor) -> torch.Tensor:
    """mean_batch L + lambda_w/2 ||W||_F^2 + lambda_b/2 ||b||^2 + lambda_h/2 sum_{i in batch} ||h_i||^2.

    The feature term is a *sum* over the batch, as in the official code (PAPER.md section 3), so
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


def train_epoch(
    config: TrialConfig,
    model: Classifier,
    data: Dataset,
    optimizer,
    generator: torch.Generator,
    mixup=None,
    amp_dtype: torch.dtype | None = None,
    channels_last: bool = False,
) -> torch.Tensor:
    """One pass over a random permutation of the training set; returns the mean batch loss as a
    device tensor (one sync per epoch instead of one per step).

    Per batch: DA1 (inside `train_batches`, batched) -> normalize -> DA2 (mixup/cutmix, soft
    targets with its smoothing) or plain targets with `loss.label_smoothing` -> loss. Under
    `amp_dtype` only the forward runs in bf16; the loss and the regularizers are taken in fp32.
    """
    model.train()
    crop = config.train.crop_padding if config.train.augment != "none" else None
    total, steps = None, 0
    for x, y in data.train_batches(config.train.batch_size, generator, crop):
        if y.numel() < 2:  # batch norm cannot normalize a single sample
            continue
        x = data.normalize(x)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if mixup is not None:
            x, targets = mix(mixup, x, y)
        else:
            targets = soft_targets(y, data.num_classes, config.loss.label_smoothing)
        with autocast(x.device, amp_dtype):
            features, scores = model(x)
        features, scores = features.float(), scores.float()
        data_loss = config.loss(scores, targets)
        objective = regularized_objective(config, model, features, data_loss)
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        optimizer.step()
        total = data_loss.detach() if total is None else total + data_loss.detach()
        steps += 1
    return total / steps if steps else torch.tensor(math.nan)


@torch.no_grad()
def extract_features(model: Classifier, data: Dataset, split: str, config: TrialConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and labels of a split in eval mode (a fixed subset with metrics.max_samples)."""
    model.eval()
    batches = data.eval_batches(split, EVAL_CHUNK, config.metrics.max_samples, config.data.split_seed)
    features, labels = zip(*((model.backbone(x), y) for x, y in batches))
    return torch.cat(features), torch.cat(labels)


def evaluate(config: TrialConfig, model: Classifier, data: Dataset, final: bool = False) -> dict:
    """Every metric of PAPER.md section 5 for each configured split, keyed `<split>/<metric>`.
    With `final`, also the DISTRIBUTIONS entry (a dict, not a metric)."""
    weight, bias = model.head.weight.detach(), model.head.bias_vector()
    out: dict = {}
    samples: dict[str, dict[str, list[float]]] = {}
    for split in config.metrics.splits:
        features, y = extract_features(model, data, split, config)
        values = split_metrics(features, y, weight, bias)
        values.update(
            loss_metrics(
                config.loss, features, y, weight, bias, lambda_b=config.regularization.lambda_b,
            )
        )  # fmt: skip
        out.update({f"{split}/{key}": value for key, value in values.items()})
        if final:
            samples[split] = score_samples(features, y, weight, config.metrics.distribution_samples, config.seed)
    if final:
        bias_values = [] if bias is None else bias.double().cpu().tolist()
        out[DISTRIBUTIONS] = {"bias": bias_values, "splits": samples}
    return out


def run_trial(config: TrialConfig, report: Report, checkpoint_every: int = 0, resume_from: dict | None = None) -> str:
    """Train one trial, calling `report(epoch, metrics)` after every epoch (1-based).

    With `checkpoint_every` > 0, every that many epochs and at the last one the report also holds
    CHECKPOINT (the training state). `resume_from` (such a state) continues after its epoch: the
    epochs already done are neither trained nor reported again.

    Every epoch reports `optim/lr` and `optim/batch_loss`; every `metrics.every` epochs and at the
    last one also `<split>/<metric>`. A non-finite training loss stops the trial: its last report
    carries `diverged = 1.0` and the return value is "diverged"; otherwise "finished". The last
    epoch's report also holds DISTRIBUTIONS (final bias and score samples).
    """
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)  # timm's Mixup draws from numpy's global generator
    device = resolve_device(config.train.device)
    data = load_dataset(config.data).to(device)
    model = build_model(config.model, config.classifier, data.input_shape, data.num_classes).to(device)
    channels_last = use_channels_last(config.train, device, data.input_shape)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    amp_dtype = autocast_dtype(config.train, device)
    mixup = build_mixup(config.mixup, data.num_classes) if config.train.augment == "da1+da2" else None
    optimizer = build_optimizer(model.parameters(), config)
    scheduler = build_scheduler(optimizer, config)
    generator = torch.Generator().manual_seed(config.seed)
    done = train_state.restore(resume_from, model, optimizer, scheduler, generator) if resume_from else 0
    epochs = config.train.epochs
    for epoch in range(done + 1, epochs + 1):
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        batch_loss = train_epoch(config, model, data, optimizer, generator, mixup, amp_dtype, channels_last).item()
        scheduler.step()
        metrics = {"optim/lr": lr, "optim/batch_loss": batch_loss}
        if not math.isfinite(batch_loss):
            report(epoch, {**metrics, "diverged": 1.0})
            return DIVERGED
        if epoch % config.metrics.every == 0 or epoch == epochs:
            metrics.update(evaluate(config, model, data, final=epoch == epochs))
        metrics["time/epoch_s"] = time.perf_counter() - started
        if checkpoint_every and (epoch % checkpoint_every == 0 or epoch == epochs):
            metrics[CHECKPOINT] = train_state.capture(epoch, model, optimizer, scheduler, generator)
        report(epoch, metrics)
    return FINISHED
