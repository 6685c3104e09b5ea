"""Heightfields: elevation arrays (.npy/.npz), engine RAW files, and greyscale images.

Each heightfield is normalised on its own, min -> -1 and max -> 1. DEM files come in metres,
feet, decimetres or raw 16-bit counts, and a game terrain is placed at whatever height the
level designer wants, so absolute altitude carries nothing a generator should learn: the shape
of the relief does. (The price: relative relief between files is lost; a flat plain and an
Alpine range both span [-1, 1]. Train on crops of similar terrain, or use one large DEM.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .imagefile import IMAGE_SUFFIXES, pixel_limit, read_image
from .pixels import convert_channels, resize

HEIGHTFIELD_SUFFIXES = (".npy", ".npz", ".raw", ".r16") + IMAGE_SUFFIXES

# Values that mean "no measurement" rather than a height: NaN/inf anywhere, -32768 in 16-bit
# signed DEMs (the SRTM void marker), and the huge negative floats GDAL writes as nodata.
INT16_NODATA = -32768
FLOAT_NODATA_BELOW = -1e30
# The usual nodata markers of DEMs written without GDAL's tag (ESRI grids, exports from GIS
# tools, .npy files). One is taken as nodata only when it lies further below every other
# height than those heights span: a real trench or basin sits next to its surroundings.
COMMON_NODATA = (-9999.0, -99999.0, -32767.0)


class HeightfieldError(ValueError):
    """A file that cannot be read as a heightfield; the message says why (skipped and reported)."""


def load_heightfield(path: Path, scale: float = 1.0, log: Callable[[str], None] = print) -> np.ndarray:
    """One heightfield file as a 1 x H x W float32 array in [-1, 1] (min -> -1, max -> 1)."""
    heights = read_heights(path, log)
    heights = fill_nodata(heights, path, log)
    heights = resize(heights[:, :, None].astype(np.float32), scale)[:, :, 0]
    lo, hi = float(heights.min()), float(heights.max())
    if hi == lo:
        log(f"{path}: the heightfield is flat (all {lo:g}); it becomes a flat 0")
        return np.zeros((1, *heights.shape), dtype=np.float32)
    return ((heights - lo) / (hi - lo) * 2.0 - 1.0).astype(np.float32)[None]


def read_heights(path: Path, log: Callable[[str], None] = print) -> np.ndarray:
    """The raw 2-D height values of a file (its own units; nodata not yet filled)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _as_2d(np.load(path, allow_pickle=False), "the array")
    if suffix == ".npz":
        return _read_npz(path)
    if suffix in (".raw", ".r16"):
        return _read_raw(path)
    if suffix in IMAGE_SUFFIXES:
        pixels, _ = read_image(path, log)  # full-scale value irrelevant: min/max follows
        if pixels.shape[2] == 3 and not np.array_equal(pixels[:, :, 0], pixels[:, :, 1]):
            log(f"{path}: a colour image, read as a heightmap by its luminance (export heights as grey for full precision)")
        heights = convert_channels(pixels, 1)[:, :, 0]
        signed16, nodata = _image_nodata(path)
        if signed16:  # a signed 16-bit GeoTIFF (SRTM): its -32768 voids are the int16 marker
            heights = heights.astype(np.int16)
        if nodata is not None:  # GDAL's own nodata value, e.g. -9999
            heights = heights.astype(np.float64)
            heights[heights == nodata] = np.nan
        return heights
    raise HeightfieldError(f"not a heightfield file type (use one of {', '.join(HEIGHTFIELD_SUFFIXES)})")


def _image_nodata(path: Path) -> tuple[bool, float | None]:
    """(whether the file stores signed 16-bit samples, GDAL's nodata value or None) of a TIFF
    (tags 258 BitsPerSample, 339 SampleFormat, 42113 GDAL_NODATA); (False, None) otherwise."""
    from PIL import Image  # noqa: PLC0415

    try:
        with pixel_limit(None), Image.open(path) as im:  # tags only: no pixel is decoded
            tags = getattr(im, "tag_v2", None)
            if tags is None:
                return False, None
            bits, fmt, text = tags.get(258), tags.get(339), tags.get(42113)
    except OSError:
        return False, None
    first = lambda v: v[0] if isinstance(v, tuple) and v else v  # noqa: E731
    signed16 = first(bits) == 16 and first(fmt) == 2
    try:
        nodata = float(str(text).strip().strip("\x00")) if text is not None else None
    except ValueError:
        nodata = None
    return signed16, nodata


