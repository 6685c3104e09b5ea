"""bench/bench_quality.py's measures: each must tell apart what it claims to (real images and
known distortions of them), since the GPU job ships models on their say."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from trainer.metrics import swd

_spec = importlib.util.spec_from_file_location("bench_quality", Path(__file__).parent.parent / "bench" / "bench_quality.py")
bq = sys.modules["bench_quality"] = importlib.util.module_from_spec(_spec)  # dataclasses look their module up
_spec.loader.exec_module(bq)


def _crops(image: np.ndarray, n: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = image.astype(np.float32) / 127.5 - 1
    ys, xs = rng.integers(0, img.shape[0] - size, n), rng.integers(0, img.shape[1] - size, n)
    return np.stack([img[y : y + size, x : x + size][None] for y, x in zip(ys, xs)])


def test_swd_normalised_by_the_real_set_sees_a_loss_of_contrast_that_own_normalisation_cannot():
    gravel = skimage.data.gravel()
    real, other = _crops(gravel, 96, 32, 1), _crops(gravel, 96, 32, 2)
    faint = other * 0.4  # every band at 40 % of its strength
    own = swd(real, faint, seed=0)["swd"], swd(real, other, seed=0)["swd"]
    by_real = swd(real, faint, seed=0, normalise="real")["swd"], swd(real, other, seed=0, normalise="real")["swd"]
    assert own[0] == pytest.approx(own[1], rel=0.02)  # ProGAN's normalisation: blind to it
    assert by_real[0] > 5 * by_real[1]
    with pytest.raises(ValueError, match="normalise"):
        swd(real, other, normalise="theirs")


def test_the_coherence_distance_tells_straight_blades_from_the_same_texture_blurred_round():
    grass = skimage.data.grass()
    real, other = _crops(grass, 128, 64, 1), _crops(grass, 128, 64, 2)
    from scipy import ndimage

    blobs = ndimage.gaussian_filter(other, (0, 0, 2.5, 2.5))  # the strokes smeared into blobs
    same = bq.coherence_distance(real, other)
    assert same < 5 and bq.coherence_distance(real, blobs) > 5 * same
    stripes = np.tile(np.sin(np.arange(64) / 2.0)[None, None, None, :], (128, 1, 64, 1)).astype(np.float32)
    assert bq.coherence_distance(real, stripes) > 100  # perfectly straight everywhere


def test_phase_randomisation_keeps_the_spectrum_and_mean_and_wraps_with_no_step():
    rng = np.random.default_rng(0)
    ramp = np.tile(np.linspace(-0.8, 0.8, 64, dtype=np.float32), (64, 1))[None] + 0.1 * rng.standard_normal((1, 64, 64)).astype(np.float32)
    p = bq.periodic_component(ramp[0].astype(np.float64))
    # The ramp's left and right columns differ by 1.6; its periodic component's do not step.
    assert abs(ramp[0, :, 0] - ramp[0, :, -1]).mean() > 1.4 and abs(p[:, 0] - p[:, -1]).mean() < 0.25
    out = bq.phase_randomised(ramp, np.random.default_rng(1))
    assert out.shape == ramp.shape and abs(out.mean() - ramp.mean()) < 1e-3
    spectrum = lambda a: np.abs(np.fft.fft2(a - a.mean()))  # noqa: E731
    np.testing.assert_allclose(spectrum(out[0]), spectrum(p), rtol=1e-3, atol=1e-3)
    assert not np.allclose(out, ramp, atol=0.1)


def test_the_minimum_error_cut_follows_the_cheapest_connected_path():
    error = np.full((5, 4), 9.0)
    for row, col in enumerate([1, 2, 2, 3, 2]):  # a free path that moves one column at a time
        error[row, col] = 0.0
    error[2, 0] = -1.0  # cheaper alone, but two columns off the path: not reachable from it
    assert bq.min_cut(error).tolist() == [1, 2, 2, 3, 2]


def test_image_quilting_lines_patches_up_where_random_patches_would_break_them():
    # Vertical stripes of period 10: quilting must pick patches whose stripes continue the ones
    # laid (every column stays one value down the image); patches at random offsets would not.
    columns = np.sin(np.arange(120) * 2 * np.pi / 10).astype(np.float32)
    source = np.tile(columns, (120, 1))[None]
    out = bq.quilt(source, 96, np.random.default_rng(0))
    assert out.shape == (1, 96, 96) and np.isin(out, source).all()  # every pixel is the source's
    assert out.std(axis=1).mean() < 0.01  # each column one value: the stripes run unbroken
    # One phase of the stripes fits a whole row of the quilt; none fits patches side by side at
    # random offsets.
    def misfit(row: np.ndarray) -> float:
        return min(float(np.abs(row - columns[k : k + len(row)]).max()) for k in range(10))

    random_patches = np.concatenate([source[0, 0, x : x + 32] for x in (3, 41, 76)])
    assert misfit(out[0, 0]) < 1e-6 and misfit(random_patches) > 0.5
