"""Which MLflow tracking store a command uses, and where that choice came from (for messages).

Kept apart from the MLflow and Ray imports so `ncsweep submit` resolves it in a blink.
"""

from __future__ import annotations

import os
from pathlib import Path


def tracking_uri_source(cli: str | None, spec: str | None, sweep_path: Path | None = None) -> str:
    """Where resolve_tracking_uri's answer came from, for error messages."""
    if cli:
        return "--tracking-uri"
    if spec:
        return f"{sweep_path}: tracking_uri" if sweep_path else "tracking_uri"
    return "MLFLOW_TRACKING_URI" if os.environ.get("MLFLOW_TRACKING_URI") else "the default tracking store"


def resolve_tracking_uri(cli: str | None, spec: str | None) -> str:
    """--tracking-uri > spec tracking_uri > MLFLOW_TRACKING_URI > MLflow's default (./mlflow.db).

    A relative sqlite path is made absolute so the printed `mlflow ui` command works anywhere.
    """
    uri = cli or spec or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = "sqlite:///" + str(Path(uri.removeprefix("sqlite:///")).resolve())
    return uri
