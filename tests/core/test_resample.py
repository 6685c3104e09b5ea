"""resize: Lanczos-3 like Pillow's inside the image, and wrap-around that keeps tiling."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from PIL import Image

from texgen.errors import RequestError
from texgen.resample import resize
from texgen.seamless import make_seamless, seam_score


@pytest.fixture(scope="module")
def gravel() -> np.ndarray:
    return skimage.data.gravel()[:64, :80].astype(np.float32) / 255


@pytest.mark.parametrize("h, w", [(256, 320), (32, 40), (100, 70)])
def test_matches_pillow_lanczos_away_from_the_borders(gravel, h, w):
    mine = resize(gravel, h, w)
    ref = np.asarray(Image.fromarray(gravel).resize((w, h), Image.Resampling.LANCZOS))  # mode F
    ref = np.clip(ref, 0.0, 1.0)  # Pillow's float mode keeps the filter's overshoot; texgen clips
    inner = (slice(h // 8, h - h // 8), slice(w // 8, w - w // 8))
    assert mine.shape == (h, w) and mine.dtype == np.float32
    assert np.abs(mine[inner] - ref[inner]).max() < 1e-5


def test_wrap_is_shift_equivariant(gravel):
    # Upscaling x4 with wrap commutes with rolling: the borders are treated like the inside.
    rolled = np.roll(gravel, (5, -7), axis=(0, 1))
    a = np.roll(resize(gravel, 256, 320, wrap=True), (20, -28), axis=(0, 1))
    b = resize(rolled, 256, 320, wrap=True)
    assert np.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("name", ["grass", "gravel"])
def test_wrap_keeps_a_tileable_texture_tileable(name):
    small = make_seamless(getattr(skimage.data, name)()[:64, :64].astype(np.float32) / 255)
    up = resize(small, 512, 512, wrap=True)
    # After an x8 upscale a pair's difference depends on where it falls between source pixels;
    # the wrap pair (last, first) falls where the pairs (8k - 1, 8k) do: compare at that phase.
    assert seam_score(up, period=8) == pytest.approx(seam_score(small), rel=0.15)
    assert seam_score(up, period=8) < 1.2
    assert seam_score(resize(small, 512, 512), period=8) > 3.0  # edge repeat breaks the wrap


def test_colour_and_clipping():
    rgb = skimage.data.astronaut()[::8, ::8].astype(np.float32) / 255
    up = resize(rgb, 128, 96)
    assert up.shape == (128, 96, 3) and 0.0 <= up.min() and up.max() <= 1.0
    assert np.array_equal(resize(rgb, 64, 64), rgb)  # same size: untouched


def test_bad_size():
    with pytest.raises(RequestError):
        resize(np.zeros((8, 8)), 0, 8)
