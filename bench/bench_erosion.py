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
Usage: python bench/bench_erosion.py [--big]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runtime import best_of  # noqa: E402  (one warm-up, then the fastest of `repeat`)

DROPLETS = er.Erosion(rain=1.0, thermal=20)  # the README's droplet example


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--big", action="store_true", help="also 2048 px (about a minute a run)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each stage; the fastest counts (default 3)")
    args = p.parse_args()
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
