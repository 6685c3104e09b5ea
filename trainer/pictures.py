"""Pictures of a run: sample grids and the loss and metric plot, each written whole or not at all."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from texgen.atomic import atomic_path


def to_uint8(batch: np.ndarray) -> np.ndarray:
    """NCHW in [-1, 1] -> NHWC uint8 (0.5 * x + 0.5, not the course's 0.5 * x + 1)."""
    x = np.clip(np.asarray(batch, np.float32) * 0.5 + 0.5, 0.0, 1.0)
    return np.round(x * 255.0).astype(np.uint8).transpose(0, 2, 3, 1)


def material_views(batch: np.ndarray, channel_names: Sequence[str]) -> np.ndarray:
    """A material batch (NCHW [-1, 1], channels named as texgen.materials.LAYOUT) as RGB pictures
    twice as large: albedo top left, height top right, roughness bottom left, AO (or the normal
    map when there is one) bottom right, so a sample grid shows every map agreeing."""
    names = list(channel_names)

    def plane(name: str) -> np.ndarray:
        if name not in names:
            return np.zeros((batch.shape[0], 3, *batch.shape[2:]), np.float32)
        return np.repeat(batch[:, names.index(name)][:, None], 3, axis=1)

    albedo = batch[:, [names.index(c) for c in ("albedo.r", "albedo.g", "albedo.b")]]
    corner = (
        batch[:, [names.index(c) for c in ("normal.x", "normal.y", "normal.z")]] if "normal.x" in names else plane("ao")
    )
    top = np.concatenate([albedo, plane("height")], axis=3)
    bottom = np.concatenate([plane("roughness"), corner], axis=3)
    return np.concatenate([top, bottom], axis=2)


def save_grid(batch: np.ndarray, path: Path, channel_names: Sequence[str] = (), columns: int = 8, pad: int = 2) -> Path:
    """Write an NCHW [-1, 1] batch as one PNG grid, `columns` wide (grey for 1 channel; a
    material's maps side by side, see material_views)."""
    if channel_names:
        batch = material_views(np.asarray(batch, np.float32), channel_names)
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
    with atomic_path(path, keep_suffix=True, export_errors=False) as tmp:
        image.save(tmp, format="PNG")
    return path


def save_derived_maps(derived: Sequence[tuple[str, dict[str, np.ndarray]]], folder: Path) -> list[Path]:
    """Write each material's derived maps as 8-bit PNGs `NAME_MAP.png` (albedo beside them)."""
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for name, maps in derived:
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._") or "material"
        for map_name, values in maps.items():
            u8 = np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
            path = folder / f"{stem}_{map_name}.png"
            with atomic_path(path, keep_suffix=True, export_errors=False) as tmp:
                Image.fromarray(u8).save(tmp, format="PNG")
            written.append(path)
    return written


def plot_stats(stats: list[dict[str, Any]], path: Path) -> Path | None:
    """Losses (and metrics when evaluated) against generator steps, as a PNG."""
    if not stats:
        return None
    import matplotlib  # lazily: only the trainer needs it, and only here  # noqa: PLC0415

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt  # noqa: PLC0415

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
        with atomic_path(path, keep_suffix=True, export_errors=False) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)
    return path
