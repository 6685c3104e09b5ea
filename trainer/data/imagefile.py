"""Reading one image file into float pixels without losing bit depth.

Pillow reads 8-bit files of every kind and 16-bit grey exactly; 16-bit colour PNGs go through
`png16` and 16-bit colour TIFFs through `tifffile` when it is installed, since Pillow would
quietly keep only their high byte. Alpha is dropped: a texture generator makes opaque tiles.
"""

from __future__ import annotations

import contextlib
import struct
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .png16 import read_png16

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif")

# Pillow refuses images past MAX_IMAGE_PIXELS * 2 as "decompression bombs" (and warns past it):
# a guard for files from the web, but a user's own terrain scan or photo may well be 13,500 px
# a side. The trainer reads what the user gives it, up to 20,000 x 20,000 (1.6 GB as grey float).
MAX_PIXELS = 20_000 * 20_000

# What a corrupt or foreign file makes Pillow (or numpy on a broken array file) raise; such a
# file is skipped and reported, never allowed to stop a data set of thousands of images.
READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, struct.error, zlib.error,
    Image.DecompressionBombError,
)

def read_image(path: Path, log: Callable[[str], None] = print) -> tuple[np.ndarray, float | None]:
    """Pixels of an image file as HWC float32 (C = 1 or 3) and the value that means full white.

    Full white is 255 for 8-bit files and 65535 for 16-bit (and 32-bit integer) ones, so a
    texture divides by it to reach [0, 1]; it is None for floating-point TIFFs, whose values
    are used as they are. A heightfield ignores it and normalises by its own min/max.
    """
    try:
        with pixel_limit(MAX_PIXELS // 2):
            return _read_image(path, log)
    except Image.DecompressionBombError:
        with pixel_limit(None), Image.open(path) as im:  # only to read its size for the message
            w, h = im.size
        raise ValueError(f"{w}x{h} is more pixels than the trainer reads ({MAX_PIXELS:,}); downscale it") from None


@contextlib.contextmanager
def pixel_limit(limit: int | None) -> Iterator[None]:
    """Pillow's decompression-bomb guard set to `limit` pixels (None: off) for the block, its
    warning silenced, and both put back after, whatever happens."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        before, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, limit
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = before


def _read_image(path: Path, log: Callable[[str], None]) -> tuple[np.ndarray, float | None]:
    try:
        opened = Image.open(path)
    except UnidentifiedImageError:
        if Path(path).suffix.lower() in (".tif", ".tiff"):
            return _read_tiff(Path(path), log)  # a layout Pillow does not read (planar 16-bit colour, ...)
        raise
    with opened as im:
        if _is_16bit_colour(im):
            pixels = _read_16bit_colour(Path(path), im, log)
            if pixels is not None:
                return exif_orient(pixels, exif_orientation(im, header_only=False)), 65535.0
        im.load()
        im = ImageOps.exif_transpose(im)  # camera photos stored sideways
        if im.mode.startswith("I"):  # 16-bit grey ("I;16", "I;16B", ...) or 32-bit integer
            return np.asarray(im).astype(np.float32)[:, :, None], 65535.0
        if im.mode == "F":
            return np.asarray(im).astype(np.float32)[:, :, None], None
        if im.mode in ("1", "L", "LA", "La"):
            grey = np.asarray(im.convert("LA"))
            note_transparency(path, grey[:, :, 1], 255, log)
            return grey[:, :, :1].astype(np.float32), 255.0
        # Palette, RGB, RGBA, CMYK, YCbCr, ...: through RGBA so transparent palettes resolve.
        rgba = np.asarray(im.convert("RGBA"))
        note_transparency(path, rgba[:, :, 3], 255, log)
        return rgba[:, :, :3].astype(np.float32), 255.0


EXIF_ORIENTATION = 0x0112


def exif_orientation(im: Image.Image, header_only: bool = True) -> int:
    """An open image's EXIF orientation (1: upright). `header_only` reads no pixel: Pillow's
    getexif() decodes a whole PNG to find an eXIf chunk after the image data, which a size check
    can do without (such files are rare); the loader, which decodes anyway, looks everywhere."""
    if header_only and im.format == "PNG" and "exif" not in im.info:
        return 1
    return int(im.getexif().get(EXIF_ORIENTATION, 1))


def exif_orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """HWC pixels turned upright by their EXIF orientation (1-8), as ImageOps.exif_transpose
    turns the 8-bit images Pillow decodes itself."""
    turns = {
        2: lambda a: a[:, ::-1],  # mirrored
        3: lambda a: a[::-1, ::-1],  # upside down
        4: lambda a: a[::-1],  # flipped
        5: lambda a: a.transpose(1, 0, 2),  # transposed
        6: lambda a: np.rot90(a, -1),  # turned a quarter clockwise to stand up
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],  # transversed
        8: lambda a: np.rot90(a, 1),  # turned a quarter anticlockwise
    }
    turn = turns.get(orientation)
    return pixels if turn is None else np.ascontiguousarray(turn(pixels))


def note_transparency(path: Path, alpha: np.ndarray, opaque: float, log: Callable[[str], None]) -> None:
    """Say when an image is transparent anywhere: the generators make opaque textures, so the
    colour under transparent pixels (often black, or whatever the painter left) is learned as
    it is. Dropping the alpha in silence trained cut-out leaves on their black background."""
    clear = alpha < opaque
    if clear.any():
        share = f"{clear.mean():.1%}" if clear.mean() >= 0.001 else f"{int(clear.sum())} (under 0.1 %)"
        log(f"{path}: {share} of its pixels are transparent, and the colour under them is "
            "trained as it is (flatten it onto a background, or crop it to its opaque part)")


def _read_tiff(path: Path, log: Callable[[str], None]) -> tuple[np.ndarray, float | None]:
    """A TIFF Pillow cannot open, through tifffile (optional): HWC float32 and full white."""
    try:
        import tifffile  # noqa: PLC0415
    except ImportError:
        raise OSError("Pillow cannot read this TIFF layout; install tifffile to read it") from None
    pixels = _channels_last(np.asarray(tifffile.imread(path, key=0)))
    if pixels.ndim != 3 or pixels.shape[2] > 4:
        raise ValueError(f"unexpected TIFF layout {pixels.shape}")
    full = None if pixels.dtype.kind == "f" else 255.0 if pixels.dtype.itemsize == 1 else 65535.0
    if pixels.shape[2] in (2, 4):
        note_transparency(path, pixels[:, :, -1], full or 1.0, log)
    return pixels[:, :, : 1 if pixels.shape[2] <= 2 else 3].astype(np.float32), full


def _channels_last(pixels: np.ndarray) -> np.ndarray:
    """H x W -> H x W x 1; a planar C x H x W (C <= 4) -> H x W x C."""
    if pixels.ndim == 2:
        return pixels[:, :, None]
    if pixels.ndim == 3 and pixels.shape[0] <= 4 < pixels.shape[2]:
        return np.moveaxis(pixels, 0, -1)
    return pixels


def _is_16bit_colour(im: Image.Image) -> bool:
    """True when Pillow would reduce this file's 16-bit colour samples to 8 bits."""
    if im.mode.startswith("I") or im.mode == "F" or not im.tile:
        return False
    if im.format == "TIFF":  # planar ("per channel") files name each plane's rawmode without ";16"
        bits = getattr(im, "tag_v2", {}).get(258)
        if isinstance(bits, tuple) and bits and bits[0] == 16:
            return True
    args = im.tile[0].args
    rawmode = args[0] if isinstance(args, tuple) else args
    return isinstance(rawmode, str) and ";16" in rawmode


def _read_16bit_colour(path: Path, im: Image.Image, log: Callable[[str], None]) -> np.ndarray | None:
    """Full-precision pixels of a 16-bit colour PNG/TIFF, or None (logged) to fall back to 8 bits."""
    try:
        if im.format == "PNG":
            pixels = read_png16(path)
        elif im.format == "TIFF":
            import tifffile  # optional: Pillow cannot keep 16-bit colour TIFF samples

            pixels = _channels_last(np.asarray(tifffile.imread(path, key=0)))
        else:
            return None
    except ImportError:
        log(f"{path}: 16-bit colour TIFF read with 8 bits of precision; install tifffile to keep 16")
        return None
    except (*READ_ERRORS, RuntimeError) as err:  # e.g. Adam7 PNG, a TIFF codec tifffile lacks
        log(f"{path}: 16-bit colour read with 8 bits of precision ({err})")
        return None
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        log(f"{path}: unexpected 16-bit layout {pixels.shape}; read with 8 bits of precision")
        return None
    keep = 1 if pixels.shape[2] <= 2 else 3
    if pixels.shape[2] in (2, 4):
        note_transparency(path, pixels[:, :, -1], np.iinfo(pixels.dtype).max if pixels.dtype.kind in "ui" else 1.0, log)
    return pixels[:, :, :keep].astype(np.float32)
