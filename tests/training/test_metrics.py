"""Training metrics on real textures: SWD, memorisation, seams, and the combined evaluation.

Real data only: scikit-image's CC0 textures (gravel, brick, grass) and photographs
(astronaut, chelsea), cut into random crops. scipy is the independent reference for the
pyramid filters and the 1-D Wasserstein distance.
"""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from scipy import ndimage, stats

from trainer.metrics import evaluate, memorisation, seam_metric, swd
from trainer.metrics import nearest_neighbours
from trainer.metrics.sliced_wasserstein import (
    laplacian_pyramid,
    pyramid_down,
    pyramid_resolutions,
    pyramid_up,
    random_directions,
    sliced_wasserstein,
)


def crops(img: np.ndarray, n: int, size: int, seed: int, rows: tuple[int, int] | None = None):
    """`n` random size x size crops of a uint8 image as an NCHW batch in [-1, 1].

    `rows` limits the crops to a band of rows, so two sets can come from disjoint halves.
    """
    batch = np.asarray(img, np.float32) / 127.5 - 1.0
    batch = batch[None] if batch.ndim == 2 else batch.transpose(2, 0, 1)
    top, bottom = rows or (0, batch.shape[1])
    rng = np.random.default_rng(seed)
    ys = rng.integers(top, bottom - size + 1, n)
    xs = rng.integers(0, batch.shape[2] - size + 1, n)
    return np.stack([batch[:, y : y + size, x : x + size] for y, x in zip(ys, xs)])


@pytest.fixture(scope="module")
def gravel_halves():
    """64 crops of 64 px from the top half of gravel and 64 from the bottom half."""
    gravel = skimage.data.gravel()
    return crops(gravel, 64, 64, 1, (0, 256)), crops(gravel, 64, 64, 2, (256, 512))


@pytest.fixture(scope="module")
def gravel_swd(gravel_halves):
    return swd(*gravel_halves)


# --- the pieces, against independent references --------------------------------------------

_KERNEL = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float32) / 256


def test_pyramid_filters_match_the_original_scipy_convolutions():
    # ProGAN's pyr_down / pyr_up: scipy.ndimage.convolve(mode="mirror"), as OpenCV does.
    batch = crops(skimage.data.astronaut(), 2, 32, 3)
    down = ndimage.convolve(batch, _KERNEL[None, None], mode="mirror")[:, :, ::2, ::2]
    np.testing.assert_allclose(pyramid_down(batch), down, atol=1e-5)

    spread = np.zeros((2, 3, 64, 64), np.float32)
    spread[:, :, ::2, ::2] = batch
    up = ndimage.convolve(spread, 4 * _KERNEL[None, None], mode="mirror")
    np.testing.assert_allclose(pyramid_up(batch), up, atol=1e-5)


def test_laplacian_pyramid_levels_rebuild_the_image():
    batch = crops(skimage.data.astronaut(), 3, 64, 4)
    levels = laplacian_pyramid(batch, 3)
    assert [level.shape[-1] for level in levels] == [64, 32, 16]
    rebuilt = levels[-1]
    for level in levels[-2::-1]:
        rebuilt = pyramid_up(rebuilt) + level
    np.testing.assert_allclose(rebuilt, batch, atol=1e-5)
    # The band-pass levels carry detail, not brightness: the low-pass rest keeps the mean.
    assert abs(levels[0].mean()) < 0.01
    assert levels[-1].mean() == pytest.approx(batch.mean(), abs=0.01)
    assert levels[-1].mean() != pytest.approx(0.0, abs=0.05)


def test_sliced_wasserstein_of_a_shifted_set_is_the_mean_projected_shift():
    # Shifting every point by c shifts every projection by <u, c> without reordering it, so
    # the 1-D distance along u is exactly |<u, c>|.
    rng = np.random.default_rng(5)
    a = rng.standard_normal((500, 12)).astype(np.float32)
    shift = rng.standard_normal(12).astype(np.float32)
    directions = random_directions(12, 300, rng)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0, rtol=1e-6)
    expected = np.abs(directions @ shift).mean()
    assert sliced_wasserstein(a, a + shift, directions) == pytest.approx(expected, rel=1e-4)


def test_sliced_wasserstein_matches_scipy_on_each_projection():
    gravel = skimage.data.gravel().astype(np.float32)[:64, :147] / 255
    brick = skimage.data.brick().astype(np.float32)[:64, :147] / 255 + 0.1
    directions = random_directions(147, 200, np.random.default_rng(6))  # more than one chunk
    expected = np.mean([stats.wasserstein_distance(gravel @ u, brick @ u) for u in directions])
    assert sliced_wasserstein(gravel, brick, directions) == pytest.approx(expected, rel=1e-4)


# --- SWD on real textures ---------------------------------------------------------------------


