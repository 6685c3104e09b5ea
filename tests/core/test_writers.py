"""Exporters against the engines' formats (docs/export-formats.md), byte by byte, read back by readers that are not the writer."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from matplotlib import cbook
from PIL import Image

from png_decoder import ihdr_bytes, read_png
from texgen import atomic
from texgen.errors import ExportError
from texgen.atomic import atomic_path, check_writable
from texgen.writers import (
    UNITY_SIZES,
    save_height_png16,
    save_normal_png,
    save_r16,
    save_raw16,
    save_texture_png,
    write_sidecar,
)
from texgen.maps import normal_map


@pytest.fixture(scope="module")
def dem() -> np.ndarray:
    z = cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"].astype(np.float64)
    return (z - z.min()) / (z.max() - z.min())  # 344 rows x 403 columns


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return skimage.data.astronaut()[100:164, 200:296].astype(np.float32) / 255  # 64 x 96


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- PNG --------------------------------------------------------------------------------


def test_texture_png_rgb_bytes_and_pixels(tmp_path, rgb):
    path = save_texture_png(tmp_path / "albedo.png", rgb)
    assert ihdr_bytes(path) == (96, 64, 8, 2)  # width, height, 8-bit, colour type 2 (RGB)
    png = read_png(path)
    assert np.array_equal(png.pixels, np.round(rgb.astype(np.float64) * 255).astype(np.uint8))


def test_texture_png_grey_and_clipping(tmp_path):
    g = skimage.data.gravel()[:40, :50].astype(np.float32) / 255
    g[0, 0], g[0, 1], g[0, 2] = -0.5, 1.5, 0.5
    path = save_texture_png(tmp_path / "g.png", g[..., None])
    assert ihdr_bytes(path) == (50, 40, 8, 0)
    px = read_png(path).pixels[..., 0]
    assert tuple(px[0, :3]) == (0, 255, 128)
    assert np.array_equal(px, np.round(np.clip(g.astype(np.float64), 0, 1) * 255).astype(np.uint8))


def test_height_png16_is_16_bit_grey_big_endian(tmp_path, dem):
    path = save_height_png16(tmp_path / "h.png", dem)
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(raw[16:20], "big") == 403 and int.from_bytes(raw[20:24], "big") == 344
    assert raw[24] == 16 and raw[25] == 0
    png = read_png(path)  # decodes the samples as big-endian, per the PNG spec
    expected = np.round(dem * 65535).astype(np.uint16)
    assert np.array_equal(png.pixels[..., 0], expected)
    assert png.pixels.max() == 65535 and png.pixels.min() == 0
    # Pillow >= 10.3 opens it as I;16 with the same values.
    with Image.open(path) as im:
        assert im.mode == "I;16"
        assert np.array_equal(np.asarray(im), expected)


def test_normal_png_is_8_bit_rgb(tmp_path, dem):
    n = normal_map(dem, strength=40.0)
    path = save_normal_png(tmp_path / "n.png", n)
    assert ihdr_bytes(path) == (403, 344, 8, 2)
    assert np.array_equal(read_png(path).pixels, np.round(n.astype(np.float64) * 255).astype(np.uint8))
    with pytest.raises(ValueError):
        save_normal_png(tmp_path / "bad.png", dem)


def test_nan_is_refused_before_writing(tmp_path):
    h = np.zeros((33, 33))
    h[5, 5] = np.nan
    with pytest.raises(ExportError, match="NaN"):
        save_height_png16(tmp_path / "h.png", h)
    assert list(tmp_path.iterdir()) == []


# --- RAW and r16 ------------------------------------------------------------------------


def terrain(n: int) -> np.ndarray:
    dem = cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"][:n, :n].astype(np.float64)
    return (dem - dem.min()) / (dem.max() - dem.min())


def test_raw16_unity_little_endian_bottom_row_first(tmp_path):
    h = terrain(257)
    path = save_raw16(tmp_path / "t.raw", h)
    assert path.stat().st_size == 257 * 257 * 2  # Unity guesses 16-bit from the length
    data = np.fromfile(path, dtype="<u2").reshape(257, 257)
    expected = np.minimum(np.round(h * 65536), 65535).astype(np.uint16)
    assert np.array_equal(data[0], expected[-1])  # the image's bottom row comes first
    assert np.array_equal(data[::-1], expected)
    assert data.max() == 65535  # h = 1.0 clamps
    # Unity's import, u16 / 65536, gives the height back to within half a step (a full
    # step at h = 1.0, which clamps to 65535).
    back = data[::-1] / 65536.0
    assert np.abs(back - h)[h < 1].max() <= 0.5 / 65536
    assert np.abs(back - h).max() <= 1.0 / 65536


def test_raw16_mapping_of_exact_values(tmp_path):
    h = np.zeros((33, 33))
    h[0, :4] = [0.0, 0.5, 0.25, 1.0]
    data = np.fromfile(save_raw16(tmp_path / "v.raw", h, flip_vertical=False), dtype="<u2")
    assert list(data[:4]) == [0, 32768, 16384, 65535]


def test_raw16_big_endian_and_no_flip(tmp_path):
    h = terrain(129)
    path = save_raw16(tmp_path / "mac.raw", h, byte_order="big", flip_vertical=False)
    data = np.fromfile(path, dtype=">u2").reshape(129, 129)
    assert np.array_equal(data, np.minimum(np.round(h * 65536), 65535).astype(np.uint16))
    swapped = np.fromfile(path, dtype="<u2").reshape(129, 129)
    assert not np.array_equal(swapped, data)


def test_raw16_full_scale(tmp_path):
    h = terrain(64)  # Terrain Tools: power of two, / 65535
    data = np.fromfile(save_raw16(tmp_path / "f.raw", h, scale="full", flip_vertical=False), dtype="<u2")
    assert np.array_equal(data.reshape(64, 64), np.round(h * 65535).astype(np.uint16))


def test_raw16_refuses_sizes_unity_cannot_take(tmp_path):
    with pytest.raises(ExportError, match="33, 65, 129, 257, 513, 1025, 2049, 4097") as err:
        save_raw16(tmp_path / "t.raw", np.zeros((64, 64)))
    assert "64" in str(err.value)
    with pytest.raises(ExportError, match="square"):
        save_raw16(tmp_path / "t.raw", np.zeros((65, 33)))
    assert list(tmp_path.iterdir()) == []
    assert UNITY_SIZES == (33, 65, 129, 257, 513, 1025, 2049, 4097)


def test_r16_little_endian_top_row_first(tmp_path):
    h = terrain(127)
    path = save_r16(tmp_path / "t.r16", h)
    assert path.stat().st_size == 127 * 127 * 2
    data = np.fromfile(path, dtype="<u2").reshape(127, 127)
    assert np.array_equal(data, np.round(h * 65535).astype(np.uint16))
    with pytest.raises(ExportError, match="square"):
        save_r16(tmp_path / "t.r16", np.zeros((10, 12)))


# --- atomic writes ----------------------------------------------------------------------


def test_atomic_path_uses_a_hidden_temp_file_in_the_same_folder(tmp_path):
    final = tmp_path / "out.bin"
    with atomic_path(final) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".") and tmp.name.endswith(".tmp")
        tmp.write_bytes(b"abc")
        assert not final.exists()
    assert final.read_bytes() == b"abc"
    assert leftovers(tmp_path) == []


def test_failure_mid_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, rgb, monkeypatch):
    final = save_texture_png(tmp_path / "albedo.png", rgb)
    before = final.read_bytes()

    def half_then_fail(self, fp, format=None, **kw):  # noqa: A002 (Pillow's signature)
        Path(fp).write_bytes(b"\x89PNG\r\n\x1a\n partial")
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(Image.Image, "save", half_then_fail)
    with pytest.raises(OSError):
        save_texture_png(final, rgb * 0.5)
    assert final.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_failed_rename_keeps_the_old_raw(tmp_path, monkeypatch):
    final = save_r16(tmp_path / "t.r16", terrain(33))
    before = final.read_bytes()
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (_ for _ in ()).throw(OSError(errno.EIO, "I/O")))
    with pytest.raises(OSError):
        save_r16(final, np.zeros((33, 33)))
    assert final.read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "code, words",
    [
        (errno.ENOSPC, "free disk space"),
        (errno.EACCES, "writable folder"),
        (errno.EROFS, "writable folder"),
        (errno.ENAMETOOLONG, "shorter file name"),
    ],
)
def test_os_errors_become_export_errors_naming_path_and_fix(tmp_path, code, words):
    final = tmp_path / "h.raw"
    with pytest.raises(ExportError) as err:
        with atomic_path(final) as tmp:
            tmp.write_bytes(b"partial")
            raise OSError(code, os.strerror(code))
    assert str(final) in str(err.value) and words in str(err.value)
    assert leftovers(tmp_path) == [] and not final.exists()


def test_a_name_near_the_limit_still_has_a_temporary_name_that_fits(tmp_path):
    """255 bytes is the most a name may have; the temporary name, which adds the writer's pid
    and a random tag, cuts the final name short instead of failing with ENAMETOOLONG."""
    final = tmp_path / ("é" * 120 + "a" * 11 + ".png")  # 251 bytes in UTF-8
    seen = []
    with atomic_path(final) as tmp:
        seen.append(tmp.name)
        tmp.write_bytes(b"whole")
    assert final.read_bytes() == b"whole" and leftovers(tmp_path) == []
    assert len(seen[0].encode("utf-8")) <= 255 and seen[0].startswith(".éé") and seen[0].endswith(".tmp")
    assert atomic._TEMP.match(seen[0])  # still swept when a killed writer leaves it


def test_other_errors_propagate_unchanged(tmp_path):
    with pytest.raises(KeyError):
        with atomic_path(tmp_path / "x") as tmp:
            tmp.write_bytes(b"1")
            raise KeyError("bug")
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_an_export_error(tmp_path, rgb):
    with pytest.raises(ExportError, match="does not exist"):
        save_texture_png(tmp_path / "nope" / "a.png", rgb)


# --- check_writable ---------------------------------------------------------------------


def test_check_writable_creates_the_folder(tmp_path):
    folder = tmp_path / "a" / "b"
    check_writable(folder)
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_check_writable_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ExportError, match="not a folder"):
        check_writable(tmp_path / "f")
    with pytest.raises(ExportError, match=str(tmp_path / "f")):
        check_writable(tmp_path / "f" / "sub")


def test_check_writable_reports_an_unwritable_folder(tmp_path, monkeypatch):
    # Tests run as root here, where chmod cannot make a folder read-only: simulate the OS.
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic.tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(ExportError, match="writable") as err:
        check_writable(tmp_path)
    assert str(tmp_path) in str(err.value)


# --- sidecar ----------------------------------------------------------------------------


def test_sidecar_is_sorted_pretty_json_beside_the_file(tmp_path):
    file = tmp_path / "gravel_7_albedo.png"
    info = {"seed": np.int64(7), "model": "gravel", "size": {"width": 64, "height": 32}, "path": file}
    side = write_sidecar(file, info)
    assert side == tmp_path / "gravel_7_albedo.png.json"
    text = side.read_text()
    data = json.loads(text)
    assert data == {"seed": 7, "model": "gravel", "size": {"width": 64, "height": 32}, "path": str(file)}
    assert list(data) == ["model", "path", "seed", "size"]  # written sorted
    assert text.startswith('{\n  "model"') and text.endswith("}\n")
    assert leftovers(tmp_path) == []
