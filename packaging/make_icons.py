"""Draw the texgen app icon once, from one list of shapes, as SVG, PNG, ICO and ICNS.

The shapes are written out twice, as SVG for the Linux desktop and as Pillow drawing for the
bitmaps, so the vector and raster icons cannot drift apart. Run it after changing a shape:

    python packaging/make_icons.py

It writes packaging/icons/texgen.{svg,png,ico,icns} and assets/icons/texgen.{svg,png} (the
copy the app itself shows as its window icon and that the wheel and the frozen app carry).
The picture: a tile of two-tone stone (a seamless texture, its 2x2 repeat visible) with a
range of blue mountains in front of it (a heightfield), in the GUI's accent blue.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
ICONS = REPO / "packaging" / "icons"
APP_ICONS = REPO / "assets" / "icons"

VIEW = 256  # the shapes' coordinate space, also the PNG's size
SUPERSAMPLE = 4  # drawn at 1024 px, then reduced: antialiased edges without a vector renderer
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)

CORNER = (8, 8, 248, 248)  # the rounded square everything is clipped to
RADIUS = 46
BACKGROUND = "#23262c"
# (fill, polygon): the 2x2 stone checker, far mountains, near hills, the snow cap.
SHAPES: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("#3b4049", ((8, 8), (128, 8), (128, 128), (8, 128))),
    ("#4a505b", ((128, 8), (248, 8), (248, 128), (128, 128))),
    ("#4a505b", ((8, 128), (128, 128), (128, 248), (8, 248))),
    ("#3b4049", ((128, 128), (248, 128), (248, 248), (128, 248))),
    ("#3d7ecc", ((8, 184), (66, 112), (102, 146), (152, 78), (208, 148), (248, 116), (248, 248), (8, 248))),
    ("#27568f", ((8, 220), (58, 182), (108, 204), (172, 164), (248, 210), (248, 248), (8, 248))),
    ("#e8edf3", ((152, 78), (130, 106), (142, 101), (152, 112), (163, 100), (175, 106))),
)


def rounded_square(segments: int = 24) -> list[tuple[float, float]]:
    """The rounded square as a polygon (each corner arc in `segments` straight pieces)."""
    x0, y0, x1, y1 = CORNER
    r = RADIUS
    centres = ((x1 - r, y0 + r, -90), (x1 - r, y1 - r, 0), (x0 + r, y1 - r, 90), (x0 + r, y0 + r, 180))
    out = []
    for cx, cy, start in centres:  # clockwise on screen (y down), from the top-right corner
        for i in range(segments + 1):
            a = math.radians(start + 90 * i / segments)
            out.append((round(cx + r * math.cos(a), 2), round(cy + r * math.sin(a), 2)))
    return out


def clip(subject: list[tuple[float, float]], window: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sutherland-Hodgman: `subject` cut to the convex polygon `window` (both clockwise)."""

    def inside(p, a, b):  # right of a->b on screen, i.e. inside a clockwise window
        return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= 0

    def cross(p, q, a, b):
        (x1, y1), (x2, y2), (x3, y3), (x4, y4) = p, q, a, b
        d = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
        t = ((x1 - x3) * (y3 - y4) - (y1 - y3) * (x3 - x4)) / d
        return (round(x1 + t * (x2 - x1), 2), round(y1 + t * (y2 - y1), 2))

    out = list(subject)
    for a, b in zip(window, window[1:] + window[:1]):
        points, out = out, []
        for p, q in zip(points, points[1:] + points[:1]):
            if inside(q, a, b):
                if not inside(p, a, b):
                    out.append(cross(p, q, a, b))
                out.append(q)
            elif inside(p, a, b):
                out.append(cross(p, q, a, b))
    return out


def shapes() -> list[tuple[str, list[tuple[float, float]]]]:
    """Background and shapes, each already cut to the rounded square: no clip path is needed,
    which matters because Qt's SVG renderer (SVG Tiny) ignores clipPath."""
    window = rounded_square()
    return [(BACKGROUND, window)] + [(fill, clip(list(points), window)) for fill, points in SHAPES]


def svg() -> str:
    """The icon as SVG text."""
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{VIEW}" height="{VIEW}" viewBox="0 0 {VIEW} {VIEW}">',
        "  <title>texgen</title>",
    ]
    for fill, points in shapes():
        pts = " ".join(f"{x:g},{y:g}" for x, y in points)
        lines.append(f'  <polygon points="{pts}" fill="{fill}"/>')
    lines += ["</svg>", ""]
    return "\n".join(lines)


def master(size: int = VIEW * SUPERSAMPLE) -> Image.Image:
    """The icon as an RGBA bitmap `size` pixels wide, transparent outside the rounded square."""
    k = size / VIEW
    out = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(out)
    for fill, points in shapes():
        draw.polygon([(x * k, y * k) for x, y in points], fill=fill)
    return out


def scaled(big: Image.Image, size: int) -> Image.Image:
    return big.resize((size, size), Image.Resampling.LANCZOS)


def _save(path: Path, write) -> None:
    """Write through a temporary name in the same folder, then rename (never a partial icon)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def main() -> None:
    big = master()
    text = svg()
    _save(ICONS / "texgen.svg", lambda p: p.write_text(text, encoding="utf-8"))
    _save(ICONS / "texgen.png", lambda p: scaled(big, VIEW).save(p, format="PNG", optimize=True))
    # Each ICO size reduced from the 1024 px master (not from 256 px) so small sizes stay crisp.
    ico = [scaled(big, s) for s in ICO_SIZES]
    _save(
        ICONS / "texgen.ico",
        lambda p: ico[-1].save(p, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=ico[:-1]),
    )
    icns = [scaled(big, s) for s in ICNS_SIZES]
    _save(ICONS / "texgen.icns", lambda p: icns[-1].save(p, format="ICNS", append_images=icns[:-1]))
    for name in ("texgen.svg", "texgen.png"):
        _save(APP_ICONS / name, lambda p, n=name: shutil.copyfile(ICONS / n, p))
    for path in sorted(ICONS.iterdir()):
        print(f"{path.relative_to(REPO)}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
