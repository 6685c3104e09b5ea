"""Checkpoints: one `.pt` file that continues a run exactly and rebuilds its generator.

Contents: the resolved config (the architecture travels with the weights), the data's
description, licence and class names (for the exported model's metadata), the session state
(G, D, both optimizers, AMP scalers, step, every random stream of every rank), the wall time
spent so far, the device, and the last metrics. Written to a temporary name, then renamed.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import torch

from texgen.errors import ModelError
from trainer.config import TrainConfig, config_from_dict
from texgen.atomic import atomic_path

FORMAT = 1
LATEST = "latest.pt"
BEST = "best.pt"  # the weights of the evaluation with the lowest SWD so far


def save_checkpoint(path: Path, cfg: TrainConfig, state: dict, **extra: Any) -> Path:
    """Write atomically: a crash mid-write leaves the previous checkpoint intact. Serialised in
    memory, then written by Python: torch's own file writer reports a full disk as a
    RuntimeError from its zip container, where this raises the OSError that says so."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "config": dataclasses.asdict(cfg), **state, **extra}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_path(path, export_errors=False) as tmp:
        tmp.write_bytes(buffer.getbuffer())
    return path


def find_checkpoint(run_or_checkpoint: Path) -> Path:
    """A run folder's latest checkpoint, or the file itself; ModelError when there is none."""
    p = Path(run_or_checkpoint)
    if p.is_dir():
        p = p / "checkpoints" / LATEST
    if not p.is_file():
        raise ModelError(
            f"no checkpoint at {p}",
            "give a run folder made by `texgen train` (it holds checkpoints/latest.pt) or a .pt file",
        )
    return p


def load_checkpoint(run_or_checkpoint: Path, device: str | torch.device = "cpu") -> dict:
    """The checkpoint's dict, with "config" as a TrainConfig and "path" added."""
    path = find_checkpoint(run_or_checkpoint)
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception:  # a truncated or foreign file (torch's own message spans many lines)  # noqa: BLE001
        raise ModelError(
            f"cannot read checkpoint {path}: the file is damaged or not a checkpoint",
            "give a checkpoint written by `texgen train`",
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "G" not in payload:
        raise ModelError(f"{path} is not a texgen training checkpoint", "give a checkpoint written by `texgen train`")
    payload["config"] = config_from_dict(payload["config"])
    payload["path"] = path
    return payload


def run_dir_of(checkpoint: Path) -> Path:
    """The run folder a checkpoint belongs to (runs/00001-x/checkpoints/latest.pt -> runs/00001-x)."""
    checkpoint = Path(checkpoint)
    return checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
