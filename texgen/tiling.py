"""Large spatial images run in tiles: each output pixel sees only nearby latents, so an image
made tile by tile (each tile with a margin of latent cells around it, cut off its output) has
the whole run's pixels, without the whole image's activations in memory at once.

`TilePolicy` says when and how big (passed to `load_generator`; tests pass small ones);
`probe_tiling` finds, once per generator, whether and how it can be tiled; `run_tiled` makes
one image. The functions take the generator's own batch runner, `run(z, labels) -> images`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Runner = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]

# The margin is found once per generator by a probe: the smallest of MARGINS at which tiles of
# PROBE_CORE cells give what one run of a PROBE_CELLS grid gives (a model whose pixels depend
# on far latents, through a global normalisation say, finds none and is never tiled).
PROBE_CELLS, PROBE_CORE, MARGINS = 24, 4, (2, 3, 4, 6, 8)
# Tiles run at other grid shapes than the whole image, so their pixels may differ in the last
# bits (1e-6 on the CPU; more under a GPU's TF32): a model whose pixels depend on position
# differs by tenths.
TILE_TOLERANCE = 1e-3


@dataclass(frozen=True)
class TilePolicy:
    """A spatial image of more than `pixels` runs in tiles of about `side` pixels a side.

    2048 x 2048: up to there whole runs are faster; a 4096 px stone-texture took 42 s and
    1.7 GB in tiles against 70 s and 12.9 GB whole (8192 px would take 50 GB)."""

    pixels: int = 2048 * 2048
    side: int = 1024


TILES = TilePolicy()
NEVER = TilePolicy(pixels=1 << 62)  # every image whole (benchmarks compare the two)


@dataclass(frozen=True)
class Tiling:
    """How a spatial generator runs in tiles: `margin` latent cells around each tile, taken
    across the grid's far edge (`wrap`, a generator that wraps) or only where the grid has them."""

    margin: int
    wrap: bool


def tile(run: Runner, z: np.ndarray, labels: np.ndarray | None, y: int, x: int, core: int, tiling: Tiling,
         ppc: int) -> np.ndarray:  # fmt: skip
    """The output (C x h x w) of cells [y, y + core) x [x, x + core) of latents z (1 x Z x H x W),
    run with `tiling.margin` cells around them and cut back to them."""
    _, _, h, w = z.shape
    m = tiling.margin
    rows, cols = (y, min(h, y + core)), (x, min(w, x + core))
    if tiling.wrap:
        ys, xs = np.arange(rows[0] - m, rows[1] + m) % h, np.arange(cols[0] - m, cols[1] + m) % w
        top, left = m, m
    else:
        ys, xs = (
            np.arange(max(0, rows[0] - m), min(h, rows[1] + m)),
            np.arange(max(0, cols[0] - m), min(w, cols[1] + m)),
        )
        top, left = rows[0] - ys[0], cols[0] - xs[0]
    out = run(np.ascontiguousarray(z[:, :, ys][:, :, :, xs]), labels)[0]
    return out[:, top * ppc : (top + rows[1] - rows[0]) * ppc, left * ppc : (left + cols[1] - cols[0]) * ppc]


def run_tiled(run: Runner, z: np.ndarray, labels: np.ndarray | None, tiling: Tiling, ppc: int, core: int,
              should_cancel: Callable[[], bool] | None = None,
              on_tile: Callable[[int, int], None] | None = None) -> np.ndarray | None:  # fmt: skip
    """One image (z: 1 x Z x H x W) assembled from tiles of `core` x `core` cells; None when
    `should_cancel` turns true between two tiles (an 8192 px image is 64 tiles, minutes on a
    CPU). `on_tile(done, tiles)` is told after each tile."""
    _, _, h, w = z.shape
    out = None
    tiles, done = -(-h // core) * -(-w // core), 0
    for y in range(0, h, core):
        for x in range(0, w, core):
            if should_cancel is not None and should_cancel():
                return None
            piece = tile(run, z, labels, y, x, core, tiling, ppc)
            if out is None:
                out = np.empty((piece.shape[0], h * ppc, w * ppc), piece.dtype)
            out[:, y * ppc : y * ppc + piece.shape[1], x * ppc : x * ppc + piece.shape[2]] = piece
            done += 1
            if on_tile is not None:
                on_tile(done, tiles)
    return out


def probe_tiling(run: Runner, latent_size: int, conditional: bool, ppc: int) -> Tiling | None:
    """How a generator can run in tiles, or None if it cannot.

    Found first with whole runs of one grid shape (exact on any device: onnxruntime's
    kernels, and cuDNN's TF32 on a GPU, round differently at other shapes, never at one):
    - wrap: whether new latents in the grid's last column change its first pixels, and in its
      last row its first rows (a model that wraps one way only cannot be tiled);
    - margin: the smallest of MARGINS at which new latents everywhere outside a window of
      PROBE_CORE cells plus the margin leave the window's own pixels as they were.
    Then checked as it will run: a corner tile and a middle one, each run alone at its own
    shape, against the whole run, to TILE_TOLERANCE. A model whose pixels depend on where
    they are (a coordinate ramp, say) passes the first test and fails this one.
    """
    rng = np.random.default_rng(0)
    z = rng.standard_normal((1, latent_size, PROBE_CELLS, PROBE_CELLS)).astype(np.float32)
    labels = np.zeros(1, np.int64) if conditional else None
    c = (PROBE_CELLS - PROBE_CORE) // 2

    def changed_by(axis: int) -> bool:  # new latents in the last column (axis 3) or row (axis 2)
        far = z.copy()
        edge = [slice(None)] * 4
        edge[axis] = slice(-1, None)
        far[tuple(edge)] = rng.standard_normal(far[tuple(edge)].shape)
        first = [slice(None)] * 3
        first[axis - 1] = slice(0, ppc)
        return not np.array_equal(run(far, labels)[0][tuple(first)], whole[tuple(first)])

    def region(y: int, x: int) -> tuple[slice, slice, slice]:
        return slice(None), slice(y * ppc, (y + PROBE_CORE) * ppc), slice(x * ppc, (x + PROBE_CORE) * ppc)

    try:
        whole = run(z, labels)[0]
        wrap = changed_by(3)
        if changed_by(2) != wrap:
            return None
        for margin in MARGINS:
            window = slice(c - margin, c + PROBE_CORE + margin)
            other = rng.standard_normal(z.shape).astype(np.float32)
            other[:, :, window, window] = z[:, :, window, window]
            if np.array_equal(run(other, labels)[0][region(c, c)], whole[region(c, c)]):
                tiling = Tiling(margin, wrap)
                for y, x in ((0, 0), (c, c), (PROBE_CELLS - PROBE_CORE, 0)):
                    if not np.allclose(tile(run, z, labels, y, x, PROBE_CORE, tiling, ppc), whole[region(y, x)],
                                       rtol=0, atol=TILE_TOLERANCE):  # fmt: skip
                        return None
                return tiling
    except Exception:  # noqa: BLE001 (a graph that cannot run the probe's grid is simply not tiled)
        return None
    return None
