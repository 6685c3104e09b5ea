"""Erosion: a post-process for any heightmap, as terrain tools (Gaea, World Machine) offer.

Generated terrain (and fBm) has hills but no drainage: valleys that never join. Water does
that work in nature, and three classical simulations do it here, vectorised in numpy, run in
this order:

- **rivers** (stream power; Braun & Willett 2013, "FastScape"): the lowest 2 % of the map (and
  an open map's border) is base level, depressions are filled to their spill point, and each
  iteration routes all water downhill (D8), sums the drainage area A of every cell and lowers
  each cell towards the one it drains to in proportion to A^0.5, implicitly, from the outlets
  upstream. Big rivers cut deepest and capture their neighbours' water, so the valleys join
  into one network: on 256 px crops of the bundled terrain 5 iterations bring the drainage-area
  exponent from -0.59 to -0.55 (real DEMs: -0.52; docs/models.md); with 1 thermal iteration
  after them the power spectrum and slope distribution stay as close to real DEMs' as before.
  The cut channels are a cell wide (D8). `rivers` iterations; ten take about 0.6 s on a 512 px
  map, 3 s at 1024 px (2 CPU cores; docs/performance.md).
- **hydraulic** (droplets; Beyer 2015, "Implementation of a method for hydraulic erosion"):
  raindrops start on random cells, run downhill with some inertia, pick up sediment where they
  speed up and the slope can carry more (capacity = slope x speed x water x `capacity`), drop
  it where they slow down or the ground rises, and evaporate. Thousands run at once (8192, or
  one per 32 cells on maps over 512 px, so a large map erodes alike and its time grows with its
  area, not with its square), each step of all of them one set of array operations (they read
  the heights of the step before, so two in one cell do not see each other's change within a
  step). Gullies form where drops gather
  and the sediment fills the basins (so the drainage statistics do not move towards real
  ones: `rivers` does that). `rain` droplets per cell (1: as many droplets as cells).
- **thermal** (talus; Musgrave et al. 1989): material slides from a cell to lower neighbours
  where the slope is steeper than the talus slope, and settles at that slope: scree at the
  foot of cliffs, softened crests. `thermal` iterations; the talus slope is the map's mean
  slope, so the steeper parts move (about a third of a terrain), at any height scale.

Heights are H x W floats in any range. The droplet simulation runs on the map scaled to a relief of
side / 85 (6 for a 512 px map: Beyer's constants were set for slopes of about a hundredth per
cell on 0-1 heights, and a 512 px generated terrain's are a third of that; at 1 or 2 the
droplets bury every valley in sediment) and is scaled back, so a map looks eroded alike at
any size. With `wrap`, every step reads across the borders and droplets leave one side to
come in on the other, and rivers flow across the seams, so a tileable map stays exactly
tileable (the tests check the seam); without it droplets and rivers that leave the map are
gone and thermal flow stops at the edge.

On a CUDA GPU (`device="cuda"`: where the model runs on one) the droplets and the talus run as
ONNX graphs through onnxruntime (texgen/erosion_graphs.py, the same operations); the rivers,
sequential along each flow path, stay on the CPU.

Deterministic: the same heights, settings and seed give the same result on the CPU. On a GPU
the droplets that meet in one cell are summed in whatever order its threads finish, so the
heights can differ in the last bits from run to run and from the CPU's, and where such a bit
moves a droplet across a cell's edge, it takes another path: the same erosion, other gullies.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from texgen.errors import ModelError, RequestError

MAX_RAIN = 8.0  # droplets per cell: beyond this the map is washed flat and the time is minutes
MAX_THERMAL = 500  # iterations
MAX_RIVERS = 200  # iterations of stream-power incision
TALUS = 1.0  # the talus slope over the map's mean slope: the steeper third of a terrain moves
RELIEF_CELLS = 85  # the simulated relief is the map's side over this (see the module's docstring)
RIVER_K = 0.05  # stream power: a cell sinks towards its receiver by K x A^M / step per iteration
RIVER_M = 0.5  # the area exponent of the stream-power law (m/n of 0.5: real rivers' concavity)
SEA = 0.02  # the lowest share of a map's cells is its base level: water leaves the map there


@dataclass(frozen=True)
class Erosion:
    """What erosion does to a heightmap: `rain` hydraulic droplets per cell and `thermal`
    talus iterations (0 and 0: none). Droplet constants after Beyer (2015)."""

    rain: float = 0.0
    thermal: int = 0
    rivers: int = 0  # iterations of stream-power incision (run first: the valleys, then gullies and scree)
    inertia: float = 0.05  # how much a droplet keeps its direction (0: straight down the slope)
    capacity: float = 4.0  # sediment a droplet can carry per unit of slope x speed x water
    deposition: float = 0.3  # share of the excess sediment dropped per step
    erosion: float = 0.3  # share of the free capacity taken from the ground per step
    evaporation: float = 0.01  # share of a droplet's water lost per step
    gravity: float = 4.0
    min_slope: float = 0.01  # capacity on flat ground is as on this slope (droplets never stall)
    radius: int = 3  # cells a droplet erodes around it (a brush: no single-cell pits)
    steps: int = 30  # a droplet's lifetime

    @property
    def active(self) -> bool:
        return self.rain > 0 or self.thermal > 0 or self.rivers > 0

    def problems(self) -> list[str]:
        out = []
        if not (math.isfinite(self.rain) and 0 <= self.rain <= MAX_RAIN):
            out.append(f"erosion rain {self.rain} is not between 0 and {MAX_RAIN:g} droplets per cell")
        if not 0 <= self.thermal <= MAX_THERMAL:
            out.append(f"thermal erosion {self.thermal} is not between 0 and {MAX_THERMAL} iterations")
        if not 0 <= self.rivers <= MAX_RIVERS:
            out.append(f"river erosion {self.rivers} is not between 0 and {MAX_RIVERS} iterations")
        return out

    def describe(self) -> dict:
        """What a sidecar records: the three settings an artist gives (the constants are fixed)."""
        return {"rain": self.rain, "thermal": self.thermal, "rivers": self.rivers,
                "method": "stream power (Braun & Willett 2013), then droplets (Beyer 2015), then talus"}  # fmt: skip

    def flag(self) -> str:
        """The `--erosion` value that gives these settings back, by name in the order they run
        (e.g. "rivers=10,thermal=1"); older commands' positional form still parses."""
        rain = f"{self.rain:g}" if float(f"{self.rain:g}") == self.rain else repr(self.rain)
        named = [("rivers", self.rivers), ("rain", rain), ("thermal", self.thermal)]
        return ",".join(f"{k}={v}" for k, v in named if float(v)) or "rain=0"


