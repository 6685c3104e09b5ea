"""File writers for engine-ready textures and heightfields (docs/export-formats.md, byte by byte).

Every writer goes through `atomic_path`: the bytes land in a hidden temporary file in the
target folder and replace the final name only once complete, so a crash, a full disk or a
cancelled batch never leaves a truncated PNG or RAW that an engine would import as garbage.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from texgen.atomic import atomic_path, write_atomic
from texgen.errors import ExportError

ByteOrder = Literal["little", "big"]

RawScale = Literal["unity", "full"]

# Unity terrain heightmap resolutions (2^n + 1); Unity refuses anything larger.
UNITY_SIZES: tuple[int, ...] = (33, 65, 129, 257, 513, 1025, 2049, 4097)
# Unreal landscape sizes that fill whole components (components x quads + 1). Others import too.
UNREAL_SIZES: tuple[int, ...] = (127, 253, 505, 1009, 2017, 4033, 8129)

# Value mappings as written into sidecars: u16 is the stored integer, h the height in [0, 1].
UNITY_MAPPING = "u16 = min(round(h * 65536), 65535); Unity reads h = u16 / 65536"
FULL_MAPPING = "u16 = round(h * 65535); h = u16 / 65535"
BYTE_MAPPING = "u8 = round(h * 255); h = u8 / 255"

# --- images -----------------------------------------------------------------------------


def _unit(img: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(img, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ExportError(
            f"the {what} contains NaN or infinite values", "the generator produced invalid output; check the model"
        )
    return np.clip(a, 0.0, 1.0)


def _grey(height: np.ndarray, what: str = "height") -> np.ndarray:
    h = np.asarray(height)
    if h.ndim == 3 and h.shape[2] == 1:
        h = h[..., 0]
    if h.ndim != 2:
        raise ValueError(f"{what} has shape {h.shape}, expected H x W or H x W x 1")
    return _unit(h, what)


def _save_png(path: Path, pil: Image.Image) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        pil.save(tmp, format="PNG")  # explicit: the temp name's suffix is .tmp
    return path


def save_texture_png(path: Path, img: np.ndarray) -> Path:
    """8-bit PNG: RGB (colour type 2) for 3 channels, RGBA (type 6) for 4 (packed material maps),
    grey (type 0) for 1; round(clip(img)*255)."""
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ValueError(f"image has shape {a.shape}, expected H x W, H x W x 1, 3 or 4")
    u8 = np.round(_unit(a, "image") * 255.0).astype(np.uint8)
    return _save_png(path, Image.fromarray(u8))


def save_normal_png(path: Path, normal: np.ndarray) -> Path:
    """8-bit RGB PNG of an encoded normal map (see maps.normal_map); PNG has no 16-bit RGB in Pillow."""
    a = np.asarray(normal)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"normal map has shape {a.shape}, expected H x W x 3")
    return save_texture_png(path, a)


def save_height_png16(path: Path, height: np.ndarray) -> Path:
    """16-bit grey PNG (bit depth 16, colour type 0): round(clip(h, 0, 1) * 65535).

    Written from a uint16 array as Pillow mode "I;16" (mode "I" clips in old Pillow and is
    gone in Pillow 13). PNG stores the samples big-endian; Pillow handles that.
    """
    u16 = np.round(_grey(height) * 65535.0).astype("<u2")
    return _save_png(path, Image.fromarray(u16))


def save_height_png8(path: Path, height: np.ndarray) -> Path:
    """8-bit grey PNG of a height: for viewers and tools without 16-bit support (banding!)."""
    return save_texture_png(path, _grey(height))


# --- raw heightfields -------------------------------------------------------------------


def _square(h: np.ndarray, fmt: str) -> None:
    if h.shape[0] != h.shape[1]:
        raise ExportError(
            f"{fmt} heightmaps must be square, this one is {h.shape[1]}x{h.shape[0]}",
            "choose a square size",
        )


def save_raw16(
    path: Path,
    height: np.ndarray,
    *,
    byte_order: ByteOrder = "little",
    flip_vertical: bool = True,
    scale: RawScale = "unity",
) -> Path:
    """Headerless 16-bit RAW for Unity's terrain importer (Import Raw).

    byte_order: "little" is Unity's "Windows" setting (its default), "big" its "Mac".
    flip_vertical: Unity puts the file's first row at the terrain's z = 0 edge, which is the
      BOTTOM of the map seen from above with z pointing up the screen. Writing the image's
      bottom row first (True, the default) makes the terrain look like the image in a viewer;
      False writes rows top first, as an image file would (the terrain then appears mirrored).
    scale: "unity": u16 = min(round(h * 65536), 65535), Unity's own export rule, so its import
      (u16 / 65536) gives h back; sizes must be a Unity terrain resolution (UNITY_SIZES).
      "full": u16 = round(h * 65535), what Unity's Terrain Tools and most other tools read
      (/ 65535); any square size.
    """
    h = _grey(height)
    _square(h, "RAW")
    if scale == "unity":
        if h.shape[0] not in UNITY_SIZES:
            raise ExportError(
                f"size {h.shape[0]} is not a Unity terrain resolution",
                "use one of " + ", ".join(map(str, UNITY_SIZES)),
            )
        u16 = np.minimum(np.round(h * 65536.0), 65535.0)
    elif scale == "full":
        u16 = np.round(h * 65535.0)
    else:
        raise ValueError(f"scale {scale!r} is not 'unity' or 'full'")
    if byte_order not in ("little", "big"):
        raise ValueError(f"byte order {byte_order!r} is not 'little' or 'big'")
    if flip_vertical:
        u16 = u16[::-1]
    dtype = "<u2" if byte_order == "little" else ">u2"
    return write_atomic(path, np.ascontiguousarray(u16.astype(dtype)).tobytes())


def save_r16(path: Path, height: np.ndarray) -> Path:
    """Unreal / Godot .r16: little-endian uint16, square, round(h * 65535), rows top first.

    Unreal reads it like an image (first row at the top of its landscape view). Any square
    size imports; UNREAL_SIZES are the ones that fill whole landscape components.
    """
    h = _grey(height)
    _square(h, "r16")
    u16 = np.round(h * 65535.0).astype("<u2")
    return write_atomic(path, u16.tobytes())


# --- sidecar ----------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_sidecar(file: Path, info: dict[str, Any]) -> Path:
    """Write `<file>.json` (e.g. gravel_7_albedo.png.json): pretty, sorted keys, atomically.

    What a file is cannot be told from its bytes alone (byte order, scale, flip of a RAW), so
    every exported file carries these facts beside it.
    """
    target = Path(str(file) + ".json")
    text = json.dumps(info, indent=2, sort_keys=True, default=_json_default) + "\n"
    return write_atomic(target, text.encode("utf-8"))
