"""The 16-bit PNG decoder against files from other encoders and every PNG row filter."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import skimage.data
from PIL import Image

from trainer.data.png16 import PngFormatError, read_png16


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _encode(pixels: np.ndarray, colour_type: int) -> bytes:
    """A plain scalar PNG encoder (PNG spec 1.2, section 6) cycling through all five filters."""
    height, width, channels = pixels.shape
    bpp = 2 * channels
    rows = pixels.astype(">u2").reshape(height, width * bpp // 2).view(np.uint8).reshape(height, width * bpp)
    out = bytearray()
    for y in range(height):
        kind = y % 5
        out.append(kind)
        for i in range(width * bpp):
            x = int(rows[y, i])
            a = int(rows[y, i - bpp]) if i >= bpp else 0
            b = int(rows[y - 1, i]) if y else 0
            c = int(rows[y - 1, i - bpp]) if y and i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, _paeth(a, b, c)][kind]
            out.append((x - pred) % 256)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(out))) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("colour_type, channels", [(0, 1), (2, 3), (4, 2), (6, 4)])
def test_every_filter_and_colour_type_round_trips(tmp_path, colour_type, channels):
    rng = np.random.default_rng(colour_type)
    pixels = rng.integers(0, 65536, size=(11, 7, channels), dtype=np.uint16)
    pixels[3:6] = 65535 - pixels[3:6] // 3  # smooth and extreme rows too
    path = tmp_path / "t.png"
    path.write_bytes(_encode(pixels, colour_type))
    assert np.array_equal(read_png16(path), pixels)


def test_matches_pillow_on_a_pillow_written_16bit_grey_texture(tmp_path):
    gravel = skimage.data.gravel().astype(np.uint16) * 257 + np.random.default_rng(0).integers(0, 257, (512, 512))
    Image.fromarray(gravel.astype(np.uint16)).save(tmp_path / "g.png")  # Pillow picks filters per row
    assert np.array_equal(read_png16(tmp_path / "g.png")[:, :, 0], np.asarray(Image.open(tmp_path / "g.png")))


def test_high_byte_matches_pillow_on_skimage_rgb16():
    path = skimage.data.data_dir + "/chessboard_RGB.png"
    pixels = read_png16(path)
    assert pixels.shape == (200, 200, 3)
    assert np.array_equal(pixels >> 8, np.asarray(Image.open(path)))


def test_corrupt_files_raise_format_errors(tmp_path):
    good = _encode(np.zeros((4, 4, 3), np.uint16), 2)
    for name, data in [("trunc.png", good[:40]), ("text.png", b"hello"), ("crc.png", good[:30] + b"\x00" + good[31:])]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(PngFormatError):
            read_png16(tmp_path / name)
