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


_NUMBERED = re.compile(r"(\d{5})(?:-|$)")  # a run folder "NNNNN-name", or a number held by a starting run


def _number(path: Path) -> int | None:
    m = _NUMBERED.match(path.name)
    return int(m.group(1)) if m else None


def _numbers(out: Path) -> set[int]:
    return {n for p in out.iterdir() if (n := _number(p)) is not None}


def make_run_dir(out: Path, name: str) -> Path:
    """Create `out/NNNNN-name` with the next free number, unique even against runs that start
    at the same moment under other names. A number is taken by creating the folder `NNNNN`
    (mkdir fails if another run holds it), checked again against the folders that exist now
    (another run may have taken it between our look and our mkdir, and renamed its folder
    since), and the folder is then renamed to its full name."""
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
        number = max(_numbers(out), default=-1) + 1
        held = out / f"{number:05d}"
        try:
            held.mkdir()
        except FileExistsError:
            continue
        if any(p != held and _number(p) == number for p in out.iterdir()):
            held.rmdir()  # taken by a run that looked before us and has renamed its folder since
            continue
        run = out / f"{number:05d}-{slug(name)}"
        held.rename(run)  # no other folder has this number while we hold it
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
