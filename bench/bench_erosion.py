"""Erosion benchmark: where `--erosion rivers=10,thermal=1` (texgen.erosion.DRAINAGE, the
terrain card's advice) spends its time, on the bundled terrain's tileable outputs.

For each side (512 and 1024 px; 2048 with --big), on one output of the bundled `terrain`
model (seed 0), each stage timed alone as the erosion runs it, best of --repeat runs after
one warm-up:

- fill: depression filling (`fill_depressions`: the basins' spill levels, then the flats tilted), once per map;
- d8: steepest-descent receivers (`d8_receivers`), once per river iteration;
- levels: the drainage tree's levels by pointer jumping (`_levels`), once per river iteration;
- erode: the whole `erode(..., DRAINAGE)`;

then the share of the whole that the fill and the ten iterations' d8 and levels take, so a
faster stage shows as a smaller share in the same run; and, timed once (seconds a run, no
warm-up), droplets: `erode(..., rain=1,thermal=20)`, the README's droplet example, whose time
should grow with the map's area (the ratio to the side before: 4 is linear).
With --device cuda (or cpu), the droplet example instead as the graphs of texgen/erosion_graphs.py
on that onnxruntime device beside numpy, on the same map and seed (`graphs_against_numpy`, which
bench/gpu_run.py runs on a lent GPU): seconds (the first graph run builds and optimises its
session; the second is what each further map of that size costs), the mean height change of
each (the droplets differ, their work should not) and the graphs' seam score (texgen.seamless:
about 1 for a map that tiles).
Usage: python bench/bench_erosion.py [--big] [--device cuda]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from texgen import erosion as er
from texgen.assets import resolve_model
from texgen.model import load_generator
from texgen.sampling import sample
from texgen.seamless import seam_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runtime import best_of  # noqa: E402  (one warm-up, then the fastest of `repeat`)

DROPLETS = er.Erosion(rain=1.0, thermal=20)  # the README's droplet example


def graphs_against_numpy(device: str, sides, numpy_sides, gen=None) -> list[dict]:
    """The droplet example on one bundled terrain output per side, as graphs on `device` and
    (for `numpy_sides`) in numpy: seconds, mean height change, the graphs' seam ratio."""
    from texgen.erosion_graphs import GraphPasses  # noqa: PLC0415 (only this mode builds graphs)

    gen = gen or load_generator(resolve_model("terrain"), device="cpu")
    passes = GraphPasses(device)  # raises ModelError where the device cannot start
    rows = []
    for side in sides:
        (s,) = sample(gen, [0], size=(side, side))
        h = s.img[..., 0].astype(np.float64)
        period = gen.info.pixels_per_cell  # the seam against interior lines at the same cell phase
        row: dict = {"side": side, "device": device, "seam_ratio_input": round(seam_score(h, period), 3)}
        for label in ("graph_cold_s", "graph_s"):
            start = time.perf_counter()
            out = er.erode_with(passes, h, DROPLETS, wrap=True, seed=3)
            row[label] = round(time.perf_counter() - start, 3)
        row["mean_change_graph"] = float(np.abs(out - h).mean() / np.ptp(h))
        row["seam_ratio_graph"] = round(seam_score(out, period), 3)
        if side in numpy_sides:
            start = time.perf_counter()
            ref = er.erode(h, DROPLETS, wrap=True, seed=3)
            row["numpy_s"] = round(time.perf_counter() - start, 3)
            row["mean_change_numpy"] = float(np.abs(ref - h).mean() / np.ptp(h))
            row["speedup"] = round(row["numpy_s"] / row["graph_s"], 2)
        rows.append(row)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--big", action="store_true", help="also 2048 px (about a minute a run)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each stage; the fastest counts (default 3)")
    p.add_argument("--device", help="time the droplet example as graphs on this onnxruntime device (cuda, cpu)")
    args = p.parse_args()
    if args.device:
        sides = (512, 1024) + ((2048,) if args.big else ())
        print(f"rain=1,thermal=20 on the bundled terrain, seed 0: graphs on {args.device} against numpy (one run each)")
        print("side | graph s (first) | graph s | numpy s | speed-up | mean change graph / numpy | seam graph")
        for r in graphs_against_numpy(args.device, sides, (512, 1024)):
            print(f"{r['side']:4d} | {r['graph_cold_s']:7.2f} | {r['graph_s']:7.2f} | {r.get('numpy_s', float('nan')):7.2f}"
                  f" | {r.get('speedup', float('nan')):5.2f} | {r['mean_change_graph']:.4f} / "
                  f"{r.get('mean_change_numpy', float('nan')):.4f} | {r['seam_ratio_graph']:.3f}")  # fmt: skip
        return
    gen = load_generator(resolve_model("terrain"), device="cpu")
    e = er.DRAINAGE
    print(
        f"erode rivers={e.rivers},thermal={e.thermal} on the bundled terrain, seed 0, tileable; best of {args.repeat} after a warm-up"
    )
    print(
        "side | fill s | d8 s (one iteration) | levels s (one iteration) | erode s | fill share | ten iterations of d8 + levels, share"
        " | droplets s (rain=1,thermal=20, one run) | droplets over the side before"
    )
    before = None
    for side in (512, 1024) + ((2048,) if args.big else ()):
        (s,) = sample(gen, [0], size=(side, side))
        h = s.img[..., 0].astype(np.float64)
        # The heights the river stage sees: scaled as erode scales them, the base level marked.
        u = (h - h.min()) / np.ptp(h) * (side / er.RELIEF_CELLS)
        outlet = (u <= np.quantile(u, er.SEA)).ravel()
        eps = 1e-9 * float(np.ptp(u))
        filled = er.fill_depressions(u, wrap=True, outlets=outlet, epsilon=eps)
        receiver, _ = er.d8_receivers(filled, outlet, True)
        fill = best_of(lambda: er.fill_depressions(u, wrap=True, outlets=outlet, epsilon=eps), args.repeat)
        d8 = best_of(lambda: er.d8_receivers(filled, outlet, True), args.repeat)
        levels = best_of(lambda: er._levels(receiver), args.repeat)
        whole = best_of(lambda: er.erode(h, e, wrap=True), args.repeat)
        iters = e.rivers * (d8 + levels)
        start = time.perf_counter()
        er.erode(h, DROPLETS, wrap=True, seed=3)
        drops = time.perf_counter() - start
        growth = f"{drops / before:5.1f}" if before else "    -"
        before = drops
        print(
            f"{side:4d} | {fill:6.2f} | {d8:6.3f} | {levels:6.3f} | {whole:7.2f} | {fill / whole:9.0%} | {iters / whole:6.0%}"
            f" | {drops:7.1f} | {growth}"
        )


if __name__ == "__main__":
    main()
