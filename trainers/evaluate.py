"""The metrics pass of a trial: features of each split in eval mode -> every registered metric.

Each split is streamed through a `SplitPass` (trainers/metrics/split_pass.py) in chunks of
EVAL_CHUNK samples, so memory does not grow with the split. The pass needs each split twice
(compactness and the nearest-class-centre metrics need the split's final class means). The
second time the features come from memory when the split's fit in `metrics.feature_cache_mb`
(CIFAR's 50,000 x 512 fp32 features are 100 MB: nothing is recomputed), else from running the
backbone again (ImageNet's 1.28M x 2048 would be 10 GB). The train split goes first: its class
means are the centres of the NCC metrics of every split.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from trainers.config import TrialConfig
from trainers.data import Dataset
from trainers.data.outside import outside_inputs
from trainers.evaluations import EVALUATIONS
from trainers.evaluations.inputs import EvalInputs, Side
from trainers.losses import Loss
from trainers.metrics import Context, SplitPass, SplitResult
from trainers.metrics.depth import separation_fit
from trainers.metrics.split_pass import FEATURES
from trainers.models import Classifier
from trainers.report import DISTRIBUTIONS
from trainers.setup import bind_loss

EVAL_CHUNK = 4096  # samples per forward pass when extracting features for the metrics
Chunk = tuple[
    torch.Tensor, torch.Tensor, dict[str, torch.Tensor], torch.Tensor | None
]  # features, labels, layer outputs, clean labels


@torch.no_grad()
def feature_chunks(
    model: Classifier, data: Dataset, split: str, config: TrialConfig, channels_last: bool = False, tap=None
) -> Iterator[Chunk]:
    """(features, labels, pooled layer outputs, clean labels) of a split in eval mode, chunk by
    chunk (a fixed subset with metrics.max_samples), in fp32; the inputs in the model's memory
    layout (NHWC for a channels_last model: no conversion in every conv). `tap` (model.layer_tap)
    adds the layers. The labels are those the model trained on; the clean ones (before
    data.label_noise) come along for the train split of a noisy trial, else None."""
    model.eval()
    layout = torch.channels_last if channels_last else torch.contiguous_format
    clean = data.clean_labels(split, config.metrics.max_samples, config.data.split_seed)
    start = 0
    for x, y in data.eval_batches(split, EVAL_CHUNK, config.metrics.max_samples, config.data.split_seed):
        x = x.contiguous(memory_format=layout)
        features, layers = tap(x) if tap is not None else (model.backbone(x), {})
        yield features, y, layers, None if clean is None else clean[start : start + y.numel()]
        start += y.numel()


def _nbytes(chunk: Chunk) -> int:
    features, labels, layers, clean = chunk
    return sum(
        t.numel() * t.element_size() for t in (features, labels, *layers.values(), *([] if clean is None else [clean]))
    )


def measure_split(
    config: TrialConfig,
    model: Classifier,
    data: Dataset,
    split: str,
    ctx: Context,
    tap=None,
    channels_last: bool = False,
    train: dict | None = None,
    samples: int = 0,
    gather: list | None = None,
) -> SplitResult:
    """Every metric of one split (at the penultimate features and each tapped layer). `gather`, when
    given, receives each chunk's (penultimate features, labels) on the way, for the evaluations."""
    measure = SplitPass(ctx, tap.names if tap is not None else (), None, samples, config.seed, train_stats=train)
    kept: list[Chunk] | None = []
    budget = config.metrics.feature_cache_mb * 2**20
    for chunk in feature_chunks(model, data, split, config, channels_last, tap):
        measure.first(*chunk)
        if gather is not None:
            gather.append((chunk[0].float(), chunk[1]))
        if kept is not None:
            budget -= _nbytes(chunk)
            if budget >= 0:
                kept.append(chunk)
            else:
                kept = None  # over the budget: the second reading runs the backbone again
    if measure.needs_second:
        second = kept if kept is not None else feature_chunks(model, data, split, config, channels_last, tap)
        for chunk in second:
            measure.second(*chunk)
    return measure.finish()


def train_statistics(
    config: TrialConfig, model: Classifier, data: Dataset, ctx: Context, tap=None, channels_last: bool = False
) -> dict:
    """The train split's statistics at every level (class means for the NCC metrics, scatter for
    the evaluations), for a trial whose metrics.splits leave out train (one forward over it)."""
    measure = SplitPass(ctx, tap.names if tap is not None else ())
    for chunk in feature_chunks(model, data, "train", config, channels_last, tap):
        measure.first(*chunk)
    return measure.statistics()


