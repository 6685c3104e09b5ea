"""`texgen generate`: seeds in, engine-ready files out."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

from texgen.devices import DEVICES
from texgen.erosion import parse_erosion
from texgen.errors import RequestError
from texgen.latents import parse_seeds, seeds_from_count
from texgen.service import GenerateRequest, Progress, generate

_SIZE = re.compile(r"^\s*(\d+)\s*(?:[xX*]\s*(\d+)\s*)?$")


def parse_size(text: str) -> tuple[int, int]:
    """ "512" -> (512, 512); "1024x512" (width x height) -> (512, 1024) as (height, width)."""
    m = _SIZE.match(text or "")
    if not m:
        raise RequestError(f"size {text!r} is not a size", "write it as 512 or WIDTHxHEIGHT, e.g. 1024x512")
    w = int(m.group(1))
    h = int(m.group(2)) if m.group(2) else w
    if w < 1 or h < 1:
        raise RequestError(f"size {text!r} is not positive", "use sizes of 1 pixel or more")
    return h, w


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "generate",
        help="generate textures or heightfields and export them",
        description=(
            "Generate one texture (or heightfield) per seed and write engine-ready files. "
            "With no --model, the bundled defaults make seamless textures and a Unity terrain heightfield."
        ),
    )
    p.add_argument(
        "-m",
        "--model",
        help="model name (see `texgen models`) or path to an .onnx file; default: the bundled texture and terrain models",
    )
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("-s", "--seeds", help='seeds and inclusive ranges, e.g. "1-100,250"')
    seeds.add_argument("-n", "--count", type=int, help="number of variations, seeds START..START+N-1 (default 4)")
    seeds.add_argument(
        "--interpolate",
        metavar="A:B",
        help="frames along the latent path from seed A to seed B (ends included) instead of one image per seed",
    )
    p.add_argument("--frames", type=int, help="number of --interpolate frames, 2 or more (default 8)")
    p.add_argument("--start", type=int, help="first seed for --count (default 0)")
    p.add_argument(
        "--size",
        help="output size, 512 or WIDTHxHEIGHT (default: the preset's, else 512 for tileable models, else the model's native size)",
    )
    p.add_argument(
        "-c", "--class", dest="label", help="class name or index, for conditional models (default: the first class)"
    )
    p.add_argument(
        "--no-seamless",
        dest="seamless",
        action="store_false",
        help="keep outputs of non-tileable models as they are (default: make them tile)",
    )
    p.add_argument(
        "-p",
        "--preset",
        help="export preset (see `texgen presets`); default: png for textures and materials, unity-terrain for heightmaps",
    )
    p.add_argument(
        "--maps",
        help="comma-separated maps to write: albedo, height, normal, hillshade; for materials also roughness, "
        "ao, metallic, and the packed orm, mask, metallic_smoothness (default: the preset's)",
    )
    p.add_argument("-o", "--out", default="textures", help="output folder (default: textures)")
    p.add_argument(
        "--name",
        help="file name template, fields {model} {seed} {map} {class} {size} {index} {preset}, and {to_seed} "
        "{frame} for --interpolate (default: {model}_{seed}_{map}, {model}_{class}_{seed}_{map} for a conditional "
        "model; frames: {model}_{seed}-{to_seed}_f{frame:03d}_{map})",
    )
    p.add_argument(
        "--device",
        default="auto",
        choices=DEVICES,
        help="where to run the model (default: auto, GPU when one starts, else CPU)",
    )
    p.add_argument("--threads", type=int, help="CPU threads for the model (default: all cores)")
    p.add_argument("--batch-size", type=int, default=16, help="images per model run (default 16)")
    p.add_argument("--skip-existing", action="store_true", help="leave seeds whose files already exist")
    p.add_argument(
        "--resample", action="store_true", help="snap a size the preset's format cannot take to the nearest it can"
    )
    p.add_argument(
        "--normal-strength",
        type=float,
        help="bumpiness of derived normal maps (default: 2 for textures, a tenth of the size for terrains)",
    )
    p.add_argument(
        "--normal", choices=("opengl", "directx"), help="normal map green channel convention (default: the preset's)"
    )
    p.add_argument(
        "--byte-order",
        choices=("little", "big"),
        help="byte order of RAW heightfields (default: the preset's; Unity 'Windows' = little, 'Mac' = big)",
    )
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="texel scale of spatial models: 2 draws features twice as large (interpolated, softer pixels), "
        "0.5 half as large (made at twice the size and filtered down); 0.25 to 8, default 1",
    )
    p.add_argument(
        "--erosion",
        metavar="RAIN[,THERMAL[,RIVERS]]",
        help="erode heightmaps: hydraulic droplets per cell (0.5 light, 1 clear, up to 8), thermal talus iterations "
        "and stream-power river iterations (10 joins the valleys into a drainage network), e.g. 1, 1,30 or by name "
        "rivers=10,thermal=1 (droplets: about 5 s a 512 px map per droplet per cell; rivers: about 1 s)",
    )
    p.add_argument(
        "--progress", choices=("bar", "json", "none"), help="progress display (default: a bar on a terminal, else none)"
    )
    p.set_defaults(run=run)


_PAIR = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")


def parse_pair(text: str) -> tuple[int, int]:
    """ "3:7" -> (3, 7): the two seeds of an interpolation."""
    m = _PAIR.match(text or "")
    if not m:
        raise RequestError(f"--interpolate {text!r} is not two seeds", "write it as A:B, e.g. --interpolate 3:7")
    return int(m.group(1)), int(m.group(2))


def request_from_args(args: argparse.Namespace) -> GenerateRequest:
    pair = parse_pair(args.interpolate) if args.interpolate is not None else None
    if pair is None and args.frames is not None:
        raise RequestError("--frames is for --interpolate", "add --interpolate A:B, or leave out --frames")
    if args.start is not None and (args.seeds is not None or pair is not None):
        if args.seeds is not None:
            raise RequestError(
                "--start is the first seed of --count, and --seeds names its own seeds",
                "leave out --start, or use --count N --start S instead of --seeds",
            )
        raise RequestError(
            "--start is the first seed of --count, and --interpolate A:B names its own two seeds", "leave out --start"
        )
    if args.seeds is not None:
        seeds = parse_seeds(args.seeds)
    else:
        seeds = seeds_from_count(4 if args.count is None else args.count, args.start or 0)
    maps = tuple(m.strip() for m in args.maps.split(",") if m.strip()) if args.maps else None
    if args.threads is not None and args.threads < 1:
        raise RequestError(f"--threads {args.threads} is not a thread count", "use 1 or more, or leave it out")
    if args.normal_strength is not None and not (math.isfinite(args.normal_strength) and args.normal_strength > 0):
        raise RequestError(
            f"--normal-strength {args.normal_strength} is not a positive number", "use a value above 0, e.g. 2"
        )
    if args.batch_size < 1:
        raise RequestError(f"--batch-size {args.batch_size} is not a batch size", "use 1 or more")
    return GenerateRequest(
        model=args.model,
        seeds=seeds,
        size=parse_size(args.size) if args.size else None,
        label=args.label,
        seamless=args.seamless,
        preset=args.preset,
        maps=maps,
        out_dir=Path(args.out),
        name_template=args.name,
        device=args.device,
        threads=args.threads,
        skip_existing=args.skip_existing,
        resample=args.resample,
        normal_strength=args.normal_strength,
        normal_convention=args.normal,
        byte_order=args.byte_order,
        batch_size=args.batch_size,
        interpolate=pair,
        frames=8 if args.frames is None else args.frames,
        erosion=parse_erosion(args.erosion) if args.erosion is not None else None,
        scale=args.scale,
    )


def run(args: argparse.Namespace) -> int:
    req = request_from_args(args)
    mode = args.progress or ("bar" if sys.stderr.isatty() else "none")
    bar = None

    def on_progress(p: Progress) -> None:
        nonlocal bar
        if mode == "json":
            print(
                json.dumps(
                    {
                        "event": "progress",
                        "done": p.done,
                        "total": p.total,
                        "model": p.model,
                        "seed": p.seed,
                        "frame": p.frame,
                        "files": [str(f) for f in p.files],
                        **({"tile": list(p.tile)} if p.tile else {}),
                    }
                ),
                flush=True,
            )
        elif mode == "bar":
            if bar is None:
                from tqdm import tqdm  # noqa: PLC0415

                bar = tqdm(total=p.total, unit="img", file=sys.stderr, dynamic_ncols=True)
            bar.n = p.done
            where = f" frame {p.frame}" if p.frame is not None else f" seed {p.seed}" if p.seed is not None else ""
            tile = f" tile {p.tile[0]}/{p.tile[1]}" if p.tile else ""
            bar.set_postfix_str(p.model + where + tile, refresh=True)

    try:
        result = generate(req, on_progress=on_progress)
    finally:
        if bar is not None:
            bar.close()
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    devices = ", ".join(f"{m} on {d}" for m, d in result.devices.items())
    what = "frames" if req.interpolate is not None else "seeds"
    skipped = f", {len(result.skipped)} {what} skipped (files exist)" if result.skipped else ""
    n = len(result.files)
    summary = (
        f"wrote {n} {'file' if n == 1 else 'files'} to {req.out_dir} in {result.seconds:.1f} s ({devices}){skipped}"
    )
    if mode == "json":
        print(
            json.dumps(
                {
                    "event": "done",
                    "files": len(result.files),
                    "skipped": len(result.skipped),
                    "seconds": result.seconds,
                    "devices": result.devices,
                }
            ),
            flush=True,
        )
    else:
        print(summary)
    return 0
