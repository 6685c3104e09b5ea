"""The erosion's droplets and talus as ONNX graphs (texgen/erosion_graphs.py), the way they run on
a GPU: here on onnxruntime's CPU provider, against the numpy of texgen/erosion.py on a real DEM;
droplets that stall on a flat; and `erode(device="cuda")` where no GPU starts."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import cbook

import texgen.erosion as er
from texgen.erosion import Erosion, erode
from texgen.erosion_graphs import GraphPasses


@pytest.fixture(scope="module")
def dem() -> np.ndarray:
    """A real DEM crop, not square (the graphs' rows and columns must not be swapped). Its heights
    are whole metres: a droplet can stall on a flat and take the direction drawn for it."""
    return cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"].astype(np.float64)[40:112, 30:96]


@pytest.fixture(scope="module")
def graphs() -> GraphPasses:
    return GraphPasses("cpu")


@pytest.mark.parametrize("wrap", [True, False], ids=["wrapped", "open"])
@pytest.mark.parametrize(
    "settings",
    [Erosion(rain=1.0), Erosion(thermal=9), Erosion(rivers=3, rain=0.5, thermal=2)],
    ids=["droplets", "talus", "all three"],
)
def test_the_graphs_erode_a_real_dem_as_numpy_does(dem, graphs, wrap, settings):
    """The same operations in the same order, so the same heights, to the bit."""
    want = erode(dem, settings, wrap=wrap, seed=4)
    got = er.erode_with(graphs, dem, settings, wrap=wrap, seed=4)
    assert np.abs(want - dem).max() > 1.0  # metres: the erosion did something
    np.testing.assert_array_equal(got, want)


def test_droplets_that_stall_on_a_flat_take_the_directions_drawn_for_them(graphs):
    """On a dead-flat plateau the gradient is zero: a droplet goes the way `angles` says, and on
    a wrapped map what it picks up lands somewhere (the mean height stays)."""
    hgt, wid = 40, 48
    u = np.zeros((hgt, wid))
    u[:, :24] = 0.3  # a plateau and a plain, with a cliff between (and across the seam)
    rng = np.random.default_rng(0)
    y, x = rng.uniform(0, hgt, 400), rng.uniform(0, wid, 400)
    s = Erosion(rain=1.0, steps=12)
    east = graphs.droplets(u.ravel().copy(), y, x, np.zeros((s.steps, 400)), (hgt, wid), True, s)
    south = graphs.droplets(u.ravel().copy(), y, x, np.full((s.steps, 400), np.pi / 2), (hgt, wid), True, s)
    assert np.all(np.isfinite(east)) and np.all(np.isfinite(south))
    assert abs(east.mean() - u.mean()) < 1e-12 and abs(south.mean() - u.mean()) < 1e-12
    # Going east, the plateau's droplets reach the cliff and cut it; going south they stay on the
    # flats (only the ones at the cliff's lip fall), so the cliff is cut far less.
    cut = lambda h: np.abs(h.reshape(hgt, wid) - u)[:, 20:28].sum()  # noqa: E731
    assert cut(east) > 2 * cut(south) > 0


def test_a_wrapped_map_erodes_alike_wherever_its_seam_lies():
    """Rolling a wrapped map and the droplets' start points by the same cells rolls the result:
    a droplet by the last row or column reads the heights across the seam as anywhere else."""
    h = cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"].astype(np.float64)[:64, :64]
    rng = np.random.default_rng(2)
    y, x = rng.integers(0, 64 * 256, 300) / 256, rng.integers(0, 64 * 256, 300) / 256  # exact when moved
    s = Erosion(rain=1.0, steps=10)
    plain = h.ravel().copy()
    angles = rng.uniform(0, 2 * np.pi, (s.steps, 300))
    er._droplets(plain, y.copy(), x.copy(), angles, s, (64, 64), True)
    rolled = np.roll(h, (-20, -30), axis=(0, 1)).ravel().copy()
    er._droplets(rolled, (y - 20) % 64, (x - 30) % 64, angles, s, (64, 64), True)
    back = np.roll(rolled.reshape(64, 64), (20, 30), axis=(0, 1))
    np.testing.assert_allclose(back, plain.reshape(64, 64), rtol=0, atol=1e-9 * np.ptp(h))


def test_erosion_asked_of_a_gpu_that_cannot_start_runs_on_the_cpu_and_says_so(dem):
    if er._gpu_passes("cuda", None) is not None:
        pytest.skip("CUDA starts on this machine: the graphs ran there (bench/gpu_run.py measures them)")
    notes: list[str] = []
    want = erode(dem, Erosion(rain=0.5, thermal=3), wrap=True, seed=1)
    got = erode(dem, Erosion(rain=0.5, thermal=3), wrap=True, seed=1, device="cuda", notes=notes)
    np.testing.assert_array_equal(got, want)
    assert len(notes) == 1 and notes[0].startswith("erosion ran on the CPU: ") and "cuda" in notes[0]
    quiet: list[str] = []  # "auto" falls back without a word, as the models' device choice does
    np.testing.assert_array_equal(
        erode(dem, Erosion(thermal=3), device="auto", notes=quiet), erode(dem, Erosion(thermal=3))
    )
    assert quiet == []
    rivers_only: list[str] = []  # the rivers run on the CPU always: no GPU is tried for them
    erode(dem, Erosion(rivers=2), device="cuda", notes=rivers_only)
    assert rivers_only == []


def test_generate_erodes_on_the_device_its_model_runs_on(tmp_path, monkeypatch, graphs):
    """`texgen generate --erosion` asks for the model's device (here the CPU's, as on a machine
    whose GPU runs the model it would be "cuda"), and what the graphs erode is written as numpy's
    is: on this terrain, two batches of droplets, the same bytes."""
    from texgen.cli import main  # noqa: PLC0415

    asked = []
    monkeypatch.setattr(er, "_gpu_passes", lambda device, notes: asked.append(device) or graphs)
    args = ["generate", "-m", "terrain", "--seeds", "3", "--size", "129", "--erosion", "rain=1,thermal=5"]
    assert main([*args, "-o", str(tmp_path / "graphs"), "--device", "cpu"]) == 0
    assert asked == ["cpu"]
    monkeypatch.undo()
    assert main([*args, "-o", str(tmp_path / "numpy"), "--device", "cpu"]) == 0
    name = "terrain_3_height.raw"
    assert (tmp_path / "graphs" / name).read_bytes() == (tmp_path / "numpy" / name).read_bytes()
