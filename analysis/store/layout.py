"""How ncsweep lays runs out in MLflow (docs/design.md#mlflow-layout): the names both the writer
(the orchestrator's tracker) and the readers (this package) use."""

PARENT_TAG = "mlflow.parentRunId"
STATUS_TAG = "ncsweep.status"  # finished | diverged | error (running while in flight)
TRIAL_TAG = "ncsweep.trial"  # the trial's readable name, e.g. bce-init5-s0
GROUP_TAG = (
    # The sweep run and the trial's name without the seed (bce-init5 in quickstart-20261204-150455): the
    # MLflow UI's "Group by" puts a setting's seeds together, and never two runs of a sweep.
    "ncsweep.group"
)
# MLflow's experiment kind: model development opens an experiment on its runs table, not on the
# GenAI traces view that MLflow 3 shows an experiment without a kind.
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"
RUNS_VIEW = "#/experiments/{experiment_id}/runs?workflowType=machine_learning"  # the UI page of a sweep's runs
CONFIG_TAG = "ncsweep.config"  # the full trial config as JSON: typed values for the tables
SWEEP_TAG = "ncsweep.sweep"
SHA_TAG = "ncsweep.spec_sha256"
COMMIT_TAG = "ncsweep.git_commit"
METRIC_PREFIXES = (
    "train/",
    "val/",
    "test/",
    "optim/",
    "time/",
    "sys/",
    "layers/",
)  # what a trial logs, step = epoch (layers/<name>/depth: a tapped layer's order)
SPLITS = ("train", "val", "test")  # the metric splits, in table order (val: data.val_fraction)
BEST_PREFIX = "best/"  # best/<split>/<metric>: the trials table's columns of the best-test-accuracy epoch
BEST_ARTIFACT = "best.json"  # a trial's best epoch and its metrics (not metrics: they would bury the curves)
BEST_EPOCH_TAG = "ncsweep.best_epoch"
DISTRIBUTIONS_ARTIFACT = "distributions.json"  # final bias vector + per-sample score samples
FIGURES_DIR = "figures"  # paper figures, logged under the sweep's parent run
SUMMARY_PREFIX = (
    "sweep/"  # parent-run metrics when a sweep ends: sweep/trials_<status>, sweep/wall_s, sweep/best_test_acc
)
BEST_TRIAL_TAG = "ncsweep.best_trial"  # the finished trial with the highest final test accuracy
TABLES_DIR = "tables"  # the sweep's Parquet tables, logged under its parent run
HISTORY_ARTIFACT = "history.parquet"  # a trial's per-epoch metrics, one row per epoch (written when it ends)
HISTORY_TAG = "ncsweep.history"  # set (to the artifact name) once that artifact is complete


def best_epoch(history: dict[int, dict[str, float]]) -> int | None:
    """The epoch of highest test accuracy (train accuracy when no test split), earliest on ties."""
    for key in ("test/acc", "train/acc"):
        scored = [
            (values[key], -epoch) for epoch, values in history.items() if key in values and values[key] == values[key]
        ]
        if scored:
            return -max(scored)[1]
    return None


# A saved view of MLflow's runs page, one per sweep run: an experiment tag the UI reads when a link
# carries `viewStateShareKey=<key>` (MLflow 3.17's "share view": search facets and UI state as JSON).
SHARED_VIEW_TAG = "mlflow.sharedViewState."
SHARED_VIEW_PARAM = "viewStateShareKey"
VIEW_METRICS = (
    "test/acc",
    "test/uniform_acc",
    "train/nc1",
    "train/bias_mean",
    "train/neg_score_mean",
    "train/pos_score_mean",
)


def shared_view(parent_run_id: str) -> tuple[str, str]:
    """(experiment tag, JSON value) of the view a sweep's link opens: its child runs only, grouped by
    ncsweep.group (a setting's seeds together), the paper's metrics as the first columns."""
    import json

    state = {
        "searchFilter": f"tags.`{PARENT_TAG}` = '{parent_run_id}'",
        "orderByKey": "attributes.start_time",
        "orderByAsc": True,
        "groupBy": {"aggregateFunction": "average", "groupByKeys": [{"mode": "tag", "groupByData": GROUP_TAG}]},
        "selectedColumns": [f"metrics.`{key}`" for key in VIEW_METRICS],
    }
    return SHARED_VIEW_TAG + parent_run_id, json.dumps(state)
