"""The run folder: numbered, self-describing, written only by rank 0.

    runs/00003-spatial-wgan-gp-gravel/
        config.json            the resolved TrainConfig
        stats.jsonl            one JSON object per logging step (losses, rates, metrics)
        samples/step-000500.png  grids from fixed latents
        plot.png               losses and metrics against steps
        checkpoints/latest.pt  (checkpoint.py)
        generator.onnx, model-card.md  (export.py)

Every file is written under a temporary name and renamed, so a reader (the GUI) never sees
half a file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import uuid
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image


@contextlib.contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """Yield a unique temporary path beside `path` (same suffix, so writers that read the
    format from it still do); on success rename it onto `path`, on failure remove it.

    The writer creates the file like any other (the umask's permissions), unlike mkstemp,
    whose private 0600 mode would make exported models unreadable to other users.
    """
    path = Path(path)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        with naming(path, temporary=tmp):
            yield tmp
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def naming(path: Path, temporary: Path | None = None) -> Iterator[None]:
    """A failed write (disk full, file too large) raises an OSError that names no file, and a
    failed open or rename (the folder gone) one that names the `temporary` file the user never
    asked for: make it name `path`, so the one-line error says which file could not be written."""
    try:
        yield
    except OSError as exc:
        named = exc.filename is not None and (temporary is None or str(exc.filename) != str(temporary))
        if exc.errno is None or named:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


def write_atomic(path: Path, data: bytes) -> None:
    with atomic_target(path) as tmp:
        tmp.write_bytes(data)


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


def to_uint8(batch: np.ndarray) -> np.ndarray:
    """NCHW in [-1, 1] -> NHWC uint8 (0.5 * x + 0.5, not the course's 0.5 * x + 1)."""
    x = np.clip(np.asarray(batch, np.float32) * 0.5 + 0.5, 0.0, 1.0)
    return np.round(x * 255.0).astype(np.uint8).transpose(0, 2, 3, 1)


def save_grid(batch: np.ndarray, path: Path, columns: int = 8, pad: int = 2) -> Path:
    """Write an NCHW [-1, 1] batch as one PNG grid, `columns` wide (grey for 1 channel)."""
    imgs = to_uint8(batch)
    n, h, w, c = imgs.shape
    rows = math.ceil(n / columns)
    cols = min(columns, n)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 32, np.uint8)
    for i, img in enumerate(imgs):
        r, k = divmod(i, columns)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + k * (w + pad) : pad + k * (w + pad) + w] = img
    image = Image.fromarray(grid[:, :, 0] if c == 1 else grid)  # L or RGB from the shape
    path = Path(path)
    with atomic_target(path) as tmp:
        image.save(tmp, format="PNG")
    return path


def plot_stats(stats: list[dict[str, Any]], path: Path) -> Path | None:
    """Losses (and metrics when evaluated) against generator steps, as a PNG."""
    if not stats:
        return None
    import matplotlib  # lazily: only the trainer needs it, and only here

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    loss_keys = [k for k in ("d", "g", "wasserstein", "gp") if any(k in r.get("losses", {}) for r in stats)]
    evals = [r for r in stats if r.get("metrics")]
    metric_keys = [k for k in ("swd", "memorisation_ratio", "seam_score") if any(k in r["metrics"] for r in evals)]
    panels = 1 + (1 if metric_keys else 0)
    fig, axes = plt.subplots(panels, 1, figsize=(8, 3.2 * panels), squeeze=False)
    fig.subplots_adjust(left=0.1, right=0.9, top=0.96, bottom=0.16 / panels, hspace=0.4)  # not tight_layout: 0.5 s
    ax = axes[0][0]
    for key in loss_keys:
        pts = [(r["step"], r["losses"][key]) for r in stats if r.get("losses", {}).get(key) is not None]
        if pts:  # a window's losses are null where mixed precision overflowed (trainer/loop.py)
            ax.plot(*zip(*pts), label=key, linewidth=1)
    ax.set_xlabel("generator step")
    ax.set_ylabel("loss")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    if metric_keys:  # SWD (x1e3, tens) on the left axis, the ratios (about 1) on the right
        ax = axes[1][0]
        right = ax.twinx()
        for key, axis, colour in (("swd", ax, "C0"), ("memorisation_ratio", right, "C1"), ("seam_score", right, "C2")):
            pts = [(r["step"], r["metrics"][key]) for r in evals if key in r["metrics"]]
            if pts:
                axis.plot(*zip(*pts), marker="o", color=colour, label=key)
        ax.set_xlabel("generator step")
        ax.set_ylabel("swd (x1e3)")
        right.set_ylabel("ratio")
        handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
        ax.legend(handles, [h.get_label() for h in handles], loc="best", fontsize="small")
        ax.grid(alpha=0.3)
    path = Path(path)
    try:
        with atomic_target(path) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)
    return path
