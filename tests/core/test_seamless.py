"""Seamless tiling on real photographs (scikit-image's CC0 gravel, brick, grass)."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from texgen.errors import RequestError
from texgen.seamless import extend_periodic, make_seamless, offset_half, seam_score, seam_scores, tile


def photo(name: str) -> np.ndarray:
    return getattr(skimage.data, name)().astype(np.float32) / 255.0


def periodic_noise(h: int, w: int, seed: int, channels: int = 1) -> np.ndarray:
    """1/f noise built in Fourier space: periodic by construction, any size."""
    rng = np.random.default_rng(seed)
    f = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :])
    f[0, 0] = 1.0
    out = []
    for _ in range(channels):
        spec = np.fft.fft2(rng.standard_normal((h, w))) / f
        spec[0, 0] = 0.0
        a = np.real(np.fft.ifft2(spec))
        out.append((a - a.min()) / (a.max() - a.min()))
    return np.stack(out, axis=-1).astype(np.float32)


def half_lag_correlation(img: np.ndarray, axis: int) -> float:
    rolled = np.roll(img, img.shape[axis] // 2, axis=axis)
    return float(np.corrcoef(img.ravel(), rolled.ravel())[0, 1])


def grad_energy(img: np.ndarray) -> float:
    return float(np.abs(np.diff(img, axis=0)).mean() + np.abs(np.diff(img, axis=1)).mean())


# --- seam_score -------------------------------------------------------------------------


def test_seam_score_follows_its_definition():
    img = np.array([[0.0, 0.1, 0.3], [0.2, 0.2, 0.9]])
    inner_x = np.mean([0.1, 0.2, 0.0, 0.7])
    border_x = np.mean([0.3, 0.7])
    inner_y = border_y = np.mean([0.2, 0.1, 0.6])  # two rows: the one pair is inner and border
    assert seam_score(img) == pytest.approx(max(border_x / inner_x, border_y / inner_y))


def test_seam_score_with_a_period_compares_pairs_at_the_borders_phase():
    # Blocks of 8 x 8 equal pixels from a periodic grid: only pairs across a block edge differ,
    # and the wrap pair is one of them. Against every pair it reads about 8; at its phase, 1.
    cells = np.random.default_rng(3).random((12, 10, 3)).astype(np.float32)
    img = np.repeat(np.repeat(cells, 8, axis=0), 8, axis=1)
    assert seam_score(img) > 6.0
    assert 0.7 < seam_score(img, period=8) < 1.3
    rows = np.abs(np.diff(img, axis=0))[7::8].mean()  # the 11 interior block edges, by hand
    cols = np.abs(np.diff(img, axis=1))[:, 7::8].mean()
    border = max(np.abs(img[0] - img[-1]).mean() / rows, np.abs(img[:, 0] - img[:, -1]).mean() / cols)
    assert seam_score(img, period=8) == pytest.approx(border, rel=1e-5)
    assert seam_score(img, period=1) == seam_score(img)
    assert seam_score(img[:8, :8], period=8) == 1.0  # one block: no pair at all differs
    with pytest.raises(ValueError, match="period must be at least 1"):
        seam_score(img, period=0)


def test_seam_score_of_constant_and_degenerate_images_is_one():
    assert seam_score(np.full((16, 16, 3), 0.4)) == 1.0
    # A vertical ramp: constant along x (ratio 1), and its wrap jumps the full range, 15 steps.
    assert seam_score(np.tile(np.linspace(0, 1, 16)[:, None], (1, 9))) == pytest.approx(15.0)
    assert seam_score(np.zeros((1, 5))) == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_periodic_images_score_about_one(seed):
    # Measured over 40 seeds at this size: 0.96 to 1.12.
    assert 0.85 < seam_score(periodic_noise(256, 320, seed)) < 1.15


@pytest.mark.parametrize("name", ["gravel", "brick", "grass"])
def test_photo_crops_show_a_seam(name):
    # Measured on 25 random crops each: gravel >= 2.8, brick >= 7.7, grass >= 2.0.
    img = photo(name)
    for y, x, h, w in [(0, 0, 512, 512), (40, 100, 200, 300), (301, 17, 150, 97)]:
        assert seam_score(img[y : y + h, x : x + w]) > 1.5


@pytest.mark.parametrize(
    "shape, period", [((64, 64), 1), ((64, 64, 3), 16), ((48, 80), 16), ((80, 48, 1), 8), ((2, 5), 1)]
)
def test_seam_scores_are_the_seam_score_of_the_image_cut_at_each_line(shape, period):
    img = np.random.default_rng(period).random(shape).astype(np.float32)
    rolled = [seam_score(np.roll(img, (k, k), axis=(0, 1)), period) for k in range(period, max(shape[:2]), period)]
    seam, lines = seam_scores(img, period)
    assert seam == seam_score(img, period)
    assert lines == pytest.approx(rolled, rel=1e-6)
    # The same where an interior line is flat at the seam's phase (seam_score's fallbacks).
    lines = np.zeros((32, 32))
    lines[:, 5] = 1.0
    lines[9, :] = 0.5
    for p in (1, 4):
        rolled = [seam_score(np.roll(lines, (k, k), axis=(0, 1)), p) for k in range(p, 32, p)]
        assert seam_scores(lines, p)[1] == pytest.approx(rolled)
    assert len(seam_scores(img[:16, :16], 16)[1]) == 0  # no interior line at that phase
    with pytest.raises(ValueError, match="period must be at least 1"):
        seam_scores(img, 0)


@pytest.mark.parametrize("name", ["gravel", "brick", "grass"])
def test_a_photos_seam_stands_out_from_its_interior_lines_until_made_seamless(name):
    img = photo(name)
    seam, before = seam_scores(img)
    assert seam > np.percentile(before, 95)
    out = make_seamless(img)
    seam, after = seam_scores(out)
    assert np.percentile(after, 5) <= seam <= np.percentile(after, 95)


# --- make_seamless ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gravel", "brick", "grass"])
def test_make_seamless_hides_the_seam_of_real_photos(name):
    img = photo(name)
    out = make_seamless(img)
    assert out.shape == img.shape and out.dtype == np.float32
    assert seam_score(img) > 2.0
    assert seam_score(out) < 1.15  # measured: gravel 1.01, brick 1.04, grass 1.01
    # Not washed out, not blurred, no new edges: contrast and pixel-to-pixel detail stay.
    assert out.std() == pytest.approx(img.std(), rel=0.15)
    assert grad_energy(out) == pytest.approx(grad_energy(img), rel=0.10)
    # The photo stays where it was; only strips along the borders change (measured 0.82).
    assert (out == img).mean() > 0.75
    # No half-period repeat: the offset copy's content (the photo's middle) is not shown
    # twice over a large area (measured <= 0.12; copying it over half the image gives ~1).
    assert max(half_lag_correlation(out, 0), half_lag_correlation(out, 1)) < 0.3


@pytest.mark.parametrize("name", ["gravel", "grass"])
def test_blend_method_keeps_variance(name):
    img = photo(name)
    out = make_seamless(img, method="blend")
    assert seam_score(out) < 1.15
    assert out.std() == pytest.approx(img.std(), rel=0.05)  # variance-preserving blend
    assert grad_energy(out) == pytest.approx(grad_energy(img), rel=0.10)
    assert max(half_lag_correlation(out, 0), half_lag_correlation(out, 1)) < 0.3


def test_cut_copies_pixels_where_blend_mixes_them():
    img = photo("brick")
    cut, blend = make_seamless(img), make_seamless(img, method="blend")
    copied = lambda out: np.isin(out, img).mean()  # noqa: E731  (exact float equality)
    assert copied(cut) > 0.8  # measured 0.89: only the few-pixel feather along the cuts mixes
    assert copied(blend) < copied(cut) - 0.2  # measured 0.57: the whole band is mixed


@pytest.mark.parametrize(
    "name, y, x, h, w",
    [
        ("gravel", 40, 100, 200, 300),
        ("gravel", 301, 17, 151, 97),
        ("grass", 13, 200, 257, 255),
        ("grass", 0, 0, 96, 64),
    ],
)
def test_make_seamless_on_crops_of_any_size(name, y, x, h, w):
    crop = photo(name)[y : y + h, x : x + w]
    out = make_seamless(crop)
    assert out.shape == crop.shape
    assert seam_score(crop) > 2.0
    # One border pair of 64 to 300 pixels is a noisy sample: over 100 random crops each of
    # gravel and grass the result stayed below 1.26 (the photos' own pairs spread 0.8 to 1.2).
    assert seam_score(out) < 1.3


def test_make_seamless_colour_image_with_real_channels():
    rgb = np.stack([photo("gravel"), photo("brick"), photo("grass")], axis=-1)[100:292, 50:306]
    out = make_seamless(rgb)
    assert out.shape == rgb.shape
    assert seam_score(rgb) > 2.0 and seam_score(out) < 1.15
    for c in range(3):
        assert out[..., c].std() == pytest.approx(rgb[..., c].std(), rel=0.15)


@pytest.mark.parametrize("shape", [(8, 8), (9, 13), (8, 8, 3), (13, 9, 1), (33, 65, 3)])
def test_make_seamless_small_and_odd_sizes(shape):
    img = periodic_noise(64, 64, 1, channels=shape[2] if len(shape) == 3 else 1)
    img = img[: shape[0], : shape[1]] if len(shape) == 3 else img[: shape[0], : shape[1], 0]
    out = make_seamless(img)
    assert out.shape == img.shape and np.all(np.isfinite(out))
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_make_seamless_keeps_a_tileable_image_tileable():
    img = periodic_noise(128, 160, 3)
    out = make_seamless(img)
    assert seam_score(out) < 1.15


def test_make_seamless_refuses_bad_input():
    with pytest.raises(RequestError, match="at least 8x8"):
        make_seamless(np.zeros((7, 64)))
    with pytest.raises(RequestError, match="overlap"):
        make_seamless(np.zeros((16, 16)), overlap=0.0)
    with pytest.raises(RequestError, match="method"):
        make_seamless(np.zeros((16, 16)), method="poisson")  # type: ignore[arg-type]
    bad = np.zeros((16, 16))
    bad[3, 3] = np.nan
    with pytest.raises(RequestError, match="NaN"):
        make_seamless(bad)


# --- tile, offset_half, extend_periodic -------------------------------------------------


def test_tile_repeats():
    img = photo("gravel")[:40, :30]
    t = tile(img, (2, 3))
    assert t.shape == (80, 90)
    assert np.array_equal(t[40:, 60:], img)
    assert tile(img[..., None]).shape == (80, 60, 1)
    with pytest.raises(RequestError):
        tile(img, 0)


def test_offset_half_moves_the_seam_inside():
    img = photo("gravel")[:64, :96]
    off = offset_half(img)
    assert np.array_equal(off[32, 48], img[0, 0])
    assert np.array_equal(offset_half(off), img)  # even sizes: twice is the identity
    assert seam_score(off) < 1.25 < seam_score(img)  # its border pair is the photo's interior


def test_extend_periodic_shares_the_edge():
    img = make_seamless(photo("grass")[:64, :64])
    ext = extend_periodic(img)
    assert ext.shape == (65, 65)
    assert np.array_equal(ext[0], ext[-1]) and np.array_equal(ext[:, 0], ext[:, -1])
    assert np.array_equal(ext[:64, :64], img)
    rgb = extend_periodic(np.zeros((512, 512, 3)))
    assert rgb.shape == (513, 513, 3)