def test_swd_is_lowest_for_the_same_texture(gravel_halves, gravel_swd):
    real, _ = gravel_halves
    brick = swd(real, crops(skimage.data.brick(), 64, 64, 7))
    grass = swd(real, crops(skimage.data.grass(), 64, 64, 8))
    noise = np.random.default_rng(9).normal(real.mean(), real.std(), real.shape)
    noise = swd(real, noise.astype(np.float32))
    assert set(gravel_swd) == {"swd_64", "swd_32", "swd_16", "swd"}
    levels = [gravel_swd[f"swd_{res}"] for res in (64, 32, 16)]
    assert gravel_swd["swd"] == pytest.approx(np.mean(levels))
    assert 4 * gravel_swd["swd"] < brick["swd"]
    assert 2 * gravel_swd["swd"] < noise["swd"]
    assert 3 * gravel_swd["swd_64"] < noise["swd_64"]  # noise is wrong grain above all
    # Grass is another grey pebbly photograph: close, but its grain still gives it away.
    assert gravel_swd["swd"] < grass["swd"]
    assert 1.5 * gravel_swd["swd_64"] < grass["swd_64"]


def test_swd_is_symmetric_and_deterministic(gravel_halves, gravel_swd):
    real, fake = gravel_halves
    assert swd(real, fake) == gravel_swd
    assert swd(fake, real)["swd"] == pytest.approx(gravel_swd["swd"], rel=0.15)
    other_seed = swd(real, fake, seed=1)
    assert other_seed != gravel_swd
    assert other_seed["swd"] == pytest.approx(gravel_swd["swd"], rel=0.25)


def test_blur_raises_the_fine_levels_not_the_coarse_one(gravel_halves, gravel_swd):
    real, fake = gravel_halves
    blurred = swd(real, ndimage.gaussian_filter(fake, (0, 0, 1.0, 1.0)))
    assert blurred["swd_64"] > 2 * gravel_swd["swd_64"]
    assert blurred["swd_64"] / gravel_swd["swd_64"] > 1.5 * blurred["swd_16"] / gravel_swd["swd_16"]
    assert blurred["swd_16"] < 1.3 * gravel_swd["swd_16"]


def test_swd_compares_structure_not_contrast(gravel_halves, gravel_swd):
    # Each descriptor set is normalised by its own mean and deviation, as in ProGAN.
    real, fake = gravel_halves
    assert swd(real, 0.5 * fake + 0.2)["swd"] == pytest.approx(gravel_swd["swd"], rel=1e-3)


def test_swd_on_colour_images():
    astronaut = skimage.data.astronaut()
    real, same = crops(astronaut, 48, 64, 10), crops(astronaut, 48, 64, 11)
    itself = swd(real, same)
    assert 2 * itself["swd"] < swd(real, crops(skimage.data.chelsea(), 48, 64, 12))["swd"]
    # Blue for red changes the colours, which live in the low-pass level.
    assert 1.5 * itself["swd_16"] < swd(real, same[:, ::-1])["swd_16"]


def test_swd_takes_unequal_counts_odd_sizes_and_grey_or_colour():
    gravel = skimage.data.gravel()
    result = swd(crops(gravel, 40, 70, 13), crops(gravel, 9, 70, 14))
    assert set(result) == {"swd_68", "swd_34", "swd_17", "swd"}  # centre-cropped to 68
    assert pyramid_resolutions(70) == [68, 34, 17]
    assert pyramid_resolutions(16) == [16]
    assert all(np.isfinite(v) and v > 0 for v in result.values())
    astronaut = skimage.data.astronaut()
    assert set(swd(crops(astronaut, 5, 16, 15), crops(astronaut, 6, 16, 16))) == {"swd_16", "swd"}


def test_a_collapsed_generator_scores_far_but_finite(gravel_halves, gravel_swd):
    real, _ = gravel_halves
    constant = np.full((16, 1, 64, 64), 0.3, np.float32)
    result = swd(real, constant)
    assert all(np.isfinite(v) for v in result.values())
    assert result["swd"] > 5 * gravel_swd["swd"]


@pytest.mark.parametrize(
    "real, fake, words",
    [
        (np.zeros((2, 3, 32, 32)), np.zeros((2, 1, 32, 32)), "same size and channel count"),
        (np.zeros((2, 3, 32, 32)), np.zeros((2, 3, 32, 31)), "square"),
        (np.zeros((2, 3, 8, 8)), np.zeros((2, 3, 8, 8)), "min_res=16"),
        (np.zeros((2, 32, 32)), np.zeros((2, 32, 32)), "NCHW"),
        (np.zeros((2, 3, 32, 32)), np.full((2, 3, 32, 32), np.nan), "NaN"),
    ],
)
def test_swd_refuses_bad_batches_with_the_reason(real, fake, words):
    with pytest.raises(ValueError, match=words):
        swd(real, fake)


# --- memorisation -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gravel_train():
    return crops(skimage.data.gravel(), 300, 32, 20)


def test_copies_of_training_images_give_a_ratio_of_zero(gravel_train):
    result = memorisation(gravel_train[:40], gravel_train)
    assert result["nn_fake_median"] == 0.0
    assert result["nn_train_median"] > 0.05
    assert result["memorisation_ratio"] == 0.0
    # Copies with a little noise on top are still far closer than the data is to itself.
    noisy = gravel_train[:40] + np.random.default_rng(21).normal(0, 0.05, (40, 1, 32, 32))
    assert memorisation(noisy.astype(np.float32), gravel_train)["memorisation_ratio"] < 0.3


