"""Erosion of heightmaps (texgen/erosion.py): water carves and carries downhill, scree settles
at the talus slope, nothing is lost on a wrapped map, a tileable map stays tileable, the same
seed gives the same map; and `--erosion` from the command line to the sidecar and back."""

from __future__ import annotations

import heapq
import json
import shlex

import numpy as np
import pytest
from matplotlib import cbook

from texgen.cli import main
from texgen.erosion import Erosion, d8_receivers, erode, fill_depressions, parse_erosion
from texgen.errors import RequestError


def fbm(n: int, beta: float = 2.5, seed: int = 0) -> np.ndarray:
    """Periodic spectral fBm in [0, 1]: power ~ f^-beta, so it tiles exactly."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(n)
    r = np.hypot(*np.meshgrid(f, f, indexing="ij"))
    r[0, 0] = 1.0
    a = np.real(np.fft.ifft2(r ** (-beta / 2) * np.exp(2j * np.pi * rng.random((n, n)))))
    return (a - a.min()) / np.ptp(a)


def seam_ratio(a: np.ndarray) -> float:
    """Mean step across the wrap (last column to first, last row to first) over the mean step
    between neighbouring interior columns and rows: about 1 for a map that tiles."""
    across = np.abs(a[:, 0] - a[:, -1]).mean() + np.abs(a[0, :] - a[-1, :]).mean()
    inside = np.abs(np.diff(a, axis=1)).mean() + np.abs(np.diff(a, axis=0)).mean()
    return float(across / inside)


def test_water_carves_gullies_down_a_slope_and_lays_the_sediment_lower():
    """A plane tilted down to the south, with a little noise: the droplets run down it, cut
    channels across it (rougher from west to east) and carry material from its top to its foot."""
    n = 96
    rng = np.random.default_rng(1)
    plane = np.linspace(1.0, 0.0, n)[:, None] * np.ones((1, n)) + 0.001 * rng.standard_normal((n, n))
    out = erode(plane, Erosion(rain=2.0), wrap=False, seed=3)
    across_before = np.abs(np.diff(plane[20:70], axis=1)).mean()
    across_after = np.abs(np.diff(out[20:70], axis=1)).mean()
    assert across_after > 3 * across_before  # channels across the slope
    top, foot = slice(5, 40), slice(60, 91)
    assert (out[top] - plane[top]).mean() < 0 < (out[foot] - plane[foot]).mean()  # carried downhill


def test_a_wrapped_map_keeps_its_mass_and_its_tiling_and_the_seed_decides_the_droplets():
    a = fbm(128)
    assert seam_ratio(a) < 1.5
    out = erode(a, Erosion(rain=1.0, thermal=20), wrap=True, seed=5)
    assert abs(float(out.mean()) - float(a.mean())) < 1e-5  # sediment lands somewhere, never vanishes
    assert np.abs(out - a).mean() > 1e-3  # and it did move
    assert seam_ratio(out) < 1.5  # no seam where the map wraps
    np.testing.assert_array_equal(out, erode(a, Erosion(rain=1.0, thermal=20), wrap=True, seed=5))
    assert not np.array_equal(out, erode(a, Erosion(rain=1.0, thermal=20), wrap=True, seed=6))
    # Shapes and ranges are the caller's: H x W x 1 in, H x W x 1 out, heights in their units.
    deep = erode(a[..., None] * 300.0 - 20.0, Erosion(rain=0.5), seed=5)
    assert deep.shape == (128, 128, 1) and deep.dtype == np.float32 and -25 < deep.min() and deep.max() < 285


def test_thermal_erosion_lowers_the_steepest_slopes_of_a_real_dem():
    dem = cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"].astype(np.float64)[:256, :256]
    out = erode(dem, Erosion(thermal=60), wrap=False)
    slope = lambda h: np.hypot(*np.gradient(h))  # noqa: E731
    before, after = slope(dem), slope(out)
    assert np.percentile(after, 90) < 0.85 * np.percentile(before, 90)  # the steep parts settle
    assert np.percentile(after, 25) > 0.8 * np.percentile(before, 25)  # gentle slopes stay
    np.testing.assert_array_equal(erode(dem, Erosion()), dem.astype(np.float32))  # nothing asked: unchanged


@pytest.mark.parametrize(
    ("text", "words"),
    [("abc", "is not RAIN"), ("1,2,3,4", "is not RAIN"), ("9", "between 0 and 8"), ("-1", "between 0 and 8"),
     ("nan", "between 0 and 8"), ("1,-4", "thermal erosion -4"), ("1,2.5", "is not RAIN"),
     ("1,2,500", "river erosion 500"), ("rivers=5,rain", "NAME=VALUE"), ("lakes=3", "rain=, thermal=, rivers="),
     ("rivers=5,rivers=6", "NAME=VALUE"), ("rivers=2.5", "NAME=VALUE")],
)  # fmt: skip
def test_bad_erosion_settings_name_the_problem_and_the_fix(text, words):
    with pytest.raises(RequestError, match=words) as err:
        parse_erosion(text)
    assert "--erosion" in str(err.value) or "use a rain" in str(err.value)


def test_erosion_settings_by_position_or_by_name():
    assert parse_erosion("1.5,40") == Erosion(rain=1.5, thermal=40) and parse_erosion("0.5") == Erosion(rain=0.5)
    assert parse_erosion("0,1,5") == parse_erosion("rivers=5, thermal=1") == Erosion(thermal=1, rivers=5)
    assert parse_erosion(Erosion(rain=0.5, thermal=3, rivers=7).flag()) == Erosion(rain=0.5, thermal=3, rivers=7)
    assert parse_erosion("1.0,10") == Erosion(rain=1.0, thermal=10)  # the form older sidecars' commands carry
    assert Erosion(rain=1.0, thermal=10).flag() == "rain=1,thermal=10" and Erosion().flag() == "rain=0"
    assert Erosion(rivers=10, thermal=1).flag() == "rivers=10,thermal=1"  # in the order they run
    odd = Erosion(rain=0.1 + 0.2, rivers=3)
    assert odd.flag() == "rivers=3,rain=0.30000000000000004" and parse_erosion(odd.flag()) == odd


def drained_area_exponent(h: np.ndarray) -> float:
    """The slope of log P(A >= a) against log a of the D8 drainage areas of a map (borders
    open, depressions filled), from 4 cells to 1/32 of the map: bench/bench_quality.py's rule."""
    filled = fill_depressions(h)
    n = h.size
    rec, _ = d8_receivers(filled)
    area = np.ones(n)
    for i in np.argsort(-filled.ravel(), kind="stable"):
        if rec[i] >= 0:
            area[rec[i]] += area[i]
    grid = np.geomspace(4, n / 32, 12)
    ccdf = 1.0 - np.searchsorted(np.sort(area), grid) / n
    return float(np.polyfit(np.log10(grid), np.log10(ccdf), 1)[0])


