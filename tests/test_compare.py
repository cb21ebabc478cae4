"""Paired comparisons and the paper's claims, on trial tables built here: every number of the
comparison table recomputed with scipy on the same pairs; one seed, unpaired seeds (Welch), a
missing reference and diverged trials; each claim's verdict on data made to hold it or not."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.tables.claims import STATEMENTS, can_test_claims, claims_table, format_claims
from analysis.tables.compare import COMPARED, MissingReference, comparisons, format_comparison, holm, metric_values


def trials(
    seeds=range(6), losses=("ce", "bce", "focal"), optims=("sgd", "adamw"), seed_of=None, rng_seed=0
) -> pd.DataFrame:
    """Finished trials with every compared metric; each loss shifts the metrics by its own amount
    and each seed by a shared one (what pairing removes)."""
    rng = np.random.default_rng(rng_seed)
    shift = {"ce": 0.0, "bce": 0.01, "focal": -0.004}
    rows = []
    for optim, loss, seed in itertools.product(optims, losses, seeds):
        seed_effect = 0.02 * math.sin(3 * seed + (optim == "sgd"))
        noise = rng.normal(0, 0.003)
        acc = 0.9 + shift.get(loss, 0.0) + seed_effect + noise
        rows.append(
            {
                "run_id": f"{optim}-{loss}-{seed}",
                "run_name": f"{loss}-{optim}-s{seed}",
                "status": "finished",
                "seed": seed if seed_of is None else seed_of(loss, seed),
                "loss.name": loss,
                "optim.name": optim,
                "data.name": "digits",
                "final/test/acc": acc,
                "final/test/uniform_acc": acc - 0.05 + 2 * shift.get(loss, 0.0),
                "final/train/nc1": 0.1 * (2.0 if loss == "ce" else 1.0) * (1 + seed_effect),
                "final/test/nc1": 0.2 * (1 + noise),
                "final/train/cdnv": 0.05 * (1 + seed_effect),
                "final/train/nc2_h": 0.3 + noise,
                "final/train/nc2_w": 0.2 + seed_effect,
                "final/train/nc3": 0.25 + noise,
                "final/test/nc4": 0.97 + noise,
                "final/test/ncc_acc": acc - 0.01,
                "final/test/compactness": 0.6 + noise,
                "final/test/distinctiveness": -0.1 + noise,
                "final/train/bias_mean": 0.5 if loss == "bce" else 5.0,
                "final/train/neg_score_mean": -1.0 + noise,
                "final/train/pos_score_mean": 2.0,
            }
        )
    return pd.DataFrame(rows)


def pairs(frame: pd.DataFrame, row: pd.Series, name: str) -> tuple[pd.Series, pd.Series]:
    values = metric_values(frame)[name]
    cell = frame["optim.name"] == row["optim.name"]

    def by_seed(loss):
        mask = cell & (frame["loss.name"] == loss) & (frame["status"] == "finished")
        return values[mask].set_axis(frame.loc[mask, "seed"]).dropna()

    return by_seed(row["loss"]), by_seed(row["reference"])


def test_every_number_equals_scipy_on_the_same_pairs():
    frame = trials()
    table = comparisons(frame)
    assert (
        set(table["reference"]) == {"ce", "bce"} and not ((table["loss"] == "ce") & (table["reference"] == "bce")).any()
    )  # no mirrored rows
    assert len(table) == 2 * 3 * len(COMPARED)  # (optimizers) x (bce-ce, focal-ce, focal-bce) x metrics
    for _, row in table.iterrows():
        a, b = pairs(frame, row, row["metric"])
        x, y = a.sort_index().to_numpy(), b.sort_index().to_numpy()
        assert row["test"] == "paired t" and row["n"] == 6
        assert row["mean_diff"] == pytest.approx(np.mean(x - y), abs=1e-15)
        if np.ptp(x - y) <= 1e-12 * max(
            1, np.abs(x - y).max()
        ):  # pairs differing alike: no test, the interval is the point
            assert math.isnan(row["p"]) and row["ci_low"] == row["ci_high"] == row["mean_diff"]
            continue
        result = stats.ttest_rel(x, y)
        ci = result.confidence_interval(0.95)
        assert (row["p"], row["ci_low"], row["ci_high"]) == (
            pytest.approx(result.pvalue),
            pytest.approx(ci.low),
            pytest.approx(ci.high),
        )
        assert row["p_wilcoxon"] == pytest.approx(stats.wilcoxon(x, y).pvalue)  # n >= 6
    # Holm over the whole table, recomputed from its definition
    p = table["p"].to_numpy()
    finite = np.isfinite(p)
    ranked = sorted(p[finite])
    m = len(ranked)
    expected = [max(min(1.0, (m - j) * ranked[j]) for j in range(i + 1)) for i in range(m)]
    assert sorted(table.loc[finite, "p_holm"]) == pytest.approx(expected)
    assert table["p_holm"].isna().sum() == (~finite).sum()


def test_holm_against_its_definition_on_random_p_values():
    rng = np.random.default_rng(1)
    for _ in range(50):
        p = rng.uniform(0, 0.2, rng.integers(1, 12))
        adjusted = holm(p)
        order = np.argsort(p)
        for rank, i in enumerate(order):
            assert adjusted[i] == pytest.approx(max(min(1.0, (len(p) - k) * p[order[k]]) for k in range(rank + 1)))


def test_one_seed_gives_a_difference_without_an_interval():
    table = comparisons(trials(seeds=[0]))
    assert (table["n"] == 1).all() and table["ci_low"].isna().all() and table["p"].isna().all()
    line = format_comparison(table.iloc[0], ["optim.name"])
    assert "[1 seed: no interval]" in line and "p=n/a" in line and "n=1" in line


def test_seeds_that_do_not_pair_get_welch():
    frame = trials(
        seeds=range(4),
        losses=("ce", "bce"),
        optims=("sgd",),
        seed_of=lambda loss, seed: seed + (10 if loss == "bce" else 0),
    )
    table = comparisons(frame).set_index("metric")
    row = table.loc["test/uniform_acc"]
    assert row["test"] == "welch" and (row["n_loss"], row["n_reference"]) == (4, 4)
    a = frame.loc[frame["loss.name"] == "bce", "final/test/uniform_acc"].to_numpy()
    b = frame.loc[frame["loss.name"] == "ce", "final/test/uniform_acc"].to_numpy()
    result = stats.ttest_ind(a, b, equal_var=False)
    ci = result.confidence_interval(0.95)
    assert (row["p"], row["ci_low"], row["ci_high"]) == (
        pytest.approx(result.pvalue),
        pytest.approx(ci.low),
        pytest.approx(ci.high),
    )


def test_a_missing_reference_is_a_clear_message():
    frame = trials(losses=("ce", "focal"))
    assert set(comparisons(frame)["reference"]) == {"ce"}  # the default bce is skipped when absent
    with pytest.raises(
        MissingReference,
        match="no finished trials with loss 'svm' to compare against; the losses in these runs: ce, focal",
    ):
        comparisons(frame, references=["svm"], required=True)


def test_diverged_trials_and_nan_values_are_excluded_and_counted():
    frame = trials(seeds=range(3), losses=("ce", "bce"), optims=("sgd",))
    frame.loc[frame["run_id"] == "sgd-bce-0", ["status", "final/test/acc", "final/test/uniform_acc"]] = [
        "diverged",
        np.nan,
        np.nan,
    ]
    frame.loc[frame["run_id"] == "sgd-ce-1", "final/train/nc1"] = np.nan  # finished, but no value
    table = comparisons(frame).set_index("metric")
    assert table.loc["test/acc", "excluded"] == 1 and table.loc["test/acc", "n"] == 2  # seeds 1 and 2 pair
    assert table.loc["train/nc1", "excluded"] == 2 and table.loc["train/nc1", "n"] == 1  # the diverged one and the NaN
    assert table.loc["train/nc1", "scale"] == "log10"


# --- the claims


def claim_trials(seeds=range(4), epochs_per_trial=30) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CE and BCE the way the paper describes them: CE's mean bias never moves (lambda_b 0) and
    decays with lambda_b; BCE's ends between the scores; BCE collapses faster; BCE's test uniform
    accuracy is higher at a comparable accuracy. Two settings: an init sweep and a decay sweep."""
    rng = np.random.default_rng(0)
    cases = [(0.0, 0.0), (5.0, 0.0), (10.0, 0.0), (10.0, 1e-3), (10.0, 1e-1)]
    rows, epoch_rows = [], []
    for (init, decay), loss, seed in itertools.product(cases, ("ce", "bce"), seeds):
        ce = loss == "ce"
        bias = (init * (0.02 if decay == 1e-1 else 1.0)) if ce else 0.3 + 0.1 * rng.normal()
        run = f"{loss}-i{init}-l{decay}-s{seed}"
        acc = 0.95 + 0.004 * rng.normal()
        rows.append(
            {
                "run_id": run,
                "run_name": run,
                "status": "finished",
                "seed": seed,
                "loss.name": loss,
                "epochs": epochs_per_trial,
                "classifier.bias_init_mean": init,
                "regularization.lambda_b": decay,
                "final/train/bias_mean": bias,
                "final/train/neg_score_mean": -1.0,
                "final/train/pos_score_mean": 3.0 if not ce else (bias - 1 if init else 3.0),
                "final/test/acc": acc + (0.002 if not ce else 0.0),
                "final/test/uniform_acc": acc - (0.01 if ce else 0.0) + 0.001 * rng.normal(),
            }
        )
        for epoch in range(1, epochs_per_trial + 1):
            nc1 = np.exp(-(0.15 if not ce else 0.08) * epoch) * (1 + 0.05 * rng.normal())
            epoch_rows.append({"run_id": run, "epoch": epoch, "train/nc1": nc1})
    return pd.DataFrame(rows), pd.DataFrame(epoch_rows)


