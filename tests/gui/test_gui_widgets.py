"""Widgets and helpers of the GUI on their own: relief, preview geometry, chart, workers."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from matplotlib import cbook
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage

from gui_helpers import drain, qimage_array
from texgen.gui import compat, imaging
from texgen.gui.chart import Chart, nice_ticks
from texgen.commands import seed_text
from texgen.gui.export_dialog import preset_sizes
from texgen.gui.preview import Preview
from texgen.gui.relief import Camera, render_relief
from texgen.gui.workers import Latest, describe_error, run_in_pool, running
from texgen.errors import RequestError
from texgen.presets import PRESETS


@pytest.fixture(scope="module")
def dem():
    z = cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"].astype(np.float32)
    return (z - z.min()) / (z.max() - z.min())


def test_relief_is_a_solid_lit_block(qapp, dem):
    magenta = QColor(255, 0, 255)  # a background no terrain colour comes near
    img = qimage_array(render_relief(dem, 400, 300, Camera(), background=magenta, cells=48))
    covered = np.abs(img.astype(int) - (255, 0, 255)).sum(axis=2) > 60
    # The block fills a good part of the picture and has no holes inside its outline.
    assert 0.3 < covered.mean() < 0.9
    # Down every column, from the skyline to the bottom of the slab, there is no gap (a sheet
    # seen edge-on or with missing cells would let the background through).
    for x in np.where(covered.any(axis=0))[0]:
        ys = np.where(covered[:, x])[0]
        assert covered[ys[0] : ys[-1] + 1, x].all(), f"hole in column {x}"
    # Lit: the shading varies (slopes facing the sun are brighter than those facing away).
    lum = img[covered].mean(axis=1)
    assert lum.std() > 15
    # Turning the camera changes the picture; a flat field renders as a plain slab.
    turned = qimage_array(render_relief(dem, 400, 300, Camera(azimuth=120), background=magenta, cells=48))
    assert np.abs(turned.astype(int) - img).mean() > 5
    flat = qimage_array(render_relief(np.zeros((32, 32), np.float32), 200, 150, background=magenta, cells=16))
    slab = np.abs(flat.astype(int) - (255, 0, 255)).sum(axis=2) > 60
    assert flat.shape == (150, 200, 3) and 0.2 < slab.mean() < 0.8
    # Its top is one evenly lit face: most of the block has a single shade (on the terrain
    # above, no shade covers more than a few percent).
    _, counts = np.unique(np.round(flat[slab].mean(axis=1)), return_counts=True)
    assert counts.max() > 0.6 * slab.sum()
    assert np.unique(np.round(lum), return_counts=True)[1].max() < 0.2 * covered.sum()


def test_preview_maps_widget_positions_to_pixels_in_every_tile(qtbot):
    p = Preview()
    qtbot.addWidget(p)
    p.resize(400, 400)
    img = np.zeros((10, 20, 3), np.float32)
    p.set_image(imaging.to_qimage(img))
    p.set_tiles(2)
    r = p.picture_rect()
    assert abs(r.width() - 2 * 20 * p.zoom) < 1e-6 and r.width() <= 400
    z = p.zoom
    assert p.image_pixel(QPointF(r.left() + 3.5 * z, r.top() + 2.5 * z)) == (3, 2)
    assert p.image_pixel(QPointF(r.left() + (20 + 3.5) * z, r.top() + (10 + 2.5) * z)) == (3, 2)
    assert p.image_pixel(QPointF(r.left() - 1, r.top())) is None
    # Zooming about a point keeps that point still.
    anchor = QPointF(r.left() + 7.5 * z, r.top() + 4.5 * z)
    before = p.image_pixel(anchor)
    p.set_zoom(z * 3, anchor)
    assert p.image_pixel(anchor) == before and p.zoom == pytest.approx(z * 3)
    p.fit()
    assert p.zoom == pytest.approx(z)
    with pytest.raises(ValueError):
        p.set_tiles(4)


def test_chart_ticks_and_series(qtbot):
    assert nice_ticks(0, 1, 4) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(3, 97, 4) == [20, 40, 60, 80]
    assert nice_ticks(467, 469, 5, integer=True) == [467, 468, 469]  # steps: never 468.2
    assert nice_ticks(0, 1600, 5, integer=True) == [0, 500, 1000, 1500]
    c = Chart("Losses")
    qtbot.addWidget(c)
    c.resize(300, 200)
    c.add_point("d", 1, 0.5)
    c.add_point("d", 2, float("nan"))  # skipped, never drawn
    c.add_point("g", 2, -1.0)
    assert c.series == {"d": [(1.0, 0.5)], "g": [(2.0, -1.0)]}
    x0, x1, y0, y1 = c.bounds()
    assert x0 == 1 and x1 == 2 and y0 < -1 and y1 > 0.5
    assert not c.grab().toImage().isNull()
    one = Chart("Quality")
    qtbot.addWidget(one)
    one.add_point("swd", 468, 29.3)
    x0, x1, y0, y1 = one.bounds()
    assert x0 == 0 and 468 < x1 < 520 and y0 < 0 < 29.3 < y1 < 40  # a lone reading is read from 0, as a value
    low = Chart("Loss")
    qtbot.addWidget(low)
    low.add_point("d", 12, -1000.0)
    _, _, y0, y1 = low.bounds()
    assert y0 < -1000 * 1.2 and y1 > 0  # a negative one too, down from 0


def test_tick_labels_tell_neighbouring_ticks_apart():
    from texgen.gui.chart import _label  # noqa: PLC0415

    ticks = nice_ticks(221.4, 222.1)  # one evaluation's SWD, padded: a narrow range
    labels = [_label(t, step=ticks[1] - ticks[0]) for t in ticks]
    assert len(set(labels)) == len(labels) == len(ticks) and "221.6" in labels
    assert [_label(t, step=20.0) for t in (20.0, 40.0)] == ["20", "40"]
    assert _label(1234.0, integer=True) == "1,234"


def test_a_chart_legend_that_does_not_fit_beside_the_title_gets_a_line_of_its_own(qtbot):
    from texgen.gui.chart import PALETTE  # noqa: PLC0415

    def legend_rows(width: int) -> list[int]:
        c = Chart("SWD to your images (lower is closer)")
        qtbot.addWidget(c)
        for name in ("swd", "memorisation_ratio", "seam_score"):
            c.add_point(name, 1, 1.0)
            c.add_point(name, 2, 2.0)
        c.resize(width, 220)
        img = qimage_array(c.grab().toImage())
        first = np.array([int(PALETTE[0][i : i + 2], 16) for i in (1, 3, 5)])  # the first series' swatch
        return [y for y in range(40) if (np.abs(img[y].astype(int) - first).sum(axis=1) < 30).sum() >= 8]

    wide, narrow = legend_rows(900), legend_rows(300)
    assert wide and narrow and min(narrow) > max(wide)  # pushed down to a row below the title


def test_pixels_and_views_in_words():
    grey = np.full((4, 4, 1), 0.25, np.float32)
    assert imaging.describe_pixel(grey, 1, 2) == "x 1  y 2   height 0.2500"
    rgb = np.zeros((2, 2, 3), np.float32)
    rgb[1, 0] = (1.0, 0.5, 0.0)
    assert imaging.describe_pixel(rgb, 0, 1).endswith("#ff8000")
    assert imaging.views_for("heightmap")[0] == imaging.GREY and imaging.RELIEF in imaging.views_for("texture")
    q = imaging.to_qimage(grey)
    assert q.format() == QImage.Format.Format_Grayscale8 and q.pixelColor(0, 0).red() == 64


def test_export_helpers():
    assert seed_text([1, 2, 3, 7, 9, 10]) == "1-3,7,9-10"
    assert preset_sizes(PRESETS["unity-terrain"], 64)[0] == 33
    assert 64 in preset_sizes(PRESETS["png"], 64) and 1024 in preset_sizes(PRESETS["png"], 64)


def test_workers_report_errors_in_words_and_keep_only_the_newest_request(qtbot):
    assert describe_error(RequestError("size 7 is odd", "use 8")) == "size 7 is odd. use 8"
    assert describe_error(ZeroDivisionError("division by zero")).startswith("unexpected error: ZeroDivisionError")
    failures = []
    run_in_pool(lambda report, cancelled: 1 / 0, on_failed=failures.append)
    qtbot.waitUntil(lambda: bool(failures), timeout=5000)
    assert "ZeroDivisionError" in failures[0]
    latest = Latest()
    results = []
    latest.result.connect(results.append)
    import threading  # noqa: PLC0415

    gate = threading.Event()
    latest.submit(lambda r, c: gate.wait(5) and "first")
    for i in range(5):
        latest.submit(lambda r, c, i=i: f"request {i}")
    gate.set()
    qtbot.waitUntil(lambda: len(results) == 2, timeout=5000)
    drain(qtbot)
    assert results == ["first", "request 4"] and running() == 0


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_qt_calls_cannot_exhaust_none(qapp):
    from PySide6.QtCore import QPointF as P  # noqa: PLC0415

    compat.guard_none_refcount()
    p = P()
    for _ in range(50_000):  # several times None's whole count without the guard: an abort
        p.setX(1.0)
    assert sys.getrefcount(None) > 1000
    assert compat.guard_none_refcount() == compat.leaks_none()  # guarded exactly when needed


def test_texgen_gui_entry_point_starts_and_quits(tmp_path):
    """`texgen gui` as a user starts it (a fresh process), with its own settings file."""
    import os  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TEXGEN_USER_MODELS": str(tmp_path / "models")}
    out = subprocess.run(
        [sys.executable, "-m", "texgen", "gui", "--quit-after-start", "--settings", str(tmp_path / "s.ini")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "window shown in" in out.stdout
    assert (tmp_path / "s.ini").exists()  # the window saved its layout on closing
    bad = subprocess.run(
        [sys.executable, "-m", "texgen", "gui", "--device", "tpu"], capture_output=True, text=True, env=env, timeout=60
    )
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_a_result_for_a_deleted_owner_is_dropped(qtbot):
    """A window closed while its worker runs must not get the late result (its widgets are gone)."""
    import threading  # noqa: PLC0415

    import shiboken6  # noqa: PLC0415
    from PySide6.QtCore import QObject  # noqa: PLC0415

    owner, got, gate = QObject(), [], threading.Event()
    worker = run_in_pool(lambda r, c: gate.wait(5) and "late", on_result=got.append, owner=owner)
    shiboken6.delete(owner)
    gate.set()
    drain(qtbot)
    assert got == [] and worker.is_cancelled()
