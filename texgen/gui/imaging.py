"""numpy images to Qt images, and the views an artist switches between.

Conversions run on worker threads (QImage, unlike QPixmap, may be made off the GUI thread),
so the GUI thread only ever receives finished QImages. `img` is HWC float32 in [0, 1]: 1 or 3
channels, or for a material model every map's channels stacked, named by `names` (the model's
`channel_names`, texgen.materials.LAYOUT). A material is shown map by map (albedo as its sRGB
colour, scalar maps as grey, normals encoded (n + 1) / 2) and lit (texgen.lighting); where its
pictures stand for the whole image (gallery, interpolation) they show the albedo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from texgen import maps, materials
from texgen.errors import RequestError

THUMB = 128  # gallery thumbnail side, pixels

# View modes: the colour (or grey) image itself and the maps derived from height; the lit
# preview (its own widget, as the relief is); and a material's own maps.
COLOUR, GREY, HILLSHADE, NORMAL, RELIEF, LIT = "colour", "grey", "hillshade", "normal", "relief", "lit"
ALBEDO, HEIGHT, ROUGHNESS, AO, METALLIC = "albedo", "height", "roughness", "ao", "metallic"
VIEW_LABELS = {
    COLOUR: "Colour",
    GREY: "Height",
    HILLSHADE: "Hillshade",
    NORMAL: "Normal",
    RELIEF: "Relief 3D",
    LIT: "Lit",
    ALBEDO: "Albedo",
    HEIGHT: "Height",
    ROUGHNESS: "Roughness",
    AO: "AO",
    METALLIC: "Metallic",
}
VIEW_TIPS = {
    LIT: "The material lit on a tiled plane and a sphere: drag on it to move the light "
    "(a software preview: no GPU or OpenGL needed)",
    ALBEDO: "Albedo: the base colour, sRGB",
    HEIGHT: "Height, linear: black low, white high",
    ROUGHNESS: "Roughness, linear: black a mirror, white fully rough",
    AO: "Ambient occlusion, linear: black fully occluded, white open",
    METALLIC: "Metallic, linear: black dielectric, white metal",
}


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


def material_of(img: np.ndarray, names: tuple[str, ...]) -> materials.Material | None:
    """A material model's image as its maps; None when its channels are not a layout texgen
    knows (no albedo, or names that do not match the image)."""
    try:
        return materials.split(img, names)
    except RequestError:
        return None


def display_image(img: np.ndarray, names: tuple[str, ...] = ()) -> np.ndarray:
    """The picture that stands for an image: itself (1 or 3 channels), a material's albedo, or
    for channels texgen cannot read as a material its first three (or first one)."""
    a = np.asarray(img)
    if not names and a.ndim == 3 and a.shape[2] in (1, 3):
        return a
    m = material_of(a, names) if names else None
    if m is not None:
        return m.albedo
    return a[..., :3] if a.ndim == 3 and a.shape[2] >= 3 else a[..., :1] if a.ndim == 3 else a


def layout_note(names: tuple[str, ...], channels: int) -> str | None:
    """Why a material's maps cannot be told apart (None when they can), in one plain line."""
    if not names:
        return None
    probe = np.zeros((1, 1, channels), np.float32)
    if material_of(probe, names) is not None:
        return None
    shown = "its first three channels as colour" if channels >= 3 else "its first channel as grey"
    return (
        f"the model's channels ({', '.join(names) or 'unnamed'}) are not a material layout texgen knows; "
        f"showing {shown}"
    )


def describe_maps(names: tuple[str, ...], spaces: tuple[str, ...] = ()) -> str:
    """The maps a material makes and their colour spaces, in words: "albedo (sRGB); normal,
    height, roughness, ao (linear)"; for channels texgen does not know, each channel's name."""
    if layout_note(names, len(names)) is not None:
        return ", ".join(f"{n} ({s})" if s else n for n, s in zip(names, (*spaces, *[""] * len(names))))
    return materials.describe_maps(names, spaces)


def material_maps(names: tuple[str, ...]) -> tuple[str, ...]:
    """The maps a material model makes itself (texgen.materials order)."""
    return materials.maps_in(tuple(names))


