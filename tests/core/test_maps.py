"""Normal maps, hillshade and luminance, on known shapes and on a real DEM (USGS Jacksboro)."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from matplotlib import cbook
from matplotlib.colors import LightSource

from texgen.errors import RequestError
from texgen.maps import hillshade, luminance, normal_map
from texgen.seamless import make_seamless, tile


@pytest.fixture(scope="module")
def dem() -> np.ndarray:
    z = cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"].astype(np.float64)
    return (z - z.min()) / (z.max() - z.min())  # 344 x 403, heights in [0, 1]


def decode(n: np.ndarray) -> np.ndarray:
    return n.astype(np.float64) * 2.0 - 1.0


# --- normal_map -------------------------------------------------------------------------


def test_flat_height_is_the_flat_normal():
    n = normal_map(np.full((16, 24), 0.3))
    assert n.shape == (16, 24, 3) and n.dtype == np.float32
    assert np.array_equal(n, np.broadcast_to(np.float32([0.5, 0.5, 1.0]), n.shape))
    assert tuple(np.round(n[0, 0] * 255).astype(int)) == (128, 128, 255)  # (127.5 rounds up)


def test_ramp_rising_right_faces_left():
    w = 32
    h = np.tile(np.arange(w) / w, (8, 1))  # +1/32 per pixel to the right
    n = normal_map(h, strength=4.0, wrap=False)
    slope = 4.0 / w
    expected = np.array([-slope, 0.0, 1.0]) / np.sqrt(slope**2 + 1)
    assert np.allclose(decode(n[4, 1:-1]), expected, atol=1e-6)
    assert n[4, 10, 0] < 0.5 and n[4, 10, 1] == 0.5


def test_opengl_green_is_up_directx_inverts_it():
    rows = np.arange(32) / 32
    h = np.tile(rows[:, None], (1, 8))  # rising towards the bottom: the surface faces up the image
    gl = normal_map(h, strength=8.0, wrap=False)
    dx = normal_map(h, strength=8.0, convention="directx", wrap=False)
    assert gl[10, 4, 1] > 0.5 and dx[10, 4, 1] < 0.5
    assert np.allclose(gl[..., 1], 1.0 - dx[..., 1], atol=1e-6)
    assert np.array_equal(gl[..., [0, 2]], dx[..., [0, 2]])


def test_bump_sides_face_outwards():
    y, x = np.mgrid[0:41, 0:41]
    bump = np.exp(-((x - 20) ** 2 + (y - 20) ** 2) / 60.0)
    n = normal_map(bump, strength=5.0)
    assert n[14, 20, 1] > 0.55  # upper side (towards row 0) faces up: OpenGL green > 0.5
    assert n[26, 20, 1] < 0.45
    assert n[20, 26, 0] > 0.55  # right side faces right: red > 0.5
    assert n[20, 14, 0] < 0.45
    assert np.allclose(n[20, 20], [0.5, 0.5, 1.0])  # the top is flat


def test_normals_are_unit_and_strength_tilts_them(dem):
    weak = decode(normal_map(dem, strength=20.0))
    strong = decode(normal_map(dem, strength=80.0))
    assert np.allclose(np.linalg.norm(weak, axis=-1), 1.0, atol=1e-5)
    assert strong[..., 2].mean() < weak[..., 2].mean() < 1.0


def test_dem_normals_match_numpy_gradient(dem):
    s = 50.0
    n = decode(normal_map(dem, strength=s, wrap=False))
    gy, gx = np.gradient(dem)  # an independent central-difference implementation
    ref = np.stack([-s * gx, s * gy, np.ones_like(dem)], axis=-1)
    ref /= np.linalg.norm(ref, axis=-1, keepdims=True)
    assert np.allclose(n[1:-1, 1:-1], ref[1:-1, 1:-1], atol=1e-6)


def test_wrap_sampling_makes_tileable_normals():
    height = make_seamless(skimage.data.gravel()[:128, :160].astype(np.float32) / 255)
    wrapped = normal_map(height, strength=3.0)
    # Wrap sampling is the same as computing on a 3 x 3 tiling and keeping the middle tile.
    big = normal_map(tile(height, 3), strength=3.0, wrap=False)
    # ... so the tiled normal map is exactly the normal map of the tiled height: no seam.
    assert np.allclose(wrapped, big[128:256, 160:320], atol=1e-6)
    clamped = normal_map(height, strength=3.0, wrap=False)
    assert not np.allclose(clamped[0], wrapped[0])  # the edge rows differ without wrap


def test_normal_map_refuses_bad_input():
    with pytest.raises(RequestError, match="convention"):
        normal_map(np.zeros((8, 8)), convention="vulkan")  # type: ignore[arg-type]
    with pytest.raises(RequestError, match="shape"):
        normal_map(np.zeros((8, 8, 3)))


# --- hillshade --------------------------------------------------------------------------


def test_hillshade_of_flat_ground_is_sin_altitude():
    assert np.allclose(hillshade(np.zeros((8, 8)), altitude=45.0), np.sin(np.radians(45.0)), atol=1e-6)
    assert np.allclose(hillshade(np.zeros((8, 8)), altitude=30.0), 0.5, atol=1e-6)


def test_hillshade_lights_slopes_facing_the_sun():
    y, x = np.mgrid[0:32, 0:32].astype(np.float64)
    facing_nw = (x + y) / 64.0  # rises to the south-east, so it faces north-west
    facing_se = 1.0 - facing_nw
    flat = np.sin(np.radians(45.0))
    lit = hillshade(facing_nw, z_factor=20.0, wrap=False)[16, 16]
    dark = hillshade(facing_se, z_factor=20.0, wrap=False)[16, 16]
    assert lit > flat > dark
    # Light from the south-east instead swaps them.
    assert hillshade(facing_se, azimuth=135.0, z_factor=20.0, wrap=False)[16, 16] == pytest.approx(lit)


def test_hillshade_matches_matplotlib_lightsource(dem):
    mine = hillshade(dem, z_factor=30.0, wrap=False)
    ref = LightSource(azdeg=315, altdeg=45).hillshade(dem, vert_exag=30.0, dx=1, dy=1)
    inner = (slice(2, -2), slice(2, -2))
    assert mine.shape == dem.shape and 0.0 <= mine.min() and mine.max() <= 1.0
    assert np.corrcoef(mine[inner].ravel(), ref[inner].ravel())[0, 1] > 0.98  # measured 0.993


def test_hillshade_auto_z_factor_shows_relief(dem):
    auto = hillshade(dem)
    assert auto.std() > 0.1  # a flat-looking preview would be near sin(45 deg) everywhere
    assert hillshade(dem * 0.01).std() == pytest.approx(auto.std(), rel=1e-3)  # scale-free


# --- luminance --------------------------------------------------------------------------


def test_luminance_weights_are_rec709():
    rgb = np.zeros((1, 3, 3), dtype=np.float32)
    rgb[0, 0, 0] = rgb[0, 1, 1] = rgb[0, 2, 2] = 1.0
    assert np.allclose(luminance(rgb)[0], [0.2126, 0.7152, 0.0722], atol=1e-6)
    assert np.allclose(luminance(np.full((2, 2, 3), 0.5)), 0.5, atol=1e-6)


def test_luminance_passes_grey_through():
    g = skimage.data.grass()[:16, :16].astype(np.float32) / 255
    assert np.array_equal(luminance(g), g)
    assert np.array_equal(luminance(g[..., None]), g)
    with pytest.raises(RequestError):
        luminance(np.zeros((4, 4, 2)))