def fill_nodata(heights: np.ndarray, path: Path, log: Callable[[str], None] = print) -> np.ndarray:
    """Replace nodata cells with the lowest real height, so they read as flat ground, not spikes."""
    missing = ~np.isfinite(heights)
    if heights.dtype == np.int16:
        missing |= heights == INT16_NODATA
    elif heights.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            missing |= heights <= FLOAT_NODATA_BELOW
    heights = heights.astype(np.float64)
    markers = []
    for marker in COMMON_NODATA:
        at = heights == marker
        if at.any():
            rest = heights[~missing & ~at]
            if rest.size and rest.min() - marker > rest.max() - rest.min():
                missing |= at
                markers.append(f"{marker:g}")
    if not missing.any():
        return heights
    if missing.all():
        raise HeightfieldError("every cell is nodata (NaN or a nodata marker)")
    lowest = float(heights[~missing].min())
    heights[missing] = lowest
    which = f", the value {' and '.join(markers)} far below every height," if markers else ""
    share = f"{missing.mean():.1%}" if missing.mean() >= 0.001 else "under 0.1%"
    log(f"{path}: filled {int(missing.sum())} nodata cells ({share}){which} with the lowest height {lowest:g}")
    return heights


def _read_npz(path: Path) -> np.ndarray:
    """The array named `elevation`, else the first 2-D one (coordinates and spacing are 0-/1-D)."""
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.files)
        if "elevation" in names:
            return _as_2d(archive["elevation"], "'elevation'")
        for name in names:
            array = archive[name]
            if array.ndim >= 2 and sum(s > 1 for s in array.shape) == 2:
                return _as_2d(array, repr(name))
    raise HeightfieldError(f"no 2-D array in the .npz (arrays: {', '.join(names) or 'none'})")


def _as_2d(array: np.ndarray, what: str) -> np.ndarray:
    """Drop length-1 axes (H x W x 1, 1 x H x W); anything else that is not 2-D is refused."""
    if array.dtype.kind not in "biuf":
        raise HeightfieldError(f"{what} holds {array.dtype}, not numbers")
    squeezed = array.squeeze() if array.ndim > 2 else array
    if squeezed.ndim != 2:
        raise HeightfieldError(f"{what} has shape {array.shape}, not a 2-D height grid")
    return squeezed


def raw_layout(nbytes: int, suffix: str) -> tuple[int, str] | None:
    """(side, dtype) of a square headerless RAW of `nbytes`: 16-bit little-endian, or 8-bit
    for a .raw; None when it is neither (see _read_raw)."""
    side16 = math.isqrt(nbytes // 2)
    if nbytes % 2 == 0 and side16 * side16 * 2 == nbytes and side16 > 0:
        return side16, "<u2"
    side8 = math.isqrt(nbytes)
    if suffix.lower() == ".raw" and side8 * side8 == nbytes and side8 > 0:
        return side8, "u1"
    return None


def _read_raw(path: Path) -> np.ndarray:
    """A square headerless RAW (Unity, World Machine): 16-bit little-endian, or 8-bit for .raw.

    The side is read from the file length. 2*k*k and m*m can never both hold for integers, so
    16- versus 8-bit is never ambiguous.
    """
    data = path.read_bytes()
    layout = raw_layout(len(data), path.suffix)
    if layout is not None:
        side, dtype = layout
        return np.frombuffer(data, dtype=dtype).reshape(side, side)
    raise HeightfieldError(
        f"{len(data)} bytes is not a square heightfield (a 16-bit RAW of side k holds 2*k*k bytes, "
        f"e.g. 513 x 513 = {2 * 513 * 513}); export it as a square 16-bit little-endian RAW"
    )
