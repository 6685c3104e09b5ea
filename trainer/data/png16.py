"""A decoder for 16-bit PNG files (numpy + zlib), because Pillow keeps only 8 bits of colour ones.

Pillow reads a 16-bit grey PNG exactly (mode "I;16") but turns 16-bit RGB / RGBA / grey+alpha
into 8 bits per channel. Texture tools (Substance, Blender bakes) write such files, and their
low byte is what keeps gradients smooth, so this module decodes them itself. Only
non-interlaced files are handled; Adam7 ones fall back to Pillow's 8 bits (the caller logs it).

PNG undoes its per-row filters left to right and top to bottom: pixel (y, x) needs its left,
upper and upper-left neighbours. All pixels on one anti-diagonal y + x = d are independent of
each other, so the loop runs over the H + W - 1 diagonals with numpy doing each one at once,
instead of a Python loop over every pixel.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS_BY_COLOUR_TYPE = {0: 1, 2: 3, 4: 2, 6: 4}  # grey, RGB, grey+alpha, RGBA


class PngFormatError(ValueError):
    """The file is not a PNG this decoder handles (or it is corrupt); the message says which."""


def read_png16(path: Path) -> np.ndarray:
    """HWC uint16 pixels of a non-interlaced 16-bit PNG (alpha included when the file has it)."""
    data = Path(path).read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise PngFormatError("not a PNG file")
    header, idat = _read_chunks(data)
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 16 or colour_type not in CHANNELS_BY_COLOUR_TYPE:
        raise PngFormatError(f"bit depth {depth}, colour type {colour_type} is not 16-bit grey/RGB(A)")
    if interlace:
        raise PngFormatError("interlaced (Adam7) 16-bit PNG")
    channels = CHANNELS_BY_COLOUR_TYPE[colour_type]
    bpp = 2 * channels  # bytes per pixel
    try:
        raw = zlib.decompress(idat)
    except zlib.error as err:
        raise PngFormatError(f"corrupt image data ({err})") from None
    if len(raw) != height * (1 + width * bpp):
        raise PngFormatError(f"image data holds {len(raw)} bytes, expected {height * (1 + width * bpp)}")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, 1 + width * bpp)
    filters = rows[:, 0].astype(np.int64)
    if filters.max(initial=0) > 4:
        raise PngFormatError(f"unknown row filter {filters.max()}")
    pixels = _unfilter(rows[:, 1:].reshape(height, width, bpp), filters)
    return (pixels[:, :, 0::2] * 256 + pixels[:, :, 1::2]).astype(np.uint16)  # big-endian samples


def _read_chunks(data: bytes) -> tuple[bytes, bytes]:
    """IHDR payload and the concatenated IDAT payloads, checking each chunk's CRC."""
    pos, header, idat = len(PNG_SIGNATURE), b"", []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise PngFormatError("file is truncated")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise PngFormatError(f"CRC error in chunk {kind.decode('latin1')}")
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if len(header) != 13 or not idat:
        raise PngFormatError("missing IHDR or IDAT chunk")
    return header, b"".join(idat)


def _unfilter(filtered: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Undo the PNG row filters (None, Sub, Up, Average, Paeth) on H x W x bpp bytes."""
    height, width, bpp = filtered.shape
    # One zero row on top and one zero column on the left stand for "outside the image".
    out = np.zeros((height + 1, width + 1, bpp), dtype=np.int32)
    src = filtered.astype(np.int32)
    for d in range(height + width - 1):
        y = np.arange(max(0, d - width + 1), min(height, d + 1))
        x = d - y
        a = out[y + 1, x]  # left
        b = out[y, x + 1]  # up
        c = out[y, x]  # up-left
        f = filters[y][:, None]
        p = a + b - c
        pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
        paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
        predicted = np.select([f == 1, f == 2, f == 3, f == 4], [a, b, (a + b) >> 1, paeth], 0)
        out[y + 1, x + 1] = (src[y, x] + predicted) & 0xFF
    return out[1:, 1:]
