"""The contact sheet of material models: each one's maps and the material lit.

    python3 assets/models/material_sheet.py [MODEL ...] [--out docs/contact-materials.png]

One row per model (and per class of a conditional one; seed 1, a 512 px tileable output): albedo tiled 2 x 2, height, normal,
roughness and AO (each the 512 px map shown at CELL px), then the material lit by
texgen.lighting, as the app's Lit view shows it: on a plane of 2 x 2 copies seen tilted, and on
a sphere, under a light from the top left at 45 degrees. Written as PNG through a temporary name.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from texgen import lighting, materials
from texgen.assets import resolve_model
from texgen.atomic import atomic_path
from texgen.errors import TexgenError
from texgen.maps import normal_map
from texgen.model import load_generator
from texgen.sampling import sample

CELL = 192  # px per picture on the sheet
SIDE = 512  # px of each output
COLUMNS = ("albedo 2x2", "height", "normal", "roughness", "AO", "lit plane", "lit sphere")
LABEL = 18  # px of the caption row


def row(gen, label: str | None, seed: int = 1) -> list[np.ndarray]:
    (s,) = sample(gen, [seed], size=(SIDE, SIDE), label=label)
    m = materials.split(s.img, gen.info.channel_names)
    strength = 2.0
    normals = (m.normal + 1.0) / 2.0 if m.normal is not None else normal_map(m.height, strength=strength)
    grey = [np.repeat(m.scalar(n)[..., None], 3, axis=2) for n in ("height", "roughness", "ao")]
    tiled = np.tile(m.albedo, (2, 2, 1))
    light = lighting.Light(azimuth=315.0, elevation=45.0)
    plane = lighting.render_plane(m, (CELL * 2, CELL * 2), light, repeats=2, tilt=30.0) / 255.0
    sphere = lighting.render_sphere(m, CELL * 2, light, repeats=4) / 255.0
    pictures = [tiled, grey[0], normals, grey[1], grey[2], plane, sphere]
    return [_fit(p) for p in pictures]


def _fit(picture: np.ndarray) -> np.ndarray:
    img = Image.fromarray(np.round(np.clip(picture, 0, 1) * 255).astype(np.uint8))
    return np.asarray(img.resize((CELL, CELL), Image.Resampling.LANCZOS))


def sheet(gens) -> Image.Image:
    rows = [(gen, label) for gen in gens for label in (list(gen.info.classes) or [None])]
    gap, left = 4, 110
    width = len(COLUMNS) * (CELL + gap) - gap + left
    height = LABEL + len(rows) * (CELL + gap) - gap
    out = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    for c, name in enumerate(COLUMNS):
        draw.text((left + c * (CELL + gap) + 4, 3), name, fill=(0, 0, 0))
    for r, (gen, label) in enumerate(rows):
        y = LABEL + r * (CELL + gap)
        draw.text((4, y + CELL // 2 - 6), label or gen.info.name, fill=(0, 0, 0))
        for c, picture in enumerate(row(gen, label)):
            out.paste(Image.fromarray(picture), (left + c * (CELL + gap), y))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=["ground-material", "rock-material"],
                        help="material models (names or paths)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("docs/contact-materials.png"))
    args = parser.parse_args()
    try:
        gens = [load_generator(resolve_model(m), device="cpu") for m in args.models]
    except TexgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for spec, gen in zip(args.models, gens):
        if gen.info.kind != "material":
            print(f"error: {spec} makes {gen.info.kind}s, not materials. pass material models", file=sys.stderr)
            return 2
    picture = sheet(gens)
    with atomic_path(args.out) as tmp:
        picture.save(tmp, format="PNG")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