def views_for(kind: str, names: tuple[str, ...] = ()) -> list[str]:
    """The view modes offered for a model kind (relief and lit are drawn by their own widgets).

    A material gets one per map: albedo, height and normal always (a map it lacks derived, as
    the exporters derive it), roughness, AO and metallic when it makes them, then lit. Channels
    that are not a layout texgen knows get the one picture `display_image` makes."""
    if kind == "heightmap":
        return [GREY, HILLSHADE, NORMAL, RELIEF]
    if kind == "material":
        if layout_note(names, len(names)) is not None:
            return [COLOUR]
        made = material_maps(names)
        return [ALBEDO, HEIGHT, NORMAL, *(m for m in (ROUGHNESS, AO, METALLIC) if m in made), LIT]
    return [COLOUR, NORMAL, HILLSHADE, RELIEF, LIT]


def lit_material(img: np.ndarray, names: tuple[str, ...] = (), wrap: bool = True) -> materials.Material:
    """The maps the lit preview lights: a material's own, else derived from the picture's
    colour as the exporters derive a texture's (texgen.materials.derive_from_photo)."""
    m = material_of(img, names) if names else None
    if m is not None:
        return m
    rgb = np.asarray(display_image(img, names), np.float32)
    if rgb.ndim == 2:
        rgb = rgb[..., None]
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    return materials.derive_from_photo(rgb, wrap=wrap)


@dataclass(frozen=True)
class ViewSettings:
    mode: str = COLOUR
    strength: float = 2.0  # bumpiness of the derived normal map (the window passes the
    # user's value or, on "auto", service.normal_strength_for the model kind and image size)
    convention: str = "opengl"  # normal map green channel


def render_view(img: np.ndarray, view: ViewSettings, wrap: bool = True, names: tuple[str, ...] = ()) -> QImage:
    """The 2D image shown for `view` (colour, grey, hillshade, normal or a material's map), as
    a QImage. `names`: a material model's channel names."""
    if names:
        m = material_of(img, names)
        if m is None or view.mode in (COLOUR, LIT, RELIEF):
            return to_qimage(display_image(img, names))
        return to_qimage(map_picture(m, view, wrap))
    if view.mode in (COLOUR, GREY, RELIEF, LIT):
        return to_qimage(img)
    height = height_of(img)
    if view.mode == HILLSHADE:
        return to_qimage(maps.hillshade(height, wrap=wrap))
    if view.mode == NORMAL:
        return to_qimage(maps.normal_map(height, strength=view.strength, convention=view.convention, wrap=wrap))
    raise ValueError(f"unknown view mode {view.mode!r}")


def map_picture(m: materials.Material, view: ViewSettings, wrap: bool = True) -> np.ndarray:
    """One map of a material as a picture in [0, 1]: the albedo as its colour, normals encoded
    (n + 1) / 2 (its own, else derived from its height at the view's strength), the others grey."""
    if view.mode == ALBEDO:
        return m.albedo
    if view.mode == NORMAL:
        return materials.encode_normals(m.normals(view.strength, wrap), view.convention)
    if view.mode == HILLSHADE:
        return maps.hillshade(m.height, wrap=wrap)
    if view.mode in (HEIGHT, GREY):
        return m.height
    if view.mode in (ROUGHNESS, AO, METALLIC):
        return m.scalar(view.mode)
    raise ValueError(f"unknown view mode {view.mode!r}")


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(round(min(max(float(c), 0.0), 1.0) * 255)) for c in rgb))


def describe_pixel(img: np.ndarray, x: int, y: int, names: tuple[str, ...] = ()) -> str:
    """The values under the cursor, for the status bar."""
    a = np.asarray(img)
    px = a[y, x]
    if names:
        m = material_of(a[y : y + 1, x : x + 1], names)
        if m is None:
            return f"x {x}  y {y}   " + "  ".join(f"{n} {float(v):.3f}" for n, v in zip(names, np.ravel(px)))
        parts = [f"albedo {_hex(m.albedo[0, 0])}", f"height {float(m.height[0, 0]):.3f}"]
        if m.normal is not None:
            parts.append("normal " + " ".join(f"{float(c):+.2f}" for c in m.normal[0, 0]))
        parts += [
            f"{n} {float(getattr(m, n)[0, 0]):.3f}"
            for n in ("roughness", "ao", "metallic")
            if getattr(m, n) is not None
        ]
        return f"x {x}  y {y}   " + "  ".join(parts)
    if a.ndim == 2 or a.shape[2] == 1:
        return f"x {x}  y {y}   height {float(np.ravel(px)[0]):.4f}"
    r, g, b = (float(v) for v in px[:3])
    return f"x {x}  y {y}   R {r:.3f}  G {g:.3f}  B {b:.3f}  {_hex((r, g, b))}"