def erodes(erosion: Erosion | None, kind: str) -> bool:
    """Whether `erosion` changes an image of a model of this kind: given, doing something, and
    the image a heightmap (textures and materials are written without it)."""
    return erosion is not None and erosion.active and kind == "heightmap"


# What the terrain card advises, and what the app's Erosion menu offers: stream-power rivers, then
# one talus iteration to soften their one-cell channels. On the bundled terrain it brings the
# drainage-area exponent within 10 % of real DEMs' (5 % off, where the terrain as generated is 13 %)
# and keeps its power spectrum and slope distribution (docs/models.md, "River erosion").
DRAINAGE = Erosion(rivers=10, thermal=1)

EROSION_FORMS = "RAIN[,THERMAL[,RIVERS]] or NAME=VALUE pairs (rain=, thermal=, rivers=)"
_NAMES = ("rain", "thermal", "rivers")


def parse_erosion(text: str) -> Erosion:
    """`--erosion RAIN[,THERMAL[,RIVERS]]`, e.g. "1", "1.5,40" or "0,0,40": droplets per cell,
    talus iterations, stream-power iterations; or the same by name, e.g. "rivers=40,rain=0.5"."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        if any("=" in p for p in parts):
            pairs = [p.split("=", 1) for p in parts]
            names = [k.strip().lower() for k, _ in pairs]
            if any(k not in _NAMES for k in names) or len(set(names)) != len(names):
                raise ValueError
            given = {k: v.strip() for k, (_, v) in zip(names, pairs)}
        else:
            if len(parts) > 3 or not parts[0]:
                raise ValueError
            given = {k: v for k, v in zip(_NAMES, parts) if v}
        e = Erosion(rain=float(given.get("rain", 0)), thermal=int(given.get("thermal", 0)),
                    rivers=int(given.get("rivers", 0)))  # fmt: skip
    except ValueError:
        raise RequestError(
            f"erosion {text!r} is not {EROSION_FORMS}",
            "give droplets per cell, then optionally talus and river iterations, e.g. --erosion 1, "
            "--erosion 1.5,40 or --erosion rivers=10,thermal=1",
        ) from None
    check_erosion(e)
    return e


def check_erosion(e: Erosion) -> None:
    problems = e.problems()
    if problems:
        raise RequestError(
            problems[0],
            f"use a rain of 0 to {MAX_RAIN:g}, 0 to {MAX_THERMAL} thermal and 0 to {MAX_RIVERS} river iterations",
        )


def erode(
    height: np.ndarray,
    settings: Erosion,
    *,
    wrap: bool = True,
    seed: int = 0,
    device: str = "cpu",
    notes: list[str] | None = None,
) -> np.ndarray:
    """`height` (H x W, or H x W x 1) eroded as `settings` say: rivers, hydraulic, thermal.
    `device`: where the droplets and the talus run. "cuda" (or "auto" where onnxruntime lists
    CUDA) runs them as graphs on the GPU (texgen/erosion_graphs.py); where that cannot start,
    they run in numpy and a line saying why goes into `notes` (once). Anything else: numpy, on the CPU.
    The rivers always run on the CPU."""
    check_erosion(settings)
    gpu = _gpu_passes(device, notes) if settings.rain > 0 or settings.thermal > 0 else None
    return erode_with(gpu, height, settings, wrap=wrap, seed=seed)


def erode_with(gpu, height: np.ndarray, settings: Erosion, *, wrap: bool = True, seed: int = 0) -> np.ndarray:
    """`erode` with the droplets and the talus run by `gpu` (texgen.erosion_graphs.GraphPasses,
    on any onnxruntime device: the tests and the benchmarks run them on the CPU) or, if None,
    in numpy."""
    check_erosion(settings)
    h = np.asarray(height, dtype=np.float64)
    squeeze = h.ndim == 3
    if squeeze:
        h = h[..., 0]
    if h.ndim != 2 or min(h.shape) < 2 * settings.radius + 2:
        raise RequestError(
            f"a heightmap of shape {np.shape(height)} is too small to erode", "erode maps of 16 px or more"
        )
    if not np.all(np.isfinite(h)):
        raise RequestError("the heightmap holds NaN or infinite values", "check the model's output")
    if not settings.active:
        return np.asarray(height, dtype=np.float32).copy()
    low, span = float(h.min()), float(np.ptp(h)) or 1.0
    relief = max(h.shape) / RELIEF_CELLS
    u = (h - low) / span * relief
    if settings.rivers > 0:
        u = _rivers(u, settings.rivers, wrap)
    if settings.rain > 0:
        u = _hydraulic(u, settings, wrap, np.random.default_rng(seed), gpu)
    if settings.thermal > 0:
        u = _thermal(u, settings.thermal, wrap, gpu=gpu)
    out = (u / relief * span + low).astype(np.float32)
    return out[..., None] if squeeze else out


def _gpu_passes(device: str, notes: list[str] | None):
    """The graphs' runner on a CUDA GPU when `device` asks for one and it starts, else None."""
    if device not in ("cuda", "auto"):
        return None
    from texgen import erosion_graphs  # noqa: PLC0415 (onnx graphs: built only where a GPU may run them)

    if device == "auto" and "cuda" not in erosion_graphs.available_devices():
        return None
    try:
        return erosion_graphs.GraphPasses("cuda")
    except ModelError as exc:
        line = f"erosion ran on the CPU: {exc.problem}"
        if notes is not None and device == "cuda" and line not in notes:  # "auto" falls back quietly
            notes.append(line)
        return None


_NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


# --- rivers: stream power ------------------------------------------------------------------


def _border(hgt: int, wid: int) -> np.ndarray:
    edge = np.zeros((hgt, wid), bool)
    edge[[0, -1], :] = edge[:, [0, -1]] = True
    return edge.ravel()


def fill_depressions(
    heights: np.ndarray, *, wrap: bool = False, outlets: np.ndarray | None = None, epsilon: float = 0.0
) -> np.ndarray:
    """Every cell of a 2-D height array raised just enough that a strictly descending path
    leads from it to an outlet (a flat boolean mask; by default the border of an open map):
    what Priority-Flood+epsilon (Barnes, Lehman & Mulla 2014) gives, without its per-cell
    Python loop. First the plain fill, exactly (`_spill_fill`: lakes filled flat to their spill
    point); then each flat (a lake's surface, or level ground) is tilted towards where it drains:
    a cell n steps from the nearest cell of the same height that drains gets n x `epsilon`
    (or n units in the last place of the highest height, with 0), as the flood raises it in
    Priority-Flood. On the bundled terrain the two agree to 5e-12 (docs/performance.md). A cell
    left without a lower neighbour by that tilt (one less than n epsilons above a lake) is filled
    and tilted again. `wrap`: neighbours across the borders, as on a tileable map; off an open
    map's edge is nowhere (water leaves there only through outlets)."""
    hgt, wid = heights.shape
    if outlets is None:
        outlets = _border(hgt, wid)
    if not outlets.any():
        raise ValueError("no outlet: water has nowhere to leave the map")
    z = np.asarray(heights, dtype=np.float64)
    for _ in range(_FILL_ROUNDS):
        z = _spill_fill(z, outlets, wrap)
        lacking = _undrained(z, outlets, wrap)
        if not lacking.any():
            return z
        step = epsilon if epsilon > 0 else float(np.spacing(np.abs(z).max()))
        z = z + step * _flat_steps(z, lacking, wrap).reshape(hgt, wid)
        if not _undrained(z, outlets, wrap).any():
            return z
    raise RuntimeError(f"depression filling did not settle in {_FILL_ROUNDS} rounds")


