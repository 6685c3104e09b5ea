"""numpy images to Qt images, and the views an artist switches between.

Conversions run on worker threads (QImage, unlike QPixmap, may be made off the GUI thread),
so the GUI thread only ever receives finished QImages. `img` is HWC float32 in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from texgen import maps

THUMB = 128  # gallery thumbnail side, pixels

# View modes: the colour (or grey) image itself and the maps derived from height.
COLOUR, GREY, HILLSHADE, NORMAL, RELIEF = "colour", "grey", "hillshade", "normal", "relief"
VIEW_LABELS = {COLOUR: "Colour", GREY: "Height", HILLSHADE: "Hillshade", NORMAL: "Normal", RELIEF: "Relief 3D"}


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(img, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def to_qimage(img: np.ndarray) -> QImage:
    """An HW, HW1 or HW3 float image in [0, 1] as a QImage that owns its pixels."""
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    u8 = np.ascontiguousarray(a if a.dtype == np.uint8 else to_uint8(a))
    h, w = u8.shape[:2]
    if u8.ndim == 2:
        q = QImage(u8.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        q = QImage(u8.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return q.copy()  # detach from the numpy buffer


def thumbnail(image: QImage, side: int = THUMB, detail: bool = False) -> QImage:
    """`image` scaled to fit `side` x `side`. With `detail` (textures), from a centre crop of at
    most twice the side: a 512 px gravel shrunk whole to 128 px was grey static, its stones two
    pixels wide, and a texture's crop shows what the whole looks like. A terrain is shown whole."""
    if detail and min(image.width(), image.height()) > 2 * side:
        crop = 2 * side
        image = image.copy((image.width() - crop) // 2, (image.height() - crop) // 2, crop, crop)
    return image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


def height_of(img: np.ndarray) -> np.ndarray:
    """The height field an image stands for: the heightmap itself, or a texture's luminance
    (what the exporters write as a texture's height map)."""
    return maps.luminance(img)


def views_for(kind: str) -> list[str]:
    """The view modes offered for a model kind (relief is drawn by its own widget)."""
    if kind == "heightmap":
        return [GREY, HILLSHADE, NORMAL, RELIEF]
    return [COLOUR, NORMAL, HILLSHADE, RELIEF]


@dataclass(frozen=True)
class ViewSettings:
    mode: str = COLOUR
    strength: float = 2.0  # bumpiness of the derived normal map (the window passes the
    # user's value or, on "auto", service.normal_strength_for the model kind and image size)
    convention: str = "opengl"  # normal map green channel


def render_view(img: np.ndarray, view: ViewSettings, wrap: bool = True) -> QImage:
    """The 2D image shown for `view` (colour, grey, hillshade or normal), as a QImage."""
    if view.mode in (COLOUR, GREY, RELIEF):
        return to_qimage(img)
    height = height_of(img)
    if view.mode == HILLSHADE:
        return to_qimage(maps.hillshade(height, wrap=wrap))
    if view.mode == NORMAL:
        return to_qimage(maps.normal_map(height, strength=view.strength, convention=view.convention, wrap=wrap))
    raise ValueError(f"unknown view mode {view.mode!r}")


def describe_pixel(img: np.ndarray, x: int, y: int) -> str:
    """The values under the cursor, for the status bar."""
    a = np.asarray(img)
    px = a[y, x]
    if a.ndim == 2 or a.shape[2] == 1:
        return f"x {x}  y {y}   height {float(np.ravel(px)[0]):.4f}"
    r, g, b = (float(v) for v in px[:3])
    hexa = "#{:02x}{:02x}{:02x}".format(*(int(round(c * 255)) for c in (r, g, b)))
    return f"x {x}  y {y}   R {r:.3f}  G {g:.3f}  B {b:.3f}  {hexa}"