def test_river_erosion_joins_the_valleys_of_a_real_dem_into_a_drainage_network_and_keeps_a_tiling():
    """Stream power on the Jacksboro DEM (open borders) and on a tileable fBm (wrapped): big
    drainage areas become commoner (the area exponent rises towards real rivers' -0.45 from
    noise's -0.6), no cell is left in a pit, and the wrapped map still tiles."""
    dem = cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"].astype(np.float64)[:256, :256]
    eroded = erode(dem, Erosion(rivers=10), wrap=False)
    assert drained_area_exponent(eroded) > drained_area_exponent(dem) + 0.01
    assert eroded.min() >= dem.min() - 1e-3 and eroded.max() <= dem.max() + 1e-3  # no new peaks or pits
    noise = fbm(128, beta=3.0, seed=3)
    carved = erode(noise, Erosion(rivers=10), wrap=True)
    across = [np.tile(a, (2, 2))[64:192, 64:192] for a in (noise, carved)]  # a crop over the seams
    assert drained_area_exponent(across[1]) > drained_area_exponent(across[0]) + 0.03
    assert seam_ratio(carved) < 1.3 and np.abs(carved - noise).mean() > 0.005
    # Every cell above base level (the lowest 2 % of the map before) drains: filling leaves it as it is.
    outlets = (carved <= np.quantile(noise, 0.02)).ravel()
    refilled = fill_depressions(carved, wrap=True, outlets=outlets)
    assert np.abs(refilled - carved).max() < 1e-6
    assert np.array_equal(erode(noise, Erosion(rivers=10), wrap=True), carved)  # deterministic


