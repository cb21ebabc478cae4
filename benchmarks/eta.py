"""How honest the live ETA is: every ETA a real sweep prints against the time that actually remained.

Runs `ncsweep run` on a digits sweep (the quickstart's MLP, every metric every epoch, a sqlite
store in a temporary folder) off a terminal, so the driver prints a progress line every second;
each line is timestamped as it arrives, and the sweep's end is the moment its last trial's line
arrives. For every line with an ETA it prints the ETA, the time that remained, and their ratio.

    .venv/bin/python benchmarks/eta.py [--trials 4] [--epochs 100]

Target (issue 28): the first ETA within a factor of 1.5 of the time that remained.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SWEEP = """\
name: eta
experiment: eta
base:
  data: {{name: digits}}
  model: {{name: mlp, width: 128, depth: 2}}
  train: {{epochs: {epochs}, batch_size: 128}}
  metrics: {{every: 1, splits: [train, test]}}
grid:
  classifier.bias_init_mean: {inits}
seeds: [0]
resources: {{cpu: 1, gpu: 0}}
"""


def seconds(text: str) -> float:
    """format_duration's text back to seconds: 42s, 2m05s, 1h02m."""
    parts = dict((unit, int(value)) for value, unit in re.findall(r"(\d+)([hms])", text))
    return 3600 * parts.get("h", 0) + 60 * parts.get("m", 0) + parts.get("s", 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=100, help="per trial (4 x 100 = a 400-epoch sweep)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ncsweep-eta-") as scratch:
        root = Path(scratch)
        sweep = root / "eta.yaml"
        sweep.write_text(textwrap.dedent(SWEEP.format(epochs=args.epochs, inits=list(range(args.trials)))))
        env = {**os.environ, "NCSWEEP_PROGRESS_INTERVAL_S": "1", "HOME": str(root)}
        command = [sys.executable, "-m", "orchestrator.cli", "run", str(sweep), "--tracking-uri"]
        command += [f"sqlite:///{root / 'mlflow.db'}", "--storage", str(root / "results")]
        lines: list[tuple[float, str]] = []
        with subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, text=True) as proc:
            for line in proc.stdout:
                lines.append((time.monotonic(), line.rstrip()))
        assert proc.returncode == 0, "\n".join(text for _, text in lines[-20:])
    end = max(t for t, text in lines if text.startswith(f"[{args.trials}/{args.trials}]"))
    etas = [(t, seconds(m.group(1)), text) for t, text in lines if (m := re.search(r"ETA (\w+)$", text))]
    etas = [(t, eta, text) for t, eta, text in etas if "unknown" not in text and t < end]
    print(f"{args.trials} trials x {args.epochs} epochs; each progress line's ETA against the time that remained:")
    print(f"{'ETA s':>6}  {'left s':>6}  {'ratio':>5}  line")
    for t, eta, text in etas:
        left = end - t
        print(f"{eta:6.0f}  {left:6.1f}  {eta / left:5.2f}  {text}")
    if etas:
        t, eta, _ = etas[0]
        print(f"first ETA / time left: {eta / (end - t):.2f} (target: between 0.67 and 1.5)")


if __name__ == "__main__":
    main()