def test_claims_hold_where_the_data_says_so_and_agree_with_the_paper():
    frame, epochs = claim_trials()
    assert can_test_claims(frame)
    table = claims_table(frame, epochs)
    by = table.set_index(["claim", "loss", "statement"])
    ce7a = table[(table["claim"] == "7a") & (table["loss"] == "ce")]
    assert list(ce7a["verdict"]) == ["holds", "does not hold"]  # stays at its init; not between the scores
    assert ce7a.iloc[0]["value"] == pytest.approx(1.0) and ce7a.iloc[0]["n"] == 12
    bce = table[table["loss"] == "bce"].set_index(["claim", "statement"])["verdict"]
    assert bce[("7a", STATEMENTS[("7a", "between")])] == "holds"
    assert bce[("7b", STATEMENTS[("7b", "between")])] == "holds"
    ce7b = table[(table["claim"] == "7b") & (table["loss"] == "ce")].iloc[0]
    assert ce7b["verdict"] == "holds" and ce7b["value"] == pytest.approx(0.02)
    assert (table.loc[table["loss"] == "bce"].query("claim == '7c'")["verdict"] == "holds").all()
    assert bce[("7d", STATEMENTS[("7d", "uniform")])] == "holds"
    # where the paper states something about CE or BCE, these runs agree with it
    stated = table[table["paper"] != ""]
    assert (stated["agrees"] == "agrees").all(), stated[["claim", "loss", "verdict", "paper"]]
    printed = format_claims(table)
    assert (
        len(by) == len(table)
        and "holds: agrees" in printed
        and "7c: not testable for ce: CE is the reference" in printed
    )