def evaluate(
    config: TrialConfig,
    model: Classifier,
    data: Dataset,
    final: bool = False,
    channels_last: bool = False,
    tap=None,
    loss: Loss | None = None,
) -> dict:
    """Every registered metric for each configured split, keyed `<split>/<metric>`, and per tapped
    layer `<split>/layers/<name>/<metric>` with `layers/<name>/depth` (1 = the shallowest). With
    `final`, also the DISTRIBUTIONS entry (a dict, not a metric). `loss` is the trial's bound loss
    (trainers/setup.py), by default config.loss bound to `data`."""
    bias = model.head.bias_vector()
    ctx = Context.from_head(
        model.head, loss if loss is not None else bind_loss(config.loss, data), config.regularization.lambda_b
    )
    splits = sorted(config.metric_splits, key=lambda s: s != "train")  # train first: the NCC centres
    train = None if "train" in splits else train_statistics(config, model, data, ctx, tap, channels_last)
    out: dict = {}
    samples: dict[str, dict[str, list[float]]] = {}
    evaluating = bool(config.metrics.evaluations) and (final or bool(config.metrics.evaluate_every))
    for split in splits:
        gathered = [] if evaluating and split == "test" else None  # the evaluations read the test split
        result = measure_split(
            config,
            model,
            data,
            split,
            ctx,
            tap,
            channels_last,
            train,
            config.metrics.distribution_samples if final else 0,
            gathered,
        )
        if split == "train":
            train = result.stats
        out.update({f"{split}/{key}": value for key, value in result.values.items()})
        for name, values in result.layers.items():
            out.update({f"{split}/layers/{name}/{key}": value for key, value in values.items()})
        if gathered is not None:
            inputs = evaluation_inputs(config, model, data, ctx, gathered, train, channels_last)
            out.update(run_evaluations(config, inputs, split))
        if final:
            samples[split] = result.samples or {"pos": [], "neg": []}
    if tap is not None:
        out.update({f"layers/{name}/depth": float(i + 1) for i, name in enumerate(tap.names)})
        for split in splits:  # the law of equi-separation across the tapped layers
            nc1 = [out.get(f"{split}/layers/{name}/nc1", float("nan")) for name in tap.names]
            rate, r2 = separation_fit([float(i + 1) for i in range(len(nc1))], nc1)
            out.update({f"{split}/separation_rate": rate, f"{split}/separation_r2": r2})
    if final:
        out[DISTRIBUTIONS] = {"bias": [] if bias is None else bias.double().cpu().tolist(), "splits": samples}
    return out


@torch.no_grad()
def _features(model: Classifier, x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """Penultimate features of normalized inputs in chunks, in eval mode, fp32."""
    model.eval()
    layout = torch.channels_last if channels_last else torch.contiguous_format
    device = next(model.parameters()).device
    parts = [
        model.backbone(x[s : s + EVAL_CHUNK].to(device).contiguous(memory_format=layout)).float()
        for s in range(0, x.shape[0], EVAL_CHUNK)
    ]
    return torch.cat(parts)


def evaluation_inputs(
    config: TrialConfig, model: Classifier, data: Dataset, ctx: Context, chunks: list, train: dict, channels_last: bool
) -> EvalInputs:
    """What the evaluations read: the test features the metrics pass gathered with their scores, and
    only when an evaluation asks for them the held-out classes' test samples (data.open_set) and
    the outside data (metrics.ood) through the same model, with the train split's statistics."""
    names = set(config.metrics.evaluations)
    h, y = torch.cat([f for f, _ in chunks]), torch.cat([labels for _, labels in chunks])
    unknown = ood = None
    if "open_set" in names:
        batches = data.eval_batches("unknown", EVAL_CHUNK, config.metrics.max_samples, config.data.split_seed)
        x = torch.cat([x for x, _ in batches])
        unknown = Side.of(_features(model, x, channels_last), None, ctx)
    if "ood" in names:
        x = outside_inputs(config.metrics.ood, data.input_shape, config.metrics.max_samples, config.data.split_seed)
        ood = Side.of(_features(model, x, channels_last), None, ctx)
    return EvalInputs(Side.of(h, y, ctx), config.seed, unknown, ood, train[FEATURES] if train else None)


def run_evaluations(config: TrialConfig, inputs: EvalInputs, split: str) -> dict:
    """`<split>/<evaluation>/<key>` of every evaluation in metrics.evaluations, on the split's
    penultimate features as the metrics pass read them (N x d: each evaluation holds blocks of
    similarities, never N x N)."""
    out = {}
    for name in config.metrics.evaluations:
        values = EVALUATIONS[name].fn(inputs)
        out.update({f"{split}/{name}/{key}": float(v) for key, v in values.items()})
    return out