def test_generate_erodes_a_terrain_records_it_and_its_regenerate_command_writes_the_same_bytes(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert main(["generate", "-m", "terrain", "--seeds", "3", "--size", "129", "--erosion", "1,10,3", "-o", str(out),
                 "--device", "cpu"]) == 0  # fmt: skip
    plain = tmp_path / "plain"
    assert (
        main(["generate", "-m", "terrain", "--seeds", "3", "--size", "129", "-o", str(plain), "--device", "cpu"]) == 0
    )
    raw = out / "terrain_3_height.raw"
    assert raw.read_bytes() != (plain / raw.name).read_bytes()
    side = json.loads(raw.with_name(raw.name + ".json").read_text())
    assert (side["erosion"]["rain"], side["erosion"]["thermal"], side["erosion"]["rivers"]) == (1.0, 10, 3)
    assert "--erosion rivers=3,rain=1,thermal=10" in side["regenerate"]
    # 129 = a tileable 128 with its first row and column repeated: the eroded map keeps that.
    h = np.frombuffer(raw.read_bytes(), "<u2").reshape(129, 129)
    np.testing.assert_array_equal(h[0], h[-1])
    np.testing.assert_array_equal(h[:, 0], h[:, -1])
    again = tmp_path / "again"
    again.mkdir()
    monkeypatch.chdir(again)
    assert main(shlex.split(side["regenerate"])[1:] + ["--device", "cpu"]) == 0
    assert (again / "textures" / raw.name).read_bytes() == raw.read_bytes()


def test_erosion_of_a_texture_model_is_refused_by_name_and_noted_among_the_defaults(tmp_path, capsys):
    assert main(["generate", "-m", "stone-texture", "--seeds", "1", "--erosion", "1", "-o", str(tmp_path / "a"),
                 "--device", "cpu"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "erosion is for heightmaps" in err and "leave out --erosion" in err and "Traceback" not in err
    assert not (tmp_path / "a").exists()
    assert (
        main(
            [
                "generate",
                "--seeds",
                "1",
                "--size",
                "65",
                "--erosion",
                "0.2",
                "-o",
                str(tmp_path / "b"),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert "stone-texture: erosion is for heightmaps" in capsys.readouterr().err


def test_each_cell_drains_to_its_steepest_neighbour_diagonals_farther_ties_to_the_first():
    z = np.array(
        [
            [5.0, 5.0, 5.0, 5.0],
            [5.0, 4.0, 3.0, 5.0],
            [5.0, 2.9, 9.0, 5.0],
            [0.0, 5.0, 5.0, 5.0],
        ]
    )
    receiver, step = d8_receivers(z)
    idx = lambda r, c: r * 4 + c  # noqa: E731
    # (1, 1): a drop of 1.1 straight down beats 1 to the right; (2, 1) drops 2.9 over sqrt 2
    # (2.05) diagonally to (3, 0), the lowest, rather than nothing elsewhere; (2, 2) drops 6.1 to
    # the left rather than 6.0 up or 5 over sqrt 2 diagonally.
    assert receiver[idx(1, 1)] == idx(2, 1) and step[idx(1, 1)] == 1
    assert receiver[idx(2, 1)] == idx(3, 0) and step[idx(2, 1)] == pytest.approx(np.sqrt(2))
    assert receiver[idx(2, 2)] == idx(2, 1)
    # Off an open map's edge the flow leaves it; a corner with no lower neighbour is a pit.
    assert receiver[idx(3, 0)] == -1 and step[idx(3, 0)] == 1
    # Equal drops go to the first neighbour in the order up-left, up, up-right, left, right, ...:
    # a peak drains up, not to the equal drops left, right and down, nor to the diagonals.
    flat = np.zeros((3, 3))
    flat[1, 1] = 1.0
    assert d8_receivers(flat)[0][4] == 1
    # Wrapped: a cell of the top row sees the bottom row across the border; outlets drain nowhere.
    wrapped, _ = d8_receivers(z, wrap=True)
    assert wrapped[idx(0, 0)] == idx(3, 0)  # straight up across the border: 5 -> 0
    outlet = np.zeros(16, bool)
    outlet[idx(2, 1)] = True
    assert d8_receivers(z, outlet)[0][idx(2, 1)] == -1 and d8_receivers(z, outlet)[0][idx(1, 1)] == idx(2, 1)


def test_the_drainage_levels_put_every_cell_after_its_receiver_even_past_16_bits_of_depth():
    from texgen.erosion import _levels  # noqa: PLC0415

    z = fbm(64, seed=3)
    receiver, _ = d8_receivers(fill_depressions(z), None)
    # A chain 70,000 cells long (deeper than a 16-bit depth), each cell draining to the one before.
    chain = np.arange(-1, 69_999)
    for rec in (receiver, chain):
        levels = _levels(rec)
        depth = np.zeros(rec.size, np.int64)
        for d, group in enumerate(levels, start=1):
            depth[group] = d
        assert sorted(np.concatenate(levels).tolist()) == np.flatnonzero(rec >= 0).tolist()  # each once
        flows = rec >= 0
        assert np.all(depth[flows] == depth[rec[flows]] + 1)  # one level after its receiver
        assert all(np.all(np.diff(g) > 0) for g in levels)  # in cell order within a level
    assert len(_levels(chain)) == 69_999


def reference_fill(h: np.ndarray, outlets: np.ndarray, wrap: bool) -> np.ndarray:
    """The plain Priority-Flood (Barnes, Lehman & Mulla 2014, algorithm 1), one cell at a time:
    the lowest queued cell raises each unvisited neighbour to its own level, then queues it."""
    hgt, wid = h.shape
    z, done = h.ravel().copy(), outlets.copy()
    heap = [(z[i], i) for i in np.flatnonzero(outlets)]
    heapq.heapify(heap)
    while heap:
        level, i = heapq.heappop(heap)
        r, c = divmod(i, wid)
        for dy, dx in [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]:
            rr, cc = r + dy, c + dx
            if wrap:
                rr, cc = rr % hgt, cc % wid
            elif not (0 <= rr < hgt and 0 <= cc < wid):
                continue
            j = rr * wid + cc
            if not done[j]:
                done[j] = True
                z[j] = max(z[j], level)
                heapq.heappush(heap, (z[j], j))
    return z.reshape(hgt, wid)


def lowest_neighbour(z: np.ndarray, wrap: bool) -> np.ndarray:
    padded = np.pad(z, 1, mode="wrap") if wrap else np.pad(z, 1, constant_values=np.inf)
    hgt, wid = z.shape
    return np.min([padded[1 + dy : 1 + dy + hgt, 1 + dx : 1 + dx + wid]
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx], axis=0)  # fmt: skip


@pytest.mark.parametrize("quantised", [False, True], ids=["smooth", "flats"])
@pytest.mark.parametrize("layout", ["open", "wrapped-sea", "open-inner-outlets"])
def test_the_fill_is_priority_floods_and_every_cell_then_drains(layout, quantised):
    """The basin-graph fill against a plain Priority-Flood written one cell at a time: the same
    lakes, up to the tilt that lets their surfaces drain (epsilon per step), on smooth maps and
    on maps of whole numbers (flats everywhere, as on quantised DEMs), open or wrapped."""
    h = fbm(48, seed=5) + 0.3 * fbm(48, beta=1.0, seed=6)
    h = np.round(h * 12) if quantised else h
    wrap = layout == "wrapped-sea"
    outlets = np.zeros(h.size, bool)
    if layout == "open":
        outlets.reshape(h.shape)[[0, -1], :] = outlets.reshape(h.shape)[:, [0, -1]] = True
    elif layout == "wrapped-sea":
        outlets = (h <= np.quantile(h, 0.02)).ravel()
    else:
        outlets[[5 * 48 + 7, 30 * 48 + 40]] = True  # two sinks inside; the edge is no way out
    eps = 1e-7
    filled = fill_depressions(h, wrap=wrap, outlets=outlets, epsilon=eps)
    lakes = reference_fill(h, outlets, wrap)
    assert (lakes > h).mean() > 0.05  # there are depressions to fill
    assert np.all(filled >= lakes) and np.all(filled - lakes <= eps * h.size)
    undrained = (lowest_neighbour(filled, wrap) >= filled).ravel() & ~outlets
    assert not undrained.any()
    assert np.array_equal(filled.ravel()[outlets], h.ravel()[outlets])


def test_a_cell_just_above_a_tilted_lake_is_filled_again_until_it_drains(monkeypatch):
    """Whole-number heights with some cells a hair (1e-12) higher: tilting a lake by 1e-9 a step
    leaves such a cell beside it with no lower neighbour, which a first pass cannot see; the fill
    goes round again until every cell drains, as Priority-Flood+epsilon raises them in one pass."""
    from texgen import erosion  # noqa: PLC0415

    rng = np.random.default_rng(0)
    h = np.round(rng.random((40, 40)).cumsum(0).cumsum(1) % 7)
    h += 1e-12 * rng.random(h.shape) * (rng.random(h.shape) < 0.3)
    filled = fill_depressions(h, epsilon=1e-9)
    border = np.zeros(h.shape, bool)
    border[[0, -1], :] = border[:, [0, -1]] = True
    assert not ((lowest_neighbour(filled, False) >= filled) & ~border).any()
    assert np.all(filled >= reference_fill(h, border.ravel(), False))
    monkeypatch.setattr(erosion, "_FILL_ROUNDS", 1)
    with pytest.raises(RuntimeError, match="did not settle"):  # so the case above needs the later rounds
        fill_depressions(h, epsilon=1e-9)
