"""Tune's storage as ncsweep sees it: a local folder, a shared filesystem, or s3://... through
pyarrow (the same filesystem layer Tune uses), plus the small record that lets a sweep resume.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.fs

from orchestrator.errors import BadInput

RUN_INFO = "ncsweep_run.json"  # next to Tune's own experiment state, in the sweep's results folder


def is_uri(location: str) -> bool:
    return "://" in location


def normalize(location: str) -> str:
    """An absolute local path (Tune needs one), or the URI unchanged. `~` expands on the machine
    that runs the sweep, so `ncsweep submit --storage ~/ncsweep_results` means the head's home."""
    location = str(location)
    return location if is_uri(location) else str(Path(os.path.expanduser(location)).resolve())


def join(location: str, *parts: str) -> str:
    return "/".join([location.rstrip("/"), *parts]) if is_uri(location) else str(Path(location, *parts))


@dataclass(frozen=True)
class RunInfo:
    """What `ncsweep resume` needs besides Tune's state: the sweep as it was, and where it logs."""

    sweep_path: str
    sweep_text: str
    tracking_uri: str
    parent_run_id: str


def write_run_info(experiment_dir: str, info: RunInfo) -> None:
    fs, path = pyarrow.fs.FileSystem.from_uri(experiment_dir)
    fs.create_dir(path, recursive=True)
    with fs.open_output_stream(f"{path}/{RUN_INFO}") as out:
        out.write(json.dumps(asdict(info), indent=1).encode())


def read_run_info(experiment_dir: str) -> RunInfo:
    try:
        fs, path = pyarrow.fs.FileSystem.from_uri(experiment_dir)
        with fs.open_input_stream(f"{path}/{RUN_INFO}") as src:
            return RunInfo(**json.loads(src.read()))
    except (OSError, ValueError, TypeError) as exc:
        raise BadInput(
            f"{experiment_dir}: not the results folder of an ncsweep sweep (cannot read {RUN_INFO}: {exc}); "
            "pass the folder that `ncsweep run` printed as 'Results:'"
        ) from None