def test_new_crops_of_the_texture_are_not_memorised(gravel_train):
    result = memorisation(crops(skimage.data.gravel(), 40, 32, 22), gravel_train)
    assert 0.8 < result["memorisation_ratio"] < 1.5


def test_noise_is_far_from_every_training_image(gravel_train):
    noise = np.random.default_rng(23).uniform(-1, 1, (40, 1, 32, 32)).astype(np.float32)
    assert memorisation(noise, gravel_train)["memorisation_ratio"] > 1.5


def test_memorisation_subsamples_the_training_set_reproducibly(gravel_train):
    fake = crops(skimage.data.gravel(), 20, 32, 24)
    first = memorisation(fake, gravel_train, max_train=100, seed=3)
    assert first == memorisation(fake, gravel_train, max_train=100, seed=3)
    assert first != memorisation(fake, gravel_train, max_train=100, seed=4)
    # Fewer candidates can only move the nearest one further away, on average.
    assert first["nn_fake_median"] >= memorisation(fake, gravel_train)["nn_fake_median"]


def test_l1_distances_match_a_direct_computation_across_blocks(monkeypatch):
    monkeypatch.setattr(nearest_neighbours, "_BLOCK_BYTES", 1000)  # 5 images per block
    levels = crops(skimage.data.astronaut(), 23, 8, 25)
    levels = np.rint((levels + 1) * 127.5).astype(np.uint8)
    queries, references = levels[:7], levels[7:]
    direct = np.abs(queries[:, None].astype(int) - references[None].astype(int))
    expected = direct.mean(axis=(2, 3, 4)) / 255
    np.testing.assert_allclose(nearest_neighbours.l1_distances(queries, references), expected)


def test_memorisation_refuses_mismatched_sizes(gravel_train):
    with pytest.raises(ValueError, match="training crops of the generated size"):
        memorisation(crops(skimage.data.gravel(), 4, 16, 26), gravel_train)
    with pytest.raises(ValueError, match="at least 2"):
        memorisation(gravel_train[:4], gravel_train[:1])


# --- seams and the combined evaluation --------------------------------------------------------


def test_seam_metric_tells_wrapped_images_from_plain_crops():
    plain = crops(skimage.data.gravel(), 16, 64, 27)
    # Rolled by half, the borders are pixels that were neighbours: no seam there. (One
    # border row is a small sample and the score takes the worse axis, so about 1.15.)
    wrapped = np.roll(plain, (32, 32), axis=(2, 3))
    assert seam_metric(wrapped) < 1.4
    assert seam_metric(plain) > 2.0
    grey_as_rgb = np.repeat(wrapped, 3, axis=1)
    assert seam_metric(grey_as_rgb) == pytest.approx(seam_metric(wrapped), rel=1e-4)


def test_evaluate_combines_the_metrics():
    gravel = skimage.data.gravel()
    real, fake = crops(gravel, 48, 32, 28, (0, 256)), crops(gravel, 16, 32, 29, (256, 512))
    tiled = evaluate(real, fake, tileable=True, seed=2)
    assert set(tiled) == {
        "swd_32",
        "swd_16",
        "swd",
        "nn_fake_median",
        "nn_train_median",
        "memorisation_ratio",
        "seam_score",
    }
    assert {k: tiled[k] for k in ("swd_32", "swd_16", "swd")} == swd(real, fake, seed=2)
    assert tiled["memorisation_ratio"] == memorisation(fake, real, seed=2)["memorisation_ratio"]
    assert tiled["seam_score"] == seam_metric(fake)
    plain = evaluate(real, fake, tileable=False, seed=2)
    assert "seam_score" not in plain and plain["swd"] == tiled["swd"]
    assert all(type(v) is float for v in tiled.values())  # JSON-ready for stats.jsonl
    # Windows for SWD, the seam scored on the whole images they were cut from.
    wrapped = np.roll(crops(gravel, 16, 64, 30, (256, 512)), (32, 32), axis=(2, 3))
    windowed = evaluate(real, wrapped[:, :, 16:48, 16:48], tileable=True, seed=2, seam_images=wrapped)
    assert windowed["seam_score"] == seam_metric(wrapped) != seam_metric(wrapped[:, :, 16:48, 16:48])
    assert windowed["swd"] == swd(real, wrapped[:, :, 16:48, 16:48], seed=2)["swd"]


def test_swd_on_a_torch_device_gives_numpys_figure():
    # The same descriptors and directions, projected and sorted by torch instead of numpy
    # (bench/bench_quality.py --device cuda): equal to float rounding, every level.
    rng = np.random.default_rng(3)
    real = rng.random((24, 1, 32, 32), dtype=np.float32) * 2 - 1
    fake = np.clip(real + rng.normal(0, 0.3, real.shape).astype(np.float32), -1, 1)
    want, got = swd(real, fake, seed=4), swd(real, fake, seed=4, device="cpu")
    assert want.keys() == got.keys() and want["swd"] > 1
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-4)
