"""Heightmap sources on real DEMs from matplotlib's sample data (USGS, public domain)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image

from texgen.errors import RequestError
from trainer.data import open_dataset

JACKSBORO = cbook.get_sample_data("jacksboro_fault_dem.npz", asfileobj=False)
TOPOBATHY = cbook.get_sample_data("topobathy.npz", asfileobj=False)


class Log(list):
    def __call__(self, msg: str) -> None:
        self.append(msg)


def _normalised(heights: np.ndarray) -> np.ndarray:
    heights = heights.astype(np.float64)
    return (heights - heights.min()) / (heights.max() - heights.min()) * 2 - 1


def test_jacksboro_dem_uses_its_elevation_array():
    elevation = np.load(JACKSBORO)["elevation"]  # int16 metres, 344 x 403; the file also holds dx, xmin, ...
    data = open_dataset(str(JACKSBORO), kind="heightmap", channels=3, log=Log())
    assert len(data) == 1 and data.images[0].shape == (1, 344, 403)  # channels forced to 1
    np.testing.assert_allclose(data.images[0][0], _normalised(elevation), atol=1e-6)
    assert "heightfield" in data.description


def test_topobathy_picks_the_2d_grid_not_the_coordinates(tmp_path):
    with np.load(TOPOBATHY) as f:
        topo, lon, lat = f["topo"], f["longitude"], f["latitude"]
    data = open_dataset(str(TOPOBATHY), kind="heightmap", log=Log())
    np.testing.assert_allclose(data.images[0][0], _normalised(topo), atol=1e-6)
    np.savez(tmp_path / "coords_first.npz", longitude=lon, latitude=lat, depth=topo)
    again = open_dataset(str(tmp_path / "coords_first.npz"), kind="heightmap", log=Log())
    np.testing.assert_array_equal(again.images[0], data.images[0])


def test_nodata_is_filled_with_the_lowest_height_and_logged(tmp_path):
    with np.load(TOPOBATHY) as f:
        topo = f["topo"].copy()
    topo[10:20, 30:40] = np.nan
    np.save(tmp_path / "holes.npy", topo)
    elevation = np.load(JACKSBORO)["elevation"].copy()
    elevation[:5, :5] = -32768  # SRTM void marker
    np.save(tmp_path / "void.npy", elevation)
    log = Log()
    data = open_dataset(str(tmp_path), kind="heightmap", log=log)
    holes, void = data.images
    assert np.isfinite(holes).all() and (holes[0, 10:20, 30:40] == -1).all()
    assert (void[0, :5, :5] == -1).all()
    np.testing.assert_allclose(void[0, 5:, 5:], _normalised(np.load(JACKSBORO)["elevation"])[5:, 5:], atol=1e-6)
    assert any("filled 100 nodata cells" in m and "holes.npy" in m for m in log)
    assert any("filled 25 nodata cells" in m and "lowest height 236" in m for m in log)


def test_geotiff_voids_are_filled_too(tmp_path):
    """A signed 16-bit GeoTIFF's -32768 (the SRTM void), and GDAL's own nodata value in a float
    GeoTIFF (tag 42113), are filled as in .npy files (they squeezed the real terrain into a sliver)."""
    import tifffile  # noqa: PLC0415

    elevation = np.load(JACKSBORO)["elevation"].astype(np.int16)
    truth = _normalised(elevation[5:, 5:].astype(np.float64))
    void = elevation.copy()
    void[:5, :5] = -32768
    tifffile.imwrite(tmp_path / "srtm.tif", void)
    flagged = np.where(void == -32768, -9999, void).astype(np.float32)
    tifffile.imwrite(tmp_path / "gdal.tif", flagged, extratags=[(42113, "s", 0, "-9999", True)])
    log = Log()
    for name in ("srtm.tif", "gdal.tif"):
        (img,) = open_dataset(str(tmp_path / name), kind="heightmap", log=log).images
        assert (img[0, :5, :5] == -1).all()
        np.testing.assert_allclose(_normalised(img[0, 5:, 5:].astype(np.float64)), truth, atol=1e-5)
    assert sum("filled 25 nodata cells" in m for m in log) == 2


def test_raw_and_r16_files(tmp_path):
    elevation = np.load(JACKSBORO)["elevation"][:257, :257].astype("<u2")
    elevation.tofile(tmp_path / "terrain.raw")
    elevation.tofile(tmp_path / "terrain.r16")
    (elevation // 8).astype(np.uint8).tofile(tmp_path / "terrain8.raw")
    data = open_dataset(str(tmp_path), kind="heightmap", log=Log())
    assert [img.shape for img in data.images] == [(1, 257, 257)] * 3
    np.testing.assert_allclose(data.images[0][0], _normalised(elevation), atol=1e-6)
    np.testing.assert_array_equal(data.images[0], data.images[1])
    np.testing.assert_allclose(data.images[2][0], _normalised(elevation // 8), atol=1e-6)


def test_non_square_raw_is_refused_with_the_rule(tmp_path):
    np.zeros((100, 120), "<u2").tofile(tmp_path / "wide.raw")
    with pytest.raises(
        RequestError, match="cannot read .*wide.raw .24000 bytes is not a square heightfield.*2\\*k\\*k.*re-export"
    ):
        open_dataset(str(tmp_path / "wide.raw"), kind="heightmap", log=Log())
    np.zeros(1000, "<u2").tofile(tmp_path / "odd.r16")
    log = Log()
    (tmp_path / "ok.npy").write_bytes(b"")  # an empty, broken .npy: skipped too
    np.save(tmp_path / "ok2.npy", np.load(JACKSBORO)["elevation"])
    data = open_dataset(str(tmp_path), kind="heightmap", log=log)
    assert len(data) == 1 and {p.rsplit("/", 1)[-1] for p, _ in data.skipped} == {"odd.r16", "ok.npy", "wide.raw"}


def test_16bit_png_heightmap_keeps_single_steps(tmp_path):
    ramp = (1000 + np.arange(128 * 128)).reshape(128, 128).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "h.png")
    img = open_dataset(str(tmp_path / "h.png"), kind="heightmap", log=Log()).images[0]
    assert len(np.unique(img)) == 128 * 128
    np.testing.assert_allclose(img[0], _normalised(ramp), atol=1e-6)


def test_flat_and_bad_arrays(tmp_path):
    np.save(tmp_path / "flat.npy", np.full((64, 64), 12.5))
    np.save(tmp_path / "rgb.npy", np.zeros((64, 64, 3)))
    log = Log()
    data = open_dataset(str(tmp_path), kind="heightmap", log=log)
    assert len(data) == 1 and not data.images[0].any()
    assert any("flat" in m for m in log)
    assert "not a 2-D height grid" in data.skipped[0][1]


def test_common_nodata_markers_without_gdals_tag_are_filled_when_far_below_the_terrain(tmp_path):
    """-9999 is the nodata of ESRI grids and many GIS exports, often saved with no GDAL tag;
    it squeezed the real terrain into a sliver of the height range. It is filled when it sits
    further below every other height than they span, and kept when it could be a real depth."""
    import tifffile  # noqa: PLC0415

    elevation = np.load(JACKSBORO)["elevation"].astype(np.float32)
    truth = _normalised(elevation[5:, 5:].astype(np.float64))
    flagged = elevation.copy()
    flagged[:5, :5] = -9999
    tifffile.imwrite(tmp_path / "esri.tif", flagged)  # no tag 42113
    np.save(tmp_path / "esri.npy", flagged.astype(np.float64))
    log = Log()
    for name in ("esri.tif", "esri.npy"):
        (img,) = open_dataset(str(tmp_path / name), kind="heightmap", log=log).images
        assert (img[0, :5, :5] == -1).all()
        np.testing.assert_allclose(_normalised(img[0, 5:, 5:].astype(np.float64)), truth, atol=1e-5)
    assert (
        sum(
            "filled 25 nodata cells (under 0.1%), the value -9999 far below every height, with the lowest" in m
            for m in log
        )
        == 2
    )
    # An ocean floor reaching down to -9000 m: a -9999 cell beside it is a plausible depth, kept.
    deep = np.linspace(-9000, 0, 64 * 64).reshape(64, 64)
    deep[0, 0] = -9999
    np.save(tmp_path / "trench.npy", deep)
    log = Log()
    (img,) = open_dataset(str(tmp_path / "trench.npy"), kind="heightmap", log=log).images
    assert img[0, 0, 0] == -1 and img[0, 0, 1] > -1 + 0.1 and not any("nodata" in m for m in log)
