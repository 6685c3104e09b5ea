"""The main window with real ONNX generators: open, generate, browse, tile, views, errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QSize, Qt

from gui_helpers import drain, open_and_generate, qimage_array, settings, user_models, window  # noqa: F401
from texgen import maps
from texgen.gui import imaging
from texgen.gui.details import tiles_text
from texgen.gui.window import default_size
from texgen.model import load_generator
from texgen.sampling import sample
from texgen.seamless import seam_score, seam_scores
from texgen.service import normal_strength_for


def test_window_opens_a_model_and_generating_fills_the_gallery(qtbot, window, models):
    open_and_generate(qtbot, window, models.spatial_rgb, count=5, size=64)
    assert "spatial-rgb" in window.library.card.text() and "CPU" in window.library.card.text()
    # The list says what each model makes: a spatial model any size, a fixed one its own.
    from texgen.gui.library import summary  # noqa: PLC0415

    assert window.library.summaries[str(models.spatial_rgb)] == "texture · any size · tileable"
    assert summary(load_generator(models.vector_rgb, device="cpu")) == "texture · 16×16"
    row = window.library.paths().index(str(models.spatial_rgb))
    assert "texture · any size · tileable" in window.library.list.item(row).text()
    assert window.device_label.text() == "CPU"
    seeds = [v.seed for v in window.gallery.variations()]
    assert seeds == list(range(window.controls.seed.value(), window.controls.seed.value() + 5))
    # Thumbnails are real pictures of the variations, not placeholders.
    v = window.gallery.variations()[2]
    assert v.thumb.width() == imaging.THUMB and not v.thumb.isNull()
    # The pixels are exactly what the runtime makes for that seed and size.
    gen = load_generator(models.spatial_rgb, device="cpu")
    (ref,) = sample(gen, [v.seed], size=(64, 64))
    assert np.array_equal(qimage_array(v.image), imaging.to_uint8(ref.img))
    # Its seam score compares the wrap pair with interior pairs at the same phase of the
    # model's 4 px latent cells (against all pairs, a tileable model reads 0.8 to 1.3).
    assert gen.info.pixels_per_cell == 4 and v.seam == seam_score(ref.img, period=4)
    # One image's seam score is one pair of rows and of columns; the details judge it against
    # the same score at the image's interior lines (5th to 95th percentile).
    lines = seam_scores(ref.img, period=4)[1]
    assert v.seam_lines == (np.percentile(lines, 5), np.percentile(lines, 95))
    lo, hi = v.seam_lines
    assert tiles_text(v) == f"yes (seam score {v.seam:.2f}; interior lines {lo:.2f}–{hi:.2f}: " + (
        "above them: the seam may show)" if v.seam > hi else "no seam stands out)"
    )
    assert tiles_text(replace(v, seam=hi + 1.0)).endswith("above them: the seam may show)")
    assert tiles_text(replace(v, seam_lines=None)) == f"yes (seam score {v.seam:.2f}; 1.0 = invisible)"
    # The preview shows the current variation, at its own size.
    drain(qtbot)
    assert window.preview.image_size() == (64, 64)
    assert tiles_text(window.shown) in window.details.text.text()


def test_tiling_toggle_repeats_the_picture(qtbot, window, models):
    open_and_generate(qtbot, window, models.spatial_rgb, count=2, size=64)
    preview = window.preview
    window.set_tiles(1)
    qtbot.wait(20)
    one = qimage_array(preview.grab().toImage())
    rect1 = preview.picture_rect()
    window.viewbar.tiles.button(2).click()
    assert preview.tiles == 2 and window.viewbar.tiles.button(2).isChecked()
    qtbot.wait(20)
    two = qimage_array(preview.grab().toImage())
    assert not np.array_equal(one, two)
    # Fitted, the 2x2 picture takes the same room and holds the image twice per axis: its
    # quadrants are the same picture (exactly, as it is drawn from one pixmap).
    r = preview.picture_rect()
    assert abs(r.width() - rect1.width()) < 2 and preview.zoom < 0.6 * (rect1.width() / 64)
    x0, y0, half = int(r.left()) + 2, int(r.top()) + 2, int(r.width() / 2)
    q1 = two[y0 : y0 + half - 8, x0 : x0 + half - 8].astype(int)
    q4 = two[y0 + half : y0 + 2 * half - 8, x0 + half : x0 + 2 * half - 8].astype(int)
    assert np.abs(q1 - q4).mean() < 3
    window.set_tiles(3)
    assert abs(preview.picture_rect().width() - rect1.width()) < 2 and preview.tiles == 3


def test_keyboard_navigation_favourites_and_live_interpolation(qtbot, window, models):
    open_and_generate(qtbot, window, models.spatial_rgb, count=4, size=None)
    g = window.gallery
    g.setFocus()
    g.setCurrentRow(0)
    qtbot.keyClick(g, Qt.Key.Key_Right)
    assert g.currentRow() == 1 and window.shown is g.variations()[1]
    qtbot.keyClick(g, Qt.Key.Key_F)
    assert [v.seed for v in window.state.favourites()] == [g.variations()[1].seed]
    assert g.item(1).text().startswith("★")
    qtbot.keyClick(g, Qt.Key.Key_A)
    qtbot.keyClick(g, Qt.Key.Key_Right)
    qtbot.keyClick(g, Qt.Key.Key_B)
    panel = window.interpolation
    assert (
        panel.slider.isEnabled() and panel.a.seed == g.variations()[1].seed and panel.b.seed == g.variations()[2].seed
    )
    with qtbot.waitSignal(window.state.interpolated, timeout=10_000) as blocker:
        panel.slider.setValue(50)
    v = blocker.args[0]
    assert v.sample.t == 0.5 and v.img.shape == (32, 32, 3)
    drain(qtbot)
    assert window.shown.sample.t == 0.5
    # The ends of the path are the picked variations themselves.
    with qtbot.waitSignal(window.state.interpolated, timeout=10_000) as blocker:
        panel.slider.setValue(100)
    assert np.allclose(blocker.args[0].img, g.variations()[2].img, atol=1e-5)
    # A click on the highlighted thumbnail shows that seed again, not the interpolated frame.
    drain(qtbot)
    current = g.currentItem()
    qtbot.mouseClick(g.viewport(), Qt.MouseButton.LeftButton, pos=g.visualItemRect(current).center())
    drain(qtbot)
    assert window.shown.sample.t is None and window.shown is g.variation(current)


def test_the_keys_the_status_bar_names_work_after_the_first_generation(qtbot, window, models, tmp_path):
    """After a generation the status bar says "arrows to browse, F favourite": the focus was on
    the tab bar, where the arrows switched tabs and F did nothing."""
    window.tabs.tabBar().setFocus()
    open_and_generate(qtbot, window, models.spatial_rgb, count=3, size=64)
    drain(qtbot)
    g = window.gallery
    qtbot.waitUntil(lambda: g.hasFocus(), timeout=10_000)
    row = g.currentRow()
    qtbot.keyClick(g, Qt.Key.Key_Right)
    assert g.currentRow() == row + 1 and window.tabs.currentIndex() == 0
    qtbot.keyClick(g, Qt.Key.Key_F)
    assert g.variations()[row + 1].favourite
    # Ctrl+E again gives one dialog, never two side by side: a fresh one with today's seed, or,
    # during an export, the dialog that is exporting.
    first = window.open_export()
    qtbot.addWidget(first)
    window.controls.seed.setValue(77)
    second = window.open_export()
    qtbot.addWidget(second)
    assert second is not first and not first.isVisible() and second.batch_start.value() == 77
    second.folder.setText(str(tmp_path / "out"))
    second.start()
    assert second.running and window.open_export() is second
    qtbot.waitUntil(lambda: not second.running, timeout=20_000)
    assert window.export_action.shortcut().toString() == "Ctrl+E"
    quit_action = next(a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "&Quit")
    assert quit_action.shortcut().toString() == "Ctrl+Q"  # StandardKey.Quit is empty on Windows


def test_texture_thumbnails_keep_their_detail_and_terrains_show_whole(qtbot, window, models):
    from texgen.gui import imaging  # noqa: PLC0415

    open_and_generate(qtbot, window, models.spatial_rgb, count=1, size=512)
    v = window.gallery.variations()[0]
    # The thumbnail is the image's centre 256 px at half size, not the whole shrunk to a quarter.
    centre = imaging.to_uint8(v.img[128:384, 128:384])
    half = centre.reshape(128, 2, 128, 2, 3).mean(axis=(1, 3))
    assert np.abs(qimage_array(v.thumb).astype(float) - half).mean() < 6
    open_and_generate(qtbot, window, models.spatial_height, count=1, size=512)
    t = window.gallery.variations()[0].thumb
    whole = imaging.to_uint8(window.gallery.variations()[0].img[..., 0]).reshape(128, 4, 128, 4).mean(axis=(1, 3))
    shown = qimage_array(t)
    shown = shown[..., 0] if shown.ndim == 3 else shown
    assert np.abs(shown.astype(float) - whole).mean() < 6  # a terrain's shape is the whole map


def test_heightmap_views_relief_and_values_under_the_cursor(qtbot, window, models):
    open_and_generate(qtbot, window, models.spatial_height, count=2, size=64)
    labels = [b.text() for b in window.viewbar.modes.buttons()]
    assert labels == ["Height", "Hillshade", "Normal", "Relief 3D"]
    v = window.shown
    with qtbot.waitSignal(window.state.view_ready, timeout=10_000):
        window.set_view_mode(imaging.HILLSHADE)
    drain(qtbot)
    shown = qimage_array(window.preview.pixmap().toImage())
    shown = shown[..., 0] if shown.ndim == 3 else shown  # a grey pixmap may come back as RGB
    assert np.array_equal(shown, imaging.to_uint8(maps.hillshade(v.img[..., 0], wrap=True)))
    with qtbot.waitSignal(window.state.view_ready, timeout=10_000):
        window.set_view_mode(imaging.NORMAL)
    drain(qtbot)
    normal = qimage_array(window.preview.pixmap().toImage())
    assert normal.shape == (64, 64, 3)
    # "auto" strength: the one `texgen generate` uses for this kind and size.
    strength = normal_strength_for("heightmap", (64, 64))
    assert np.array_equal(normal, imaging.to_uint8(maps.normal_map(v.img[..., 0], strength=strength, wrap=True)))
    # Relief: its own widget, rendered on a worker; tiling makes no sense there.
    window.set_view_mode(imaging.RELIEF)
    assert window.stack.currentWidget() is window.relief
    assert not window.viewbar.tiles.button(2).isEnabled()
    assert not window.viewbar.fit.isEnabled() and not window.viewbar.zoom.isEnabled()  # nor Fit and zoom
    qtbot.waitUntil(lambda: window.relief.image() is not None, timeout=10_000)
    # Values under the cursor, back in the height view.
    window.set_view_mode(imaging.GREY)
    drain(qtbot)
    assert window.viewbar.fit.isEnabled() and window.viewbar.tiles.button(2).isEnabled()
    r = window.preview.picture_rect()
    qtbot.mouseMove(window.preview, QPoint(int(r.left() + 3), int(r.top() + 3)))
    qtbot.waitUntil(lambda: "height" in window.pixel.text(), timeout=10_000)
    x, y = window.preview.image_pixel(QPointF(r.left() + 3, r.top() + 3))
    assert f"{float(v.img[y, x, 0]):.4f}" in window.pixel.text()


def test_a_bad_model_shows_an_error_and_the_window_stays_usable(qtbot, window, models, tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"this is not an onnx file at all" * 10)
    with qtbot.waitSignal(window.state.model_failed, timeout=10_000) as blocker:
        window.load_model(str(bad))
    message = blocker.args[0]
    assert "not a valid ONNX model" in message
    assert "not a valid ONNX model" in window.status_text.text() and "ff8a80" in window.status_text.styleSheet()
    assert "Could not open" in window.library.card.text()
    drain(qtbot)
    assert window.library.summaries[str(bad)].startswith("unusable:")
    # A real ONNX graph that is not a generator: refused with what is missing.
    with qtbot.waitSignal(window.state.model_failed, timeout=10_000) as blocker:
        window.load_model(str(models.not_generator))
    assert "not a generator" in blocker.args[0]
    # Generate with nothing loaded: a message, not a crash.
    with qtbot.waitSignal(window.state.generation_failed, timeout=10_000):
        window.controls.generate_requested.emit(window.controls.spec())
    # And the window still works.
    open_and_generate(qtbot, window, models.vector_rgb, count=2, size=None)
    assert window.preview.image_size() == (16, 16)
    assert "ff8a80" not in window.status_text.styleSheet()
    # A failure while a model is open says so above that model's card, which stays in use.
    with qtbot.waitSignal(window.state.model_failed, timeout=10_000):
        window.load_model(str(bad))
    card = window.library.card.text()
    assert "Could not open" in card and "Still open" in card and "vector-rgb" in card
    assert ".)" not in card  # onnxruntime's full stop no longer sits inside the brackets
    # The broken file, opened by hand, can be taken off the list (the file itself stays).
    assert str(bad) in window.library.paths()
    window.library.remove_opened(bad)
    assert str(bad) not in window.library.paths() and bad.exists()
    window.save_settings()
    assert str(bad) not in window.settings.text("library/opened", "")


def test_a_model_that_fails_while_generating_is_reported(qtbot, window, models):
    with qtbot.waitSignal(window.state.generation_failed, timeout=20_000) as blocker:
        window.start(str(models.nan))
    assert "NaN" in blocker.args[0] and "NaN" in window.status_text.text()
    assert window.controls.go.isEnabled()


def test_conditional_models_offer_their_classes(qtbot, window, models):
    open_and_generate(qtbot, window, models.conditional, count=2, size=None)
    combo = window.controls.label
    assert combo.isEnabled() and [combo.itemText(i) for i in range(combo.count())] == ["gravel", "brick", "grass"]
    combo.setCurrentIndex(2)
    with qtbot.waitSignal(window.state.generation_finished, timeout=20_000):
        window.controls.go.click()
    drain(qtbot)
    v = window.gallery.variations()[0]
    assert v.sample.class_name == "grass"
    gen = load_generator(models.conditional, device="cpu")
    (ref,) = sample(gen, [v.seed], size=(32, 32), label="grass")
    assert np.array_equal(v.img, ref.img)
    # The export asks for the same class, by name.
    d = window.open_export()
    qtbot.addWidget(d)
    assert d.request().label == "grass" and "--class grass" in d.command.text()


def test_dropping_an_onnx_file_opens_it(qtbot, window, models):
    from PySide6.QtCore import QMimeData, QPointF, QUrl  # noqa: PLC0415
    from PySide6.QtGui import QDropEvent  # noqa: PLC0415

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(models.vector_rgb))])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(window.state.model_loaded, timeout=20_000):
        window.dropEvent(event)
    assert window.state.generator.path == models.vector_rgb
    assert str(models.vector_rgb) in window.library.paths()
    drain(qtbot)


def test_settings_persist_between_windows(qtbot, window, models, settings):
    open_and_generate(qtbot, window, models.spatial_rgb, count=3, size=None)
    window.set_tiles(3)
    window.close()
    from texgen.gui.window import MainWindow  # noqa: PLC0415

    again = MainWindow(settings, device="cpu")
    qtbot.addWidget(again)
    assert again.controls.count.value() == 3 and again.preview.tiles == 3
    with qtbot.waitSignal(again.state.model_loaded, timeout=20_000):
        again.start()  # no model named: the last one used
    assert again.state.generator.path == models.spatial_rgb
    again.state.cancel_generation()
    drain(qtbot)


def test_only_the_newest_model_choice_opens(qtbot, window, models):
    loaded = []
    window.state.model_loaded.connect(loaded.append)
    window.load_model(str(models.vector_rgb))
    window.load_model(str(models.spatial_height))
    qtbot.waitUntil(lambda: bool(loaded), timeout=20_000)
    drain(qtbot)
    assert [g.path for g in loaded] == [models.spatial_height]
    assert window.viewbar.modes.button(0).text() == "Height"


def test_cancel_keeps_the_variations_made_so_far(qtbot, window, models):
    open_and_generate(qtbot, window, models.spatial_rgb, count=1, size=64)
    c = window.controls
    c.count.setValue(64)
    c.set_size(1024)
    c.go.click()
    assert c.stop.isEnabled()
    qtbot.waitUntil(lambda: window.gallery.count() >= 1, timeout=30_000)
    c.stop.click()
    drain(qtbot)
    n = window.gallery.count()
    assert 1 <= n < 64 and len(window.state.variations) == n
    assert "cancelled" in window.status_text.text() and not c.stop.isEnabled()
    assert window.gallery.variations()[0].img.shape == (1024, 1024, 3)


def test_copy_command_of_a_heightmap_writes_that_heightmap(qtbot, window, models, tmp_path):
    """The details' command runs as it is: a 64 px terrain is the tile of a 65 Unity terrain
    (the default heightmap preset), and a size Unity cannot take becomes a 16-bit PNG (before,
    the command asked unity-terrain for 64 px and failed)."""
    import shlex  # noqa: PLC0415

    from texgen.cli import main  # noqa: PLC0415

    open_and_generate(qtbot, window, models.spatial_height, count=1, size=64)
    drain(qtbot)
    command = window.details.command
    assert "--size 65" in command and "--preset" not in command
    args = shlex.split(command)
    assert args[args.index("--seeds") + 1] == str(window.shown.seed)
    assert main(args[1:] + ["-o", str(tmp_path / "a"), "--device", "cpu"]) == 0
    raw = np.fromfile(next((tmp_path / "a").glob("*.raw")), "<u2").reshape(65, 65)[::-1]  # bottom row first
    assert np.array_equal(raw[:, 0], raw[:, 64]) and np.array_equal(
        raw[0], raw[64]
    )  # the shared edges of a tileable map
    # It is the heightmap on screen: its 64 px tile, at 16 bits as Unity reads them (u16 / 65536,
    # so min(round(h * 65536), 65535): docs/export-formats.md).
    shown = np.minimum(np.round(window.shown.img[..., 0].astype(np.float64) * 65536), 65535)
    assert np.array_equal(raw[:64, :64], shown)
    open_and_generate(qtbot, window, models.vector_grey, count=1, size=None)  # native 16: no 17 in Unity
    drain(qtbot)
    command = window.details.command
    assert "--size 16" in command and "--preset png" in command
    assert main(shlex.split(command)[1:] + ["-o", str(tmp_path / "b"), "--device", "cpu"]) == 0
    written = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert len(written) == 2 and written[0].endswith("_height.png") and written[1] == written[0] + ".json"


def test_an_unknown_model_name_on_the_command_line_stays_in_sight(qtbot, window):
    """`texgen gui nosuch`: the error stays in the status bar, and no other model is opened
    (its load and first batch replaced the message at once)."""
    from texgen.gui.app import open_requested  # noqa: PLC0415

    open_requested(window, "no-such-model")
    qtbot.wait(300)
    assert window.state.generator is None and not window.state.busy_loading
    text = window.status_text.text()
    assert text.startswith("no model named 'no-such-model' (known: ") and "pick a model in the list" in text
    assert "ff8a80" in window.status_text.styleSheet()
    with qtbot.waitSignal(window.state.model_loaded, timeout=20_000):
        open_requested(window, "stone-texture")  # a known name opens
    window.state.cancel_generation()
    drain(qtbot)


def test_window_fits_a_1024_px_screen_with_the_view_bar_on_two_rows(qtbot, window, models):
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from texgen.gui.app import style_app  # noqa: PLC0415

    app = QApplication.instance()
    sheet, palette, style = app.styleSheet(), app.palette(), app.style().name()
    style_app(app)  # the app's own padding, which sets the buttons' widths
    try:
        open_and_generate(qtbot, window, models.spatial_height, count=1, size=64)  # 4 view modes
        bar = window.viewbar
        modes, view = bar.modes.buttons(), [*bar.tiles.buttons(), bar.fit]

        def rects(buttons):
            return [b.geometry().translated(b.parentWidget().mapTo(bar, QPoint(0, 0))) for b in buttons]

        # The whole window, its widest row of fields included, fits 1000 px (a 1024 screen).
        assert window.minimumSizeHint().width() <= 1000
        window.resize(1000, 700)
        drain(qtbot)
        assert window.width() == 1000
        mode_rects, view_rects = rects(modes), rects(view)
        # Two rows: every button whole and inside the bar, the tiling under the modes.
        for r in mode_rects + view_rects:
            assert bar.rect().contains(r) and r.width() >= r.height()
        assert min(r.top() for r in view_rects) >= max(r.bottom() for r in mode_rects)
        window.resize(1440, 900)
        drain(qtbot)
        mode_rects, view_rects = rects(modes), rects(view)
        assert {r.top() for r in mode_rects + view_rects} == {mode_rects[0].top()}  # one row
        assert max(r.right() for r in mode_rects) < min(r.left() for r in view_rects)
        # A first start sizes the window to the screen it opens on.
        assert default_size(QSize(1024, 768)) == QSize(972, 706)
        assert default_size(QSize(2560, 1400)) == QSize(1400, 860)
    finally:
        app.setStyleSheet(sheet)
        app.setPalette(palette)
        app.setStyle(style)


def test_details_explain_one_pixel_more_only_for_a_terrain_tile(qtbot, window, models):
    """The note was found by searching the command for "--size H+1", which "--size 512x4" also
    contains ("--size 5"); it now comes from the size the command asks for."""
    from texgen.gui.state import make_variation  # noqa: PLC0415

    gen = load_generator(models.spatial_rgb, device="cpu")
    (s,) = sample(gen, [0], size=(4, 512))
    window.details.show_variation(gen, make_variation(s, 4, texture=True))
    assert "--size 512x4" in window.details.command and "Unity terrain" not in window.details.text.text()
    height = load_generator(models.spatial_height, device="cpu")
    (t,) = sample(height, [0], size=(64, 64))
    window.details.show_variation(height, make_variation(t, 4, texture=False))
    assert (
        "--size 65" in window.details.command
        and "65 × 65 is a Unity terrain of this tile" in window.details.text.text()
    )


def test_one_click_on_another_thumbnail_shows_it_once(qtbot, window, models):
    open_and_generate(qtbot, window, models.spatial_rgb, count=4, size=64)
    drain(qtbot)
    g = window.gallery
    said = []
    g.current_changed.connect(said.append)
    target = g.item(2) if g.currentRow() != 2 else g.item(1)
    qtbot.mouseClick(g.viewport(), Qt.MouseButton.LeftButton, pos=g.visualItemRect(target).center())
    assert said == [g.variation(target)]  # not twice (each showing renders the view again)
