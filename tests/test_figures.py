"""Figures fit for a paper: a band only where several seeds stand behind a line, said in the
figure; axes labelled with the metric and its scale; a PDF beside every PNG; and the quickstart's
claim drawn: each setting's final bias against its mean negative and positive scores."""

from __future__ import annotations

import pandas as pd
from matplotlib.collections import PolyCollection

from analysis.figures.losses import make_loss_figure
from analysis.figures.plotting import axis_label, band, save
from analysis.figures.report import bias_figure


def runs(seeds: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CE and BCE x `seeds` seeds: a trials table and 3 epochs each."""
    trials, epochs = [], []
    for loss in ("ce", "bce"):
        for seed in range(seeds):
            run = f"{loss}-s{seed}"
            scores = {"final/train/neg_score_mean": -1.0 - seed, "final/train/pos_score_mean": 2.0 + seed}
            bias = {"final/train/bias_mean": 0.5 if loss == "bce" else 5.0, "final/test/acc": 0.9}
            trials.append({"run_id": run, "run_name": run, "status": "finished", "loss.name": loss, "seed": seed})
            trials[-1].update(scores | bias)
            for epoch in (1, 2, 3):
                epochs.append(
                    {"run_id": run, "epoch": epoch, "train/nc1": 1.0 / (epoch + seed), "test/acc": 0.5 + 0.1 * epoch}
                )
    return pd.DataFrame(trials), pd.DataFrame(epochs)


def bands(fig) -> int:
    return sum(isinstance(c, PolyCollection) for ax in fig.axes for c in ax.collections)


def test_a_band_only_where_several_seeds_stand_behind_the_line_and_the_figure_says_which():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert band(ax, pd.Series([1.0, 2.0]), pd.Series([1, 2]), "k") and bands(fig) == 0  # one run per x
    assert band(ax, pd.Series([1.0, 2.0]), pd.Series([1, 1]), "k") and bands(fig) == 1
    plt.close(fig)
    one, two = make_loss_figure(*reversed(runs(1))), make_loss_figure(*reversed(runs(2)))
    assert bands(one) == 0 and "one seed per line: no band" in one._suptitle.get_text()
    assert bands(two) == 4 and "band: min-max over the seeds" in two._suptitle.get_text()
    assert [ax.get_ylabel() for ax in two.axes] == ["train nc1 (log scale)", "test acc"]
    assert axis_label("test/uniform_acc") == "test uniform acc"


def test_every_figure_is_saved_as_png_and_pdf(tmp_path):
    trials, _ = runs(2)
    png = save(bias_figure(trials), tmp_path / "fig_bias.png")
    assert png.read_bytes()[:4] == b"\x89PNG" and png.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"


def test_the_claim_figure_puts_each_settings_bias_against_its_scores():
    trials, _ = runs(2)
    fig = bias_figure(trials)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["bce", "ce"]
    bars = [line.get_ydata() for line in ax.get_lines() if len(line.get_ydata()) == 2]
    assert [list(y) for y in bars] == [[-1.5, 2.5], [-1.5, 2.5]]  # mean negative to mean positive, per setting
    assert ax.get_ylabel() == "final score / bias (train)"
