"""A small PNG reader written from the PNG specification, independent of Pillow.

Tests read texgen's PNGs back with this, so a bug in how texgen drives Pillow cannot hide
behind Pillow reading its own output. Non-interlaced, colour types 0 / 2 / 6, bit depth 8 or 16.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    bit_depth: int
    colour_type: int
    pixels: np.ndarray  # H x W x C, uint8 or uint16 (native byte order)
    chunks: tuple[str, ...]


def read_png(path: Path) -> Png:
    data = Path(path).read_bytes()
    assert data[:8] == SIGNATURE, "not a PNG signature"
    pos, chunks, idat = 8, [], b""
    header = None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"bad CRC in {kind!r}"
        chunks.append(kind.decode("ascii"))
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    assert header is not None and chunks[0] == "IHDR"
    width, height, depth, ctype, _, _, interlace = header
    assert interlace == 0 and depth in (8, 16) and ctype in CHANNELS
    channels = CHANNELS[ctype]
    bpp = channels * depth // 8  # bytes per pixel: the filter's left-neighbour distance
    stride = width * bpp
    raw = zlib.decompress(idat)
    assert len(raw) == height * (stride + 1)
    out = np.zeros((height, stride), dtype=np.int64)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int64)
        cur = _unfilter(ftype, line, prev, bpp)
        out[y] = cur
        prev = cur
    flat = out.astype(np.uint8)
    if depth == 16:
        pixels = flat.reshape(height, width * channels, 2)
        pixels = (pixels[..., 0].astype(np.uint16) << 8) | pixels[..., 1]  # big-endian samples
    else:
        pixels = flat
    return Png(width, height, depth, ctype, pixels.reshape(height, width, channels), tuple(chunks))


def _unfilter(ftype: int, line: np.ndarray, prev: np.ndarray, bpp: int) -> np.ndarray:
    if ftype == 0:
        return line
    if ftype == 2:  # Up
        return (line + prev) & 0xFF
    if ftype == 1:  # Sub: a running sum per byte position within the pixel
        cur = line.reshape(-1, bpp).cumsum(axis=0) & 0xFF
        return cur.reshape(-1)
    if ftype not in (3, 4):
        raise AssertionError(f"unknown PNG filter type {ftype}")
    x, up, cur = line.tolist(), prev.tolist(), [0] * len(line)
    for i in range(len(x)):
        a = cur[i - bpp] if i >= bpp else 0
        b = up[i]
        if ftype == 3:  # Average
            pred = (a + b) >> 1
        else:  # Paeth
            c = up[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        cur[i] = (x[i] + pred) & 0xFF
    return np.array(cur, dtype=np.int64)


def ihdr_bytes(path: Path) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) read straight from bytes 16-25 (the PNG specification's IHDR)."""
    data = Path(path).read_bytes()[:26]
    assert data[:8] == SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height, data[24], data[25]
