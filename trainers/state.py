"""A trial's complete training state, so a restarted trial continues exactly where it stopped.

Besides the weights this holds everything that decides the next epoch: the optimizer's momentum
buffers, the scheduler's step, the data-order generator and the global torch, CUDA and numpy
generators (batched crops and flips draw from torch's, timm's Mixup from numpy's). Restoring all
of them makes a resumed run report the same numbers as one that never stopped (on the same device).

Saved with `torch.save` and read back with `weights_only=True`: tensors, numbers and strings only,
so a checkpoint cannot run code when it is loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

STATE_FILE = "trial_state.pt"


def _cpu_copy(value: Any) -> Any:
    """Tensors copied to the CPU, recursively: the state must not change when training goes on
    (state_dict() returns views of the live parameters and buffers)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _cpu_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu_copy(v) for v in value)
    return value


def capture(epoch: int, model, optimizer, scheduler, generator: torch.Generator) -> dict[str, Any]:
    """A snapshot of the training state after `epoch`, on the CPU."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return _cpu_copy(
        {
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "data_generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy_rng": {
                "kind": kind,
                "keys": torch.from_numpy(keys.astype(np.int64)),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached": float(cached),
            },
        }
    )


def restore(state: dict[str, Any], model, optimizer, scheduler, generator: torch.Generator) -> int:
    """Load `state` into the live objects; returns the last completed epoch."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    generator.set_state(state["data_generator"])
    torch.set_rng_state(state["torch_rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    rng = state["numpy_rng"]
    np.random.set_state(
        (rng["kind"], rng["keys"].numpy().astype(np.uint32), rng["pos"], rng["has_gauss"], rng["cached"])
    )
    return int(state["epoch"])


def save(state: dict[str, Any], directory: Path) -> Path:
    path = Path(directory) / STATE_FILE
    torch.save(state, path)
    return path


def load(directory: Path) -> dict[str, Any]:
    # map_location cpu: the restarted trial may land on a node whose GPU index differs.
    return torch.load(Path(directory) / STATE_FILE, map_location="cpu", weights_only=True)