def test_claims_say_why_they_cannot_be_tested():
    frame, epochs = claim_trials(epochs_per_trial=15)
    init_only = frame[frame["regularization.lambda_b"] == 0]
    table = claims_table(init_only, epochs[epochs["run_id"].isin(init_only["run_id"])])
    b7 = table[(table["claim"] == "7b")]
    assert (b7["verdict"] == "not testable").all() and "over at least 2 values of regularization.lambda_b" in b7.iloc[
        0
    ]["why"]
    c20 = table[(table["claim"] == "7c") & (table["loss"] == "bce") & table["statement"].str.contains("epoch 20")]
    assert c20.iloc[0]["verdict"] == "not testable" and c20.iloc[0]["why"] == "trials end before epoch 20"
    assert "CE is the reference" in table.query("claim == '7d' and loss == 'ce'").iloc[0]["why"]
    sparse = epochs[epochs["epoch"] % 3 == 0]  # metrics every 3 epochs: nothing at epoch 5 or 10
    c5 = claims_table(init_only, sparse).query("claim == '7c' and loss == 'bce'").iloc[0]
    assert c5["verdict"] == "not testable" and "not logged at epoch 5" in c5["why"]


def test_claims_of_runs_that_logged_no_bias_or_accuracy_say_so():
    frame, epochs = claim_trials()
    bare = frame.drop(
        columns=[
            "final/train/bias_mean",
            "final/train/neg_score_mean",
            "final/train/pos_score_mean",
            "final/test/uniform_acc",
        ]
    )
    table = claims_table(bare, epochs)
    a7 = table[table["claim"].isin(["7a", "7b"])]
    assert (a7["verdict"] == "not testable").all() and a7.iloc[0]["why"].startswith(
        "these runs logged no final/train/bias_mean"
    )
    d7 = table[(table["claim"] == "7d") & (table["loss"] == "bce")].iloc[0]
    assert d7["verdict"] == "not testable" and "final/test/uniform_acc" in d7["why"]