_FILL_ROUNDS = 64  # a tilted lake can leave a cell just above it without a lower neighbour; seen: 8 rounds on contrived maps, 1 on terrain
_HALF_NEIGHBOURS = [(0, 1), (1, 0), (1, 1), (1, -1)]  # each pair of neighbours once


def _shifted(a: np.ndarray, pad, wrap: bool):
    """The 8 neighbour views of `a` (H x W), in _NEIGHBOURS' order: across the borders with
    `wrap`, else `pad` off the map."""
    hgt, wid = a.shape
    padded = np.pad(a, 1, mode="wrap") if wrap else np.pad(a, 1, constant_values=pad)
    return (padded[1 + dy : 1 + dy + hgt, 1 + dx : 1 + dx + wid] for dy, dx in _NEIGHBOURS)


def _undrained(z: np.ndarray, outlets: np.ndarray, wrap: bool) -> np.ndarray:
    """The cells (flat mask) that are not outlets and have no strictly lower neighbour."""
    lowest = np.full(z.shape, np.inf)
    for view in _shifted(z, np.inf, wrap):
        np.minimum(lowest, view, out=lowest)
    return (lowest >= z).ravel() & ~outlets


def _neighbour_pairs(hgt: int, wid: int, dy: int, dx: int, wrap: bool) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices (a, b) of every pair of cells with b at (dy, dx) from a, on the map."""
    index = np.arange(hgt * wid).reshape(hgt, wid)
    across = np.roll(index, (-dy, -dx), axis=(0, 1))
    if wrap:
        return index.ravel(), across.ravel()
    rows, cols = slice(max(0, -dy), hgt - max(0, dy)), slice(max(0, -dx), wid - max(0, dx))
    return index[rows, cols].ravel(), across[rows, cols].ravel()


def _spill_fill(z: np.ndarray, outlets: np.ndarray, wrap: bool) -> np.ndarray:
    """The plain depression fill, exact, over the graph of basins (as Cordonnier, Bovy & Braun
    2019 route flow over depressions): each cell's basin is where its steepest descent ends (an
    outlet, or a pit: no lower neighbour); two neighbouring basins spill into each other at
    the lowest max(z_a, z_b) over their neighbouring cells a, b; a Priority-Flood over the
    basins from the outlets (a few thousand nodes, where the cells are millions) gives each
    pit's water level, the lowest height a path from it to an outlet must climb to. A cell's
    fill is its own height or its basin's water level, the higher."""
    hgt, wid = z.shape
    flat = z.ravel()
    receiver, _ = d8_receivers(z, outlets, wrap)
    pits = np.flatnonzero((receiver < 0) & ~outlets)
    if pits.size == 0:
        return z.copy()
    nodes = pits.size + 1  # node 0: every outlet's basin, which never fills
    node = np.zeros(flat.size, np.int64)
    node[pits] = np.arange(1, nodes)
    basin = node[_ends(receiver)]
    keys, spills = [], []
    for dy, dx in _HALF_NEIGHBOURS:
        a, b = _neighbour_pairs(hgt, wid, dy, dx, wrap)
        ba, bb = basin[a], basin[b]
        differ = ba != bb
        a, b, ba, bb = a[differ], b[differ], ba[differ], bb[differ]
        keys.append(np.minimum(ba, bb) * nodes + np.maximum(ba, bb))
        spills.append(np.maximum(flat[a], flat[b]))
    key, spill = np.concatenate(keys), np.concatenate(spills)
    order = np.argsort(key)
    key, spill = key[order], spill[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    spill = np.minimum.reduceat(spill, first)  # each pair of basins once, at its lowest pass
    low, high = np.divmod(key[first], nodes)
    source, target = np.concatenate([low, high]), np.concatenate([high, low])
    order = np.argsort(source, kind="stable")
    targets, passes = target[order].tolist(), np.concatenate([spill, spill])[order].tolist()
    start = np.r_[0, np.cumsum(np.bincount(source, minlength=nodes))].tolist()
    level = [math.inf] * nodes
    level[0] = -math.inf
    done = [False] * nodes
    heap = [(-math.inf, 0)]
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        here, n = pop(heap)
        if done[n]:
            continue
        done[n] = True
        for e in range(start[n], start[n + 1]):
            m = targets[e]
            over = max(here, passes[e])
            if over < level[m]:
                level[m] = over
                push(heap, (over, m))
    return np.maximum(flat, np.array(level)[basin]).reshape(hgt, wid)


def _ends(receiver: np.ndarray) -> np.ndarray:
    """Where each cell's path of receivers ends (itself where it has none), by pointer jumping."""
    end = np.where(receiver >= 0, receiver, np.arange(receiver.size))
    going = np.flatnonzero(receiver >= 0)
    while going.size:
        end[going] = end[end[going]]
        going = going[end[going] != end[end[going]]]
    return end


def _flat_steps(z: np.ndarray, lacking: np.ndarray, wrap: bool) -> np.ndarray:
    """For each `lacking` cell (flat mask), how many steps through cells of its own height lead
    to one that drains (0 elsewhere): a breadth-first search from the flats' draining edges,
    one array operation per step and direction over the cells reached in the step before."""
    hgt, wid = z.shape
    flat = z.ravel()
    edge = np.zeros(z.shape, bool)
    for same, lacks in zip(_shifted(z, np.nan, wrap), _shifted(lacking.reshape(hgt, wid), True, wrap)):
        edge |= ~lacks & (same == z)
    front = np.flatnonzero(edge.ravel() & lacking)
    steps = np.zeros(flat.size, np.int64)
    steps[front] = 1
    reached = ~lacking
    reached[front] = True
    n = 1
    while front.size:
        n += 1
        rows, cols = np.divmod(front, wid)
        found = []
        for dy, dx in _NEIGHBOURS:
            r, c = rows + dy, cols + dx
            if wrap:
                j, f = (r % hgt) * wid + c % wid, front
            else:
                on = (r >= 0) & (r < hgt) & (c >= 0) & (c < wid)
                j, f = r[on] * wid + c[on], front[on]
            j = j[~reached[j] & (flat[j] == flat[f])]
            reached[j] = True
            steps[j] = n
            found.append(j)
        front = np.concatenate(found)
    return steps


def d8_receivers(z: np.ndarray, outlet: np.ndarray | None = None, wrap: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(receiver, step) of every cell of the H x W heights `z`, flat: the neighbour of steepest
    descent (drop over distance, diagonals sqrt 2 away; of equal drops the first in
    _NEIGHBOURS' order) and its distance; -1 (step 1) at the `outlet` cells (a flat mask) and
    where no neighbour is lower (off an open map's edge the flow leaves it). Each direction
    updates the best drop and its direction's number in place; the receivers are computed once
    from the winning numbers: memory of a few maps, no index map per direction."""
    hgt, wid = z.shape
    best = np.zeros((hgt, wid))
    drop = np.empty((hgt, wid))
    better = np.empty((hgt, wid), bool)
    code = np.full((hgt, wid), -1, np.int8)  # the winning direction's index in _NEIGHBOURS
    for k, ((dy, dx), neighbour) in enumerate(zip(_NEIGHBOURS, _shifted(z, np.inf, wrap))):
        np.subtract(z, neighbour, out=drop)
        np.divide(drop, math.hypot(dy, dx), out=drop)
        np.greater(drop, best, out=better)
        np.copyto(best, drop, where=better)
        code[better] = k
    code = code.ravel()
    flows = code >= 0
    dys, dxs = np.array(_NEIGHBOURS).T
    lengths = np.hypot(dys, dxs)
    cells = np.flatnonzero(flows)
    rows, cols = np.divmod(cells, wid)
    c = code[cells]
    receiver = np.full(hgt * wid, -1, np.int64)
    receiver[cells] = ((rows + dys[c]) % hgt) * wid + (cols + dxs[c]) % wid
    step = np.ones(hgt * wid)
    step[cells] = lengths[c]
    if outlet is not None:
        receiver[outlet] = -1
    return receiver, step


def _levels(receiver: np.ndarray) -> list[np.ndarray]:
    """The cells grouped by how many steps downstream their outlet is (1, 2, ...): a cell's
    receiver is always in the group before its own. Depth by pointer jumping: log2 of the
    longest path of array operations, each over the cells whose jump has not yet reached an
    outlet (the right-hand sides are read before the assignments, so every cell jumps from the
    round before's values). The cells are then sorted by depth, stably, by a radix sort where
    the depths fit 16 bits."""
    depth = (receiver >= 0).astype(np.int64)
    ahead = receiver.copy()
    going = np.flatnonzero(ahead >= 0)
    while len(going):
        nxt = ahead[going]
        depth[going] += depth[nxt]
        ahead[going] = ahead[nxt]
        going = going[ahead[going] >= 0]
    deepest = int(depth.max())
    order = np.argsort(depth.astype(np.uint16) if deepest < 2**16 else depth, kind="stable")
    bounds = np.searchsorted(depth[order], np.arange(1, deepest + 1))
    return np.split(order, bounds)[1:]


def _rivers(u: np.ndarray, iterations: int, wrap: bool) -> np.ndarray:
    """Stream-power incision, implicit in time (Braun & Willett 2013, "FastScape"): the map's
    lowest SEA share (and an open map's border) is base level; depressions are filled to their
    spill point (lakes silted up); then each iteration routes water by steepest descent (D8),
    accumulates drainage area A (cells) and lowers every cell towards its receiver, from the
    outlets upstream: z = (z + f z_receiver) / (1 + f), f = RIVER_K A^RIVER_M / step. Big
    rivers cut deep and capture their neighbours' flow, so valleys join into one network: real
    drainage statistics (the area exponent of 0.5 measured on DEMs, where generated terrain
    has 0.6). Linear in the heights, so the relief's scale does not matter."""
    hgt, wid = u.shape
    outlet = (u <= np.quantile(u, SEA)).ravel()
    if not wrap:
        outlet |= _border(hgt, wid)
    eps = 1e-9 * (float(np.ptp(u)) or 1.0)  # the least drop kept along a flow path: no flats, no pits
    z = fill_depressions(u, wrap=wrap, outlets=outlet, epsilon=eps).ravel()
    for _ in range(iterations):
        receiver, step = d8_receivers(z.reshape(hgt, wid), outlet, wrap)
        levels = _levels(receiver)
        area = np.ones(z.size)
        for group in reversed(levels):
            np.add.at(area, receiver[group], area[group])
        f = RIVER_K * area**RIVER_M / step
        for group in levels:
            low = z[receiver[group]]
            z[group] = np.maximum((z[group] + f[group] * low) / (1 + f[group]), low + eps * step[group])
    return z.reshape(hgt, wid)


# --- hydraulic: droplets -------------------------------------------------------------------


def _brush(radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (dy, dx) within `radius` and their weights (1 - distance / radius, summing to 1)."""
    r = np.arange(-radius, radius + 1)
    dy, dx = np.meshgrid(r, r, indexing="ij")
    d = np.hypot(dy, dx)
    keep = d < radius
    w = 1.0 - d[keep] / radius
    return dy[keep], dx[keep], w / w.sum()


def _hydraulic(u: np.ndarray, s: Erosion, wrap: bool, rng: np.random.Generator, gpu=None) -> np.ndarray:
    """Droplets in batches: one per 32 cells at once (8192 at least), each batch's start points
    from `rng`. `gpu`: texgen.erosion_graphs.GraphPasses, or None to run them in numpy."""
    hgt, wid = u.shape
    n_cells = hgt * wid
    total = int(round(s.rain * n_cells))
    flat = u.ravel().copy()
    batch = max(8192, n_cells // 32)  # droplets at once: as on a 512 px map, one per 32 cells
    for start in range(0, total, batch):
        n = min(batch, total - start)
        y = rng.uniform(0, hgt, n) if wrap else rng.uniform(0, hgt - 1, n)
        x = rng.uniform(0, wid, n) if wrap else rng.uniform(0, wid - 1, n)
        # The direction each droplet takes at each step if it stalls on a flat, drawn ahead (a
        # graph cannot call back for them), so both ways draw the same numbers from `rng`.
        angles = rng.uniform(0, 2 * np.pi, (s.steps, n))
        if gpu is None:
            _droplets(flat, y, x, angles, s, (hgt, wid), wrap)
        else:
            flat = gpu.droplets(flat, y, x, angles, (hgt, wid), wrap, s)
    return flat.reshape(hgt, wid)


def _droplets(
    flat: np.ndarray, y: np.ndarray, x: np.ndarray, angles: np.ndarray, s: Erosion, shape, wrap: bool
) -> None:
    """One batch of droplets starting at (y, x), their lifetimes in steps; `flat` (the heights,
    raveled) changes in place. `angles` (steps x droplets): the way a droplet goes where it stalls
    on a flat. texgen/erosion_graphs.py has the same as a graph: change both."""
    hgt, wid = shape
    n_cells, n = hgt * wid, len(y)
    by, bx, bw = _brush(s.radius)
    whole_brush = (bw / np.maximum(bw.sum(keepdims=True), 1e-12))[None, :]  # as each droplet's row below
    dy, dx = np.zeros(n), np.zeros(n)
    speed, water, sediment = np.ones(n), np.ones(n), np.zeros(n)
    alive = np.ones(n, bool)
    for step in range(s.steps):
        if not alive.any():
            break
        idx = np.flatnonzero(alive)
        cy, cx = y[idx], x[idx]
        h0, gy, gx, corners, weights = _sample(flat, cy, cx, hgt, wid, wrap)
        # Direction: a little of the old one, the rest downhill.
        ndy = dy[idx] * s.inertia - gy * (1 - s.inertia)
        ndx = dx[idx] * s.inertia - gx * (1 - s.inertia)
        norm = np.sqrt(ndy * ndy + ndx * ndx)  # not hypot: the graph has none, and one ulp moves a droplet
        still = norm < 1e-12
        if still.any():  # on a flat spot: any direction
            a = angles[step, idx[still]]
            ndy[still], ndx[still], norm[still] = np.sin(a), np.cos(a), 1.0
        ndy, ndx = ndy / norm, ndx / norm
        ny, nx = cy + ndy, cx + ndx
        if wrap:  # the next height is read across the seam, as any other
            ny, nx = ny % hgt, nx % wid
            gone = np.zeros(len(idx), bool)
            h1 = _sample(flat, ny, nx, hgt, wid, wrap)[0]
        else:
            gone = (ny < 0) | (ny >= hgt - 1) | (nx < 0) | (nx >= wid - 1)
            h1 = np.where(gone, h0, _sample(flat, np.clip(ny, 0, hgt - 1.001), np.clip(nx, 0, wid - 1.001),
                                            hgt, wid, wrap)[0])  # fmt: skip
        dh = h1 - h0
        sed, wat, spd = sediment[idx], water[idx], speed[idx]
        cap = np.maximum(-dh, s.min_slope) * spd * wat * s.capacity
        deposit = (sed > cap) | (dh > 0)
        # Deposit: uphill, fill the step (at most what it carries); else drop part of the excess.
        put = np.where(dh > 0, np.minimum(dh, sed), (sed - cap) * s.deposition)
        put = np.where(deposit, put, 0.0)
        # Erode: part of the free capacity, never deeper than the step down.
        take = np.where(deposit, 0.0, np.minimum((cap - sed) * s.erosion, np.maximum(-dh, 0.0)))
        change = np.zeros(n_cells)
        if put.any():
            change += np.bincount(corners.ravel(), (weights * put[:, None]).ravel(), minlength=n_cells)
        if take.any():
            iy = np.floor(cy).astype(np.int64)
            ix = np.floor(cx).astype(np.int64)
            if wrap:  # the whole brush is on the map: the same weights for every droplet
                cells = ((iy[:, None] + by) % hgt) * wid + (ix[:, None] + bx) % wid
                w = whole_brush
            else:
                py, px = iy[:, None] + by[None, :], ix[:, None] + bx[None, :]
                inside = (py >= 0) & (py < hgt) & (px >= 0) & (px < wid)
                w = np.where(inside, bw[None, :], 0.0)
                total = np.zeros(len(w))
                for k in range(w.shape[1]):  # in order, as the graph adds them (not numpy's pairwise sum)
                    total += w[:, k]
                w = w / np.maximum(total[:, None], 1e-12)
                cells = np.where(inside, py * wid + px, 0)
            change -= np.bincount(cells.ravel(), (w * take[:, None]).ravel(), minlength=n_cells)
        flat += change
        sediment[idx] = sed + take - put
        speed[idx] = np.sqrt(np.maximum(spd * spd + dh * s.gravity, 0.0))
        water[idx] = wat * (1 - s.evaporation)
        y[idx], x[idx], dy[idx], dx[idx] = ny, nx, ndy, ndx
        alive[idx[gone]] = False
    # What the droplets still carry settles where they end (on a wrapped map nothing is
    # lost: the mean height stays as it was; off an open map's edge it is gone).
    ends = np.flatnonzero(alive & (sediment > 0))
    if len(ends):
        _, _, _, corners, weights = _sample(flat, y[ends], x[ends], hgt, wid, wrap)
        flat += np.bincount(corners.ravel(), (weights * sediment[ends, None]).ravel(), minlength=n_cells)


def _sample(flat: np.ndarray, y: np.ndarray, x: np.ndarray, hgt: int, wid: int, wrap: bool):
    """Bilinear height and gradient at (y, x); the four corner cells and their weights."""
    iy, ix = np.floor(y).astype(np.int64), np.floor(x).astype(np.int64)
    fy, fx = y - iy, x - ix
    y1, x1 = iy + 1, ix + 1
    if wrap:
        iy, ix, y1, x1 = iy % hgt, ix % wid, y1 % hgt, x1 % wid
    else:
        y1, x1 = np.minimum(y1, hgt - 1), np.minimum(x1, wid - 1)
    c = np.stack([iy * wid + ix, iy * wid + x1, y1 * wid + ix, y1 * wid + x1], axis=1)
    h00, h01, h10, h11 = (flat[c[:, k]] for k in range(4))
    gx = (h01 - h00) * (1 - fy) + (h11 - h10) * fy
    gy = (h10 - h00) * (1 - fx) + (h11 - h01) * fx
    h = h00 * (1 - fx) * (1 - fy) + h01 * fx * (1 - fy) + h10 * (1 - fx) * fy + h11 * fx * fy
    w = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=1)
    return h, gy, gx, c, w


# --- thermal: talus --------------------------------------------------------------------------


def _thermal(u: np.ndarray, iterations: int, wrap: bool, rate: float = 0.5, gpu=None) -> np.ndarray:
    """Material above the talus slope slides to lower neighbours, half the excess per iteration.
    `gpu`: texgen.erosion_graphs.GraphPasses (the same in a graph), or None for numpy."""
    pad = (lambda a: np.pad(a, 1, mode="wrap")) if wrap else (lambda a: np.pad(a, 1, mode="edge"))
    hgt, wid = u.shape
    gy, gx = np.gradient(pad(u))
    talus = TALUS * float(np.mean(np.hypot(gy, gx)[1:-1, 1:-1])) + 1e-12
    if gpu is not None:
        return gpu.talus(u, talus, iterations, wrap, rate)
    dist = np.array([math.hypot(a, b) for a, b in _NEIGHBOURS])
    out = np.empty((len(_NEIGHBOURS), hgt, wid))  # what leaves each cell towards each neighbour
    total, biggest = np.empty((hgt, wid)), np.empty((hgt, wid))
    for _ in range(iterations):
        p = pad(u)
        # The excess over the talus slope towards each neighbour, one direction at a time (a
        # stack of all eight, three times over, took most of a large map's memory); summed in
        # the directions' order, as a sum over a stack's first axis adds them.
        total.fill(0.0)
        biggest.fill(0.0)
        for k, (a, b) in enumerate(_NEIGHBOURS):
            excess = out[k]
            np.subtract(u, p[1 + a : 1 + a + hgt, 1 + b : 1 + b + wid], out=excess)
            np.subtract(excess, talus * dist[k], out=excess)
            np.maximum(excess, 0.0, out=excess)
            total += excess
            np.maximum(biggest, excess, out=biggest)
        # Move half the largest excess, shared among the lower neighbours by their excess.
        moved = np.where(total > 0, rate * 0.5 * biggest / np.maximum(total, 1e-12), 0.0)
        out *= moved[None]
        u = u - out.sum(axis=0)
        for k, (a, b) in enumerate(_NEIGHBOURS):  # each share arrives at its neighbour (y + a, x + b)
            u = u + _shift(out[k], a, b, wrap)
    return u


def _shift(a: np.ndarray, dy: int, dx: int, wrap: bool) -> np.ndarray:
    """`a` moved by (dy, dx): what left a cell towards that neighbour arrives there."""
    if wrap:
        return np.roll(a, (dy, dx), axis=(0, 1))
    out = np.zeros_like(a)
    h, w = a.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = a[ys, xs]
    return out
