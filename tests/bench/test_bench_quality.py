"""bench/bench_quality.py's measures: each must tell apart what it claims to (real images and
known distortions of them), since the GPU job ships models on their say."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from trainer.metrics import swd

_spec = importlib.util.spec_from_file_location(
    "bench_quality", Path(__file__).resolve().parents[2] / "bench" / "bench_quality.py"
)
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
    ramp = np.tile(np.linspace(-0.8, 0.8, 64, dtype=np.float32), (64, 1))[None] + 0.1 * rng.standard_normal(
        (1, 64, 64)
    ).astype(np.float32)
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


# --- Repetition ------------------------------------------------------------------------------------


def _grey(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 127.5 - 1


def test_repetition_is_near_one_for_a_tiled_patch_and_low_for_a_photograph():
    gravel = _grey(skimage.data.gravel())  # 512 x 512
    tiled = bq.repetition(np.tile(gravel[100:164, 200:264], (8, 8)))
    assert tiled["score"] > 0.95 and tiled["shift"] is not None
    assert all(s % 64 == 0 for s in tiled["shift"])  # found at a multiple of the patch
    assert bq.repetition(gravel)["score"] < 0.15
    assert bq.repetition(_grey(skimage.data.grass())[:512, :512])["score"] < 0.2


def test_repetition_does_not_count_the_wrap_of_a_tileable_image():
    # Random-phase noise is periodic with its own side (it tiles seamlessly), as a tileable
    # generator's output is; a circular autocorrelation would find the image again at shift 512.
    rng = np.random.default_rng(0)
    periodic = bq.phase_randomised(_grey(skimage.data.gravel())[None], rng)[0]
    assert np.abs(periodic[0] - periodic[-1]).mean() < np.abs(periodic[0] - periodic[256]).mean()  # wraps smoothly
    assert bq.repetition(periodic)["score"] < 0.15


def test_phase_randomisation_to_a_larger_side_keeps_the_mean_and_contrast_and_does_not_repeat():
    gravel = _grey(skimage.data.gravel())[None, :256, :256]
    out = bq.phase_randomised(gravel, np.random.default_rng(2), side=512)
    assert out.shape == (1, 512, 512)
    assert abs(out.mean() - gravel.mean()) < 0.02 and out.std() == pytest.approx(gravel.std(), rel=0.15)
    assert bq.repetition(out)["score"] < 0.15  # a 2x2 tiling of the same-size synthesis would score 1


# --- Shape ------------------------------------------------------------------------------------------


def _float_crops(image: np.ndarray, n: int, size: int, seed: int) -> np.ndarray:
    return _crops((image + 1) * 127.5, n, size, seed)  # _crops reads 0-255


def test_the_component_distance_sees_stones_twice_as_large_and_random_phases_own_blobs():
    gravel = _grey(skimage.data.gravel())  # 512 px: stones about 20 px across
    real, other = _float_crops(gravel, 96, 128, 1), _float_crops(gravel, 96, 128, 2)
    larger = np.kron(gravel[:256, :256], np.ones((2, 2), np.float32))[None]  # the same stones, twice as large
    shuffled = bq.phase_randomised(gravel[None], np.random.default_rng(0))
    floor = bq.component_distance(real, other)
    assert floor < 0.15
    assert bq.component_distance(real, _float_crops(larger[0], 96, 128, 3)) > 3 * floor
    assert bq.component_distance(real, _float_crops(shuffled[0], 96, 128, 3)) > 3 * floor
    # Counts of components, binned by size, per threshold and phase: all of one crop's pixels
    # are in some component of each phase.
    counts = bq.component_counts(real[:1], [0.0])
    assert counts.shape[0] == 2 and counts.sum() >= 2


def test_peaks_see_a_faint_hatching_that_the_swd_hardly_does():
    gravel = _grey(skimage.data.gravel())
    real, other = _float_crops(gravel, 96, 128, 1), _float_crops(gravel, 96, 128, 2)
    rows = np.arange(gravel.shape[0])[:, None]
    hatched = gravel + 0.15 * gravel.std() * np.sign(np.sin(2 * np.pi * rows / 3 + 0.5))  # stripes 3 px apart
    fake = _float_crops(hatched.astype(np.float32), 96, 128, 2)
    pr = bq.peakiness(real)
    floor = bq.quantile_gap(pr, bq.peakiness(other)) / pr.std()
    assert floor < 0.5
    assert bq.quantile_gap(pr, bq.peakiness(fake)) / pr.std() > 5 * floor
    assert (
        swd(real[:, :, :32, :32], fake[:, :, :32, :32], seed=0)["swd"]
        < 2 * swd(real[:, :, :32, :32], other[:, :, :32, :32], seed=0)["swd"]
    )


def test_runs_read_blades_cut_short_as_shorter_and_blades_stretched_as_longer():
    grass = _grey(skimage.data.grass()).reshape(256, 2, 256, 2).mean(axis=(1, 3))  # x0.5, as trained
    real, other = _float_crops(grass, 64, 128, 1), _float_crops(grass, 64, 128, 2)
    rng = np.random.default_rng(0)
    tiles = grass.reshape(32, 8, 32, 8).transpose(0, 2, 1, 3).copy()
    for tile in tiles.reshape(-1, 8, 8):
        tile[:] = np.rot90(tile, rng.integers(1, 4))  # every 8 px tile turned: no blade runs past it
    cut = tiles.transpose(0, 2, 1, 3).reshape(256, 256)
    stretched = np.repeat(grass[:, :128], 2, axis=1)  # every blade twice as long across
    floor = bq.run_ratios(real, other)
    assert set(floor) == {"runs", "runs_dark"}
    assert all(abs(v - 1) < 0.03 for v in floor.values())
    assert bq.run_ratios(real, _float_crops(cut, 64, 128, 2))["runs"] < 0.9
    assert all(v > 1.3 for v in bq.run_ratios(real, _float_crops(stretched, 64, 128, 2)).values())
    assert bq.run_ratios(real[:, :, :40, :40], other[:, :, :40, :40]) == {}  # no inside left to read


def test_shape_figures_read_the_largest_kept_crop_and_say_when_there_is_none():
    gravel = _grey(skimage.data.gravel())
    kept = {32: (_float_crops(gravel, 8, 32, 1), _float_crops(gravel, 8, 32, 2))}
    assert "skipped" in bq.shape_figures(kept)
    kept[64] = (_float_crops(gravel, 16, 64, 1), _float_crops(gravel, 16, 64, 2))
    figures = bq.shape_figures(kept)
    assert figures["crop"] == 64 and figures["components"] < 0.3 and np.isfinite(figures["peaks"])
    assert 0.8 < figures["runs"] < 1.25  # other gravel: few crops of 64 px leave 24 px inside
    line = bq.table({"a": {"32": {"swd": 1.0, "coherence": 2.0}, "shape": figures}}).splitlines()
    assert line[0].split()[-3:] == ["comp", "peaks", "runs"]


# --- Memorisation ----------------------------------------------------------------------------------


def _gravel_set():
    gravel = _grey(skimage.data.gravel())[None, ::2, ::2]  # 256 px, as the bundled model's data (x0.5)
    return bq.ImageSet([np.ascontiguousarray(gravel)], np.zeros(1, np.int64), (), "gravel", "CC0")


def test_memorisation_puts_copies_at_zero_quilting_below_fresh_content_and_random_phase_at_one():
    data = _gravel_set()
    real, _ = bq.positioned_crops(data, 64, 32, seed=5)
    copies = bq.memorisation_ratio(real, data, False)["ratio"]
    fresh = bq.memorisation_ratio(real, data, False, fresh=True)["ratio"]
    quilted = bq.memorisation_ratio(bq.quilted_crops(data, 64, 32, 0), data, False)["ratio"]
    phase = bq.memorisation_ratio(bq.phase_randomised_crops(data, 64, 32, 0), data, False)["ratio"]
    assert copies < 0.01  # crops of the data itself: found at distance 0
    assert 0.9 < fresh < 1.1 and 0.9 < phase < 1.15  # new content of the same data
    assert quilted < 0.85 and quilted < phase - 0.15  # quilting copies patches of 40 px
    # 128 px crops of a 256 px image all overlap one another: no fresh content to compare with.
    assert "skipped" in bq.memorisation_ratio(np.zeros((4, 1, 128, 128), np.float32), data, False)


def test_memorisation_is_not_measured_on_data_that_repeats_itself():
    """A game texture tiled within its own file (the bundled forest floor is): its crops have
    exact copies elsewhere in it, so "as far as fresh content" would be 0 and every ratio
    huge. The bench says why instead of dividing by almost nothing."""
    quarter = _gravel_set().images[0][:, :128, :128]
    tiled = np.ascontiguousarray(np.tile(quarter + np.float32(0.001), (1, 2, 2)))
    data = bq.ImageSet([tiled], np.zeros(1, np.int64), (), "tiled gravel", "CC0")
    crops = bq.phase_randomised_crops(_gravel_set(), 16, 32, 0)
    figures = bq.memorisation_ratio(crops, data, False)
    assert "ratio" not in figures and "repeats itself" in figures["skipped"]
    # The untiled quarter is measured as before.
    single = bq.ImageSet([np.ascontiguousarray(quarter)], np.zeros(1, np.int64), (), "gravel", "CC0")
    assert 0.8 < bq.memorisation_ratio(crops, single, False)["ratio"] < 1.3


def test_memorisation_finds_turned_copies_only_when_told_the_data_was_trained_turned():
    data = _gravel_set()
    real, _ = bq.positioned_crops(data, 16, 32, seed=6)
    turned = np.ascontiguousarray(np.rot90(real, 1, axes=(2, 3))[:, :, :, ::-1])
    assert bq.memorisation_ratio(turned, data, True)["ratio"] < 0.01
    assert bq.memorisation_ratio(turned, data, False)["ratio"] > 0.7


# --- Heightmaps ------------------------------------------------------------------------------------


def test_the_spectral_slope_of_spectral_fbm_is_recovered():
    rng = np.random.default_rng(0)
    for beta in (2.0, 2.5, 3.0):
        crops = np.stack([bq.fbm(128, -beta, 0.0, rng) for _ in range(16)])
        assert bq.spectral_fit(crops)[0] == pytest.approx(-beta, abs=0.2)
    white = rng.standard_normal((16, 1, 128, 128))
    assert bq.spectral_fit(white)[0] == pytest.approx(0.0, abs=0.2)


def test_priority_flood_leaves_no_pit_and_raises_only_the_depression():
    y, x = np.mgrid[0:32, 0:32]
    bowl = np.hypot(y - 15.5, x - 15.5) / 10.0  # lowest in the middle: one big depression
    bowl[5, 5] = -1.0  # and a one-cell pit inside it
    bowl[0, 20] = -0.5  # the outlet: a notch in the rim
    filled = bq.fill_depressions(bowl)
    assert (filled >= bowl).all() and filled[0, 20] == bowl[0, 20]
    padded = np.pad(filled, 1, constant_values=np.inf)
    lowest_neighbour = np.min(
        [padded[1 + dy : 33 + dy, 1 + dx : 33 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx], axis=0
    )
    assert (lowest_neighbour[1:-1, 1:-1] < filled[1:-1, 1:-1]).all()  # every interior cell drains somewhere
    hill = -np.hypot(y - 15.5, x - 15.5) / 10.0 + 0.001 * y  # a hill: no depression, nothing moves
    assert np.array_equal(bq.fill_depressions(hill), hill)


def test_drainage_of_a_tilted_plane_and_of_a_valley():
    rows, cols = 20, 12
    y, x = np.mgrid[0:rows, 0:cols].astype(float)
    area, longest = bq.drainage(0.1 * y)  # falls towards row 0: every column runs straight down
    area = area.reshape(rows, cols)
    np.testing.assert_array_equal(area[0], rows)
    np.testing.assert_array_equal(area[:, 5], rows - np.arange(rows))
    assert longest == pytest.approx(rows - 1)
    valley = np.abs(x - 6) + 0.1 * y  # a V falling towards its outlet at (0, 6)
    area, longest = bq.drainage(valley)
    assert area.reshape(rows, cols)[0, 6] == rows * cols  # the outlet drains the whole crop
    assert longest > rows - 1
    with_pit = valley.copy()
    with_pit[10, 6] -= 5.0  # a sink in the valley floor: filled, so the water still leaves
    assert bq.drainage(with_pit)[0].reshape(rows, cols)[0, 6] == rows * cols


def test_drainage_statistics_and_slope_distance_read_what_they_claim():
    rng = np.random.default_rng(1)
    crops = np.stack([bq.fbm(64, -2.5, -3.0, rng) for _ in range(4)])
    stats = bq.drainage_statistics(crops)
    assert -1.0 < stats["area_exponent"] < -0.2 and 0 < stats["major_share"] < 0.2 and stats["longest_path"] > 0.5
    other = np.stack([bq.fbm(64, -2.5, -3.0, rng) for _ in range(4)])
    assert bq.slope_distance(crops, other) < 10  # same process
    assert bq.slope_distance(crops, 2 * other) > 50  # twice as steep everywhere


# --- The table ------------------------------------------------------------------------------------


def test_the_table_adds_columns_only_for_figures_some_row_has():
    old = {"a": {"32": {"swd": 1.0, "coherence": 2.0}}}
    assert bq.table(old).splitlines()[0].split() == [
        "SWD",
        "32",
        "SWD",
        "64",
        "SWD",
        "128",
        "coh",
        "32",
        "coh",
        "64",
        "coh",
        "128",
    ]
    new = {
        "a": {
            "32": {"swd": 1.0, "coherence": 2.0},
            "memorisation": {"64": {"ratio": 0.5}},
            "repetition": {"score": 0.25},
        },
        "b": {"32": {"swd": 3.0, "coherence": 4.0}},
    }
    head, a, b = bq.table(new).splitlines()
    assert head.rstrip().endswith("mem 64   repeat") and "PSD exp" not in head
    assert a.split()[-2:] == ["0.50", "0.25"] and b.split()[-2:] == ["-", "-"]
    terrain = {
        "t": {
            **new["a"],
            "terrain": {
                "spectral_slope": -2.5,
                "slope_distance": 3.0,
                "area_exponent": -0.45,
                "major_share": 0.04,
                "longest_path": 1.3,
            },
        }
    }
    assert bq.table(terrain).splitlines()[1].split()[-5:] == ["-2.50", "3.0", "-0.45", "4.0", "1.30"]


def test_a_material_model_is_measured_on_its_albedo_luminance_and_colour(tmp_path):
    """A material data set reads as the grey luminance of its albedo (the table's figures), and
    the colour figures tell a tinted model from a grey one."""
    from generators import make_material
    from train_helpers import material_folder

    from texgen.model import load_generator

    material_folder(tmp_path / "colour-materials")
    target = bq.Target("colour-materials", kind="material", scale=1.0, conditional=False)
    data = bq.open_target(tmp_path, target)
    assert data.channels == 1 and len(data) == 2
    colour = np.asarray(Image.open(next((tmp_path / "colour-materials" / "Rock001").glob("*Color.png"))))
    expected = (colour / 255.0) @ bq.REC709 * 2 - 1
    assert np.abs(data.images[1][0] - expected).max() < 1e-5  # Rock001: the second material
    gen = load_generator(make_material(tmp_path / "m.onnx", maps=("albedo", "height")), device="cpu")
    figures = bq.colour_figures(gen, tmp_path, target, count=2)["all"]
    assert figures["data_chroma"] > 20  # the sets are tinted
    assert set(figures) == {"model_mean", "data_mean", "distance", "model_chroma", "data_chroma"}
    crops = bq.model_crops(gen, 8, 32, 0, output=64)
    assert crops.shape == (8, 1, 32, 32)


# --- Held out --------------------------------------------------------------------------------------


def test_held_out_halves_split_the_longer_side_and_rebuild_the_image():
    wide = np.arange(2 * 6 * 10, dtype=np.float32).reshape(2, 6, 10)
    first, second = bq.halves(wide)
    assert first.shape == second.shape == (2, 6, 5) and np.array_equal(np.concatenate([first, second], 2), wide)
    tall = np.ascontiguousarray(wide.transpose(0, 2, 1))
    first, second = bq.halves(tall)
    assert first.shape == (2, 5, 6) and np.array_equal(np.concatenate([first, second], 1), tall)
    reference, held = bq.split_halves(_gravel_set())
    assert reference.images[0].shape == held.images[0].shape == (1, 256, 128)
    assert list(reference.labels) == list(held.labels) == [0]


def test_write_held_out_writes_the_second_half_at_full_resolution(tmp_path):
    from png_decoder import read_png

    folder = tmp_path / "data" / "cc0-textures" / "gravel"
    folder.mkdir(parents=True)
    gravel = skimage.data.gravel()  # 512 x 512, grey
    Image.fromarray(gravel).save(folder / "gravel.png")
    (folder / "LICENSE").write_text("CC0\n")
    written = bq.write_held_out(tmp_path / "data", bq.TARGETS["stone-texture"], tmp_path / "held")
    assert written == [tmp_path / "held" / "cc0-textures" / "gravel" / "gravel.png"]
    assert np.array_equal(read_png(written[0]).pixels.squeeze(), gravel[:, 256:])
    assert (written[0].parent / "LICENSE").read_text() == "CC0\n"
    assert not [p for p in written[0].parent.iterdir() if p.name not in ("gravel.png", "LICENSE")]  # no temporaries
    with pytest.raises(SystemExit, match="heightmap"):
        bq.write_held_out(tmp_path / "data", bq.TARGETS["terrain"], tmp_path / "held")


def test_held_out_rows_show_unseen_real_content_far_above_the_floor_the_copies_reached(tmp_path):
    """Measured against one half of the gravel photograph, crops of the other half (real gravel
    nobody could copy) sit far above crops of the same half: that gap, not the floor, is what
    a generator making new content can close."""
    folder = tmp_path / "cc0-textures" / "gravel"
    folder.mkdir(parents=True)
    Image.fromarray(skimage.data.gravel()).save(folder / "gravel.png")
    rows = bq.measure_baselines(bq.TARGETS["stone-texture"], tmp_path, extras=False, held_out=True,
                                n=96, draws=1, crops=(64,), projections=128)  # fmt: skip
    assert list(rows) == ["real crops, same half", "real crops, other half",
                          "phase randomisation, from the other half", "image quilting, from the other half"]  # fmt: skip
    same, other = rows["real crops, same half"]["64"]["swd"], rows["real crops, other half"]["64"]["swd"]
    assert other > 1.5 * same
    with pytest.raises(ValueError, match="texture"):
        bq.measure_baselines(bq.TARGETS["stone-texture"], tmp_path, extras=True, held_out=True)
