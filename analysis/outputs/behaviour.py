"""docs/claims_7a.csv from the claims tables of finished sweeps: which side of the CE / BCE divide
each loss falls on for the bias claim 7a (analysis/tables/behaviour.py), with the sweep that showed
it. docs/plugins.md's losses table reads the file (`make docs`).

    python -m analysis.outputs.behaviour RESULTS/claims.parquet [MORE/claims.parquet ...] --out docs/claims_7a.csv

Each results folder is one the sweep's `ncsweep run` printed (`Results:`); a loss in several
tables keeps its first one's row."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from analysis.tables.behaviour import bias_behaviour


def behaviour_table(paths: list[Path]) -> pd.DataFrame:
    frames = []
    for path in paths:
        table = bias_behaviour(pd.read_parquet(path))
        table["sweep"] = path.parent.name
        frames.append(table)
    return pd.concat(frames).drop_duplicates("loss", keep="first")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("claims", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    behaviour_table(args.claims).to_csv(args.out, index=False)
    print(f"wrote {args.out}")