def test_a_loss_on_a_head_without_a_bias_has_no_bias_claim():
    """A head with classifier.bias none logs a mean bias of 0, which would sit 'between the scores'
    at every init: 7a and 7b are not testable for that loss, and still are for the others."""
    frame, epochs = claim_trials()
    frame["classifier.bias"] = np.where(frame["loss.name"] == "bce", "none", "per_class")
    frame.loc[frame["loss.name"] == "bce", "final/train/bias_mean"] = 0.0
    table = claims_table(frame, epochs)
    bce = table[(table["loss"] == "bce") & table["claim"].isin(["7a", "7b"])]
    assert (bce["verdict"] == "not testable").all() and bce.iloc[0][
        "why"
    ] == "the head has no bias (classifier.bias: none)"
    ce7a = table[(table["claim"] == "7a") & (table["loss"] == "ce")]
    assert list(ce7a["verdict"]) == ["holds", "does not hold"]


def test_feature_claims_pair_on_the_seed_adjust_by_holm_and_appear_only_where_logged():
    """The evaluations' rows: BCE's TAR clearly above CE's holds; a verdict needs both the interval
    on one side of 0 and Holm's p (over the feature rows) below 0.05; runs without evaluations get
    no feature rows."""
    rng = np.random.default_rng(1)
    rows = []
    for loss, seed in itertools.product(("ce", "bce", "focal"), range(6)):
        base = 0.9 + 0.01 * rng.normal()
        rows.append(
            {
                "run_id": f"{loss}-{seed}",
                "run_name": f"{loss}-{seed}",
                "status": "finished",
                "seed": seed,
                "loss.name": loss,
                "final/test/verification/tar_at_far_1e-3": base + (0.1 if loss == "bce" else 0.0),
                "final/test/retrieval/recall_at_1": 0.95 + (-0.004 + 0.003 * rng.normal() if loss == "focal" else 0),
            }
        )
    frame = pd.DataFrame(rows)
    assert can_test_claims(frame)
    table = claims_table(frame, pd.DataFrame({"run_id": [], "epoch": []}))
    features = table[table["claim"].isin(["retrieval", "verification"])].set_index(["claim", "loss"])
    assert features.loc[("verification", "bce"), "verdict"] == "holds"
    assert features.loc[("verification", "ce"), "verdict"] == "not testable"
    assert set(features.index.get_level_values("claim")) == {"retrieval", "verification"}  # nothing unlogged
    p_values = [float(w.split("p ")[1].split(" ")[0]) for w in features["why"] if "Holm" in w]
    holm_values = [float(w.split("Holm ")[1].rstrip(")")) for w in features["why"] if "Holm" in w]
    # BCE's recall equals CE's in every pair: no spread, no p, no verdict either way.
    assert len(p_values) == 3 and all(h >= p for p, h in zip(p_values, holm_values))
    assert features.loc[("retrieval", "bce"), "verdict"] == "inconclusive"
    focal = features.loc[("retrieval", "focal")]
    decided = focal["ci_high"] < 0 and float(focal["why"].split("Holm ")[1].rstrip(")")) < 0.05
    assert focal["verdict"] == ("does not hold" if decided else "inconclusive")
    bare = frame.drop(columns=["final/test/verification/tar_at_far_1e-3", "final/test/retrieval/recall_at_1"])
    assert not can_test_claims(bare)
