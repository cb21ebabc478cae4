"""One trial: config -> data -> model -> epochs -> metrics, reported through a callback.

Nothing here knows about Ray or MLflow: `run_trial(config, report)` works from a notebook.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import torch

from trainers.config import TrialConfig
from trainers.data import Dataset, load_dataset
from trainers.losses import LOSSES, soft_targets
from trainers.metrics import loss_metrics, split_metrics
from trainers.models import Classifier, build_model
from trainers.optim import build_optimizer, build_scheduler

Report = Callable[[int, dict[str, float]], None]

FINISHED, DIVERGED = "finished", "diverged"
EVAL_CHUNK = 4096  # samples per forward pass when extracting features for the metrics


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


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


def train_epoch(config: TrialConfig, model: Classifier, data: Dataset, optimizer, generator: torch.Generator) -> torch.Tensor:
    """One pass over a random permutation of the training set; returns the mean batch loss as a
    device tensor (one sync per epoch instead of one per step)."""
    model.train()
    loss_fn = LOSSES[config.loss.name]
    n, bs = data.x_train.shape[0], config.train.batch_size
    order = torch.randperm(n, generator=generator).to(data.x_train.device)
    total = torch.zeros((), device=data.x_train.device)
    steps = 0
    for start in range(0, n, bs):
        idx = order[start : start + bs]
        if idx.numel() < 2:  # batch norm cannot normalize a single sample
            continue
        x, y = data.x_train[idx], data.y_train[idx]
        features, scores = model(x)
        targets = soft_targets(y, data.num_classes, config.loss.label_smoothing)
        data_loss = loss_fn(scores, targets).mean()
        objective = regularized_objective(config, model, features, data_loss)
        optimizer.zero_grad(set_to_none=True)
        objective.backward()
        optimizer.step()
        total += data_loss.detach()
        steps += 1
    return total / max(steps, 1)


@torch.no_grad()
def extract_features(model: Classifier, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return torch.cat([model.backbone(x[i : i + EVAL_CHUNK]) for i in range(0, x.shape[0], EVAL_CHUNK)])


def evaluate(config: TrialConfig, model: Classifier, data: Dataset) -> dict[str, float]:
    """Every metric of PAPER.md section 5 for each configured split, keyed `<split>/<metric>`."""
    weight, bias = model.head.weight.detach(), model.head.bias_vector()
    out: dict[str, float] = {}
    for split in config.metrics.splits:
        x, y = data.split(split)
        features = extract_features(model, x)
        values = split_metrics(features, y, weight, bias)
        values.update(
            loss_metrics(
                config.loss.name, features, y, weight, bias,
                lambda_b=config.regularization.lambda_b, label_smoothing=config.loss.label_smoothing,
            )
        )  # fmt: skip
        out.update({f"{split}/{key}": value for key, value in values.items()})
    return out


def run_trial(config: TrialConfig, report: Report) -> str:
    """Train one trial, calling `report(epoch, metrics)` after every epoch (1-based).

    Every epoch reports `optim/lr` and `optim/batch_loss`; every `metrics.every` epochs and at the
    last one also `<split>/<metric>`. A non-finite training loss stops the trial: its last report
    carries `diverged = 1.0` and the return value is "diverged"; otherwise "finished".
    """
    torch.manual_seed(config.seed)
    device = resolve_device(config.train.device)
    data = load_dataset(config.data).to(device)
    model = build_model(config.model, config.classifier, data.input_shape, data.num_classes).to(device)
    optimizer = build_optimizer(model.parameters(), config)
    scheduler = build_scheduler(optimizer, config)
    generator = torch.Generator().manual_seed(config.seed)
    epochs = config.train.epochs
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        batch_loss = train_epoch(config, model, data, optimizer, generator).item()
        scheduler.step()
        metrics = {"optim/lr": lr, "optim/batch_loss": batch_loss}
        if not math.isfinite(batch_loss):
            report(epoch, {**metrics, "diverged": 1.0})
            return DIVERGED
        if epoch % config.metrics.every == 0 or epoch == epochs:
            metrics.update(evaluate(config, model, data))
        metrics["time/epoch_s"] = time.perf_counter() - started
        report(epoch, metrics)
    return FINISHED
