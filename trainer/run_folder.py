"""The run folder: numbered, self-describing, written only by rank 0.

    runs/00003-spatial-wgan-gp-gravel/
        config.json            the resolved TrainConfig
        stats.jsonl            one JSON object per logging step (losses, rates, metrics)
        samples/step-000500.png  grids from fixed latents (pictures.py)
        plot.png               losses and metrics against steps (pictures.py)
        checkpoints/latest.pt  (checkpoint.py)
        generator.onnx, model-card.md  (to_onnx.py)

Every file is written under a temporary name and renamed (texgen.atomic), so a reader (the
GUI) never sees half a file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from texgen.atomic import naming


def slug(text: str) -> str:
    """A file-name-safe version of a run name."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return s[:60] or "run"


def make_run_dir(out: Path, name: str) -> Path:
    """Create `out/NNNNN-name` with the next free number (safe against a concurrent run)."""
    out = Path(out).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not out.is_dir():
            raise NotADirectoryError(20, "not a folder")
    except OSError as exc:
        from texgen.errors import RequestError  # noqa: PLC0415

        raise RequestError(
            f"cannot create the run folder under {out} ({exc.strerror or exc})",
            "choose a writable folder with --out",
        ) from None
    while True:
        numbers = [int(m.group(1)) for p in out.iterdir() if (m := re.match(r"(\d{5})-", p.name))]
        run = out / f"{max(numbers, default=-1) + 1:05d}-{slug(name)}"
        try:
            run.mkdir()
        except FileExistsError:
            continue
        (run / "samples").mkdir()
        (run / "checkpoints").mkdir()
        return run


class StatsLog:
    """Appends one JSON line per logging step to stats.jsonl, flushed at once."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / "stats.jsonl"

    def write(self, record: dict[str, Any]) -> None:
        with naming(self.path), open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
