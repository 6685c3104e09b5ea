"""The export dialog writes exactly what `texgen generate` writes for the same request."""

from __future__ import annotations

import shlex

from PIL import Image

from gui_helpers import drain, open_and_generate, settings, user_models, window  # noqa: F401
from texgen.cli import main as cli_main


def files_of(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def export(qtbot, dialog) -> None:
    dialog.start()
    assert dialog.running
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    drain(qtbot)


def test_terrain_export_matches_the_cli_byte_for_byte(qtbot, window, models, tmp_path):
    open_and_generate(qtbot, window, models.spatial_height, count=2, size=64)
    d = window.open_export()
    qtbot.addWidget(d)
    d.preset.setCurrentIndex(d.preset.findData("unity-terrain"))
    assert d.byte_order.isEnabled()
    sizes = [d.size.itemData(i) for i in range(d.size.count())]
    assert sizes[:3] == [33, 65, 129] and d.size.currentData() == 513
    d.size.setCurrentIndex(d.size.findData(65))
    d.byte_order.setCurrentIndex(d.byte_order.findData("big"))
    d.folder.setText(str(tmp_path / "gui"))
    d.template.setText("{model}_{seed:04d}_{map}")
    d.use_batch.setChecked(True)
    d.batch_count.setValue(3)
    d.batch_start.setValue(5)
    assert d.rain.isVisibleTo(d) and d.request().erosion is None  # none until asked
    d.rain.setValue(0.5)
    d.thermal.setValue(10)
    assert "--erosion rain=0.5,thermal=10 " in d.command.text() + " "  # by name: no rivers
    d.rivers.setValue(5)
    req = d.request()
    assert req.seeds == [5, 6, 7] and req.byte_order == "big" and req.size == (65, 65)
    assert (req.erosion.rain, req.erosion.thermal, req.erosion.rivers) == (0.5, 10, 5)
    assert "--erosion rivers=5,rain=0.5,thermal=10" in d.command.text()
    export(qtbot, d)
    assert d.error is None, d.error
    assert d.progress.value() == 3 and "Wrote" in d.status.text()
    gui = files_of(tmp_path / "gui")
    assert "spatial-height_0005_height.raw" in gui and len(gui["spatial-height_0005_height.raw"]) == 65 * 65 * 2

    # The same request on the command line, and the command the dialog shows.
    code = cli_main(
        [
            "generate",
            "--model",
            str(models.spatial_height),
            "--seeds",
            "5-7",
            "--size",
            "65",
            "--preset",
            "unity-terrain",
            "--byte-order",
            "big",
            "--name",
            "{model}_{seed:04d}_{map}",
            "--out",
            str(tmp_path / "cli"),
            "--device",
            "cpu",
            "--erosion",
            "rivers=5,rain=0.5,thermal=10",  # the dialog's positional form, by name
        ]
    )
    assert code == 0
    assert files_of(tmp_path / "cli") == gui
    shown = shlex.split(d.command.text())
    assert shown[:2] == ["texgen", "generate"]
    shown[shown.index("--out") + 1] = str(tmp_path / "shown")
    assert cli_main(shown[1:]) == 0
    assert files_of(tmp_path / "shown") == gui


def test_selected_variations_with_a_material_preset_match_the_cli(qtbot, window, models, tmp_path):
    open_and_generate(qtbot, window, models.vector_rgb, count=4, size=64)
    window.controls.strength.setValue(2.5)
    g = window.gallery
    g.clearSelection()
    g.item(1).setSelected(True)
    g.item(3).setSelected(True)
    seeds = [g.variations()[1].seed, g.variations()[3].seed]
    d = window.open_export()
    qtbot.addWidget(d)
    assert not any(w.isVisibleTo(d) for w in (d.rain, d.thermal, d.rivers))  # erosion is for heightmaps
    assert d.use_selection.isChecked() and d.seeds() == seeds
    d.preset.setCurrentIndex(d.preset.findData("unreal-texture"))
    assert not d.byte_order.isEnabled()
    assert [m for m, box in d.maps.items() if box.isChecked()] == ["albedo", "normal"]
    assert d.size.currentData() == 64  # what the window generated
    d.maps["height"].setChecked(True)
    d.convention.setCurrentIndex(d.convention.findData("opengl"))
    d.folder.setText(str(tmp_path / "gui"))
    export(qtbot, d)
    assert d.error is None, d.error
    gui = files_of(tmp_path / "gui")
    assert len([n for n in gui if n.endswith(".png")]) == 6
    code = cli_main(
        [
            "generate",
            "--model",
            str(models.vector_rgb),
            "--seeds",
            ",".join(map(str, seeds)),
            "--size",
            "64",
            "--preset",
            "unreal-texture",
            "--maps",
            "albedo,height,normal",
            "--normal",
            "opengl",
            "--normal-strength",
            "2.5",
            "--out",
            str(tmp_path / "cli"),
            "--device",
            "cpu",
        ]
    )
    assert code == 0 and files_of(tmp_path / "cli") == gui
    # The settings remember the preset per kind and the folder for the next export.
    again = window.open_export()
    qtbot.addWidget(again)
    assert again.preset.currentData() == "unreal-texture" and again.folder.text() == str(tmp_path / "gui")


def test_cancel_leaves_only_whole_files(qtbot, window, models, tmp_path):
    open_and_generate(qtbot, window, models.spatial_rgb, count=1, size=64)
    d = window.open_export()
    qtbot.addWidget(d)
    d.preset.setCurrentIndex(d.preset.findData("png"))
    d.size.setCurrentIndex(d.size.findData(256))
    d.use_batch.setChecked(True)
    d.batch_count.setValue(400)
    d.folder.setText(str(tmp_path / "out"))
    d.start()
    qtbot.waitUntil(lambda: d.progress.value() >= 2, timeout=30_000)
    d.close_button.click()  # Cancel while running
    qtbot.waitUntil(lambda: not d.running, timeout=30_000)
    drain(qtbot)
    assert "cancelled" in d.status.text()
    pngs = sorted((tmp_path / "out").glob("*.png"))
    assert 2 <= len(pngs) < 400
    for p in pngs:
        with Image.open(p) as im:
            im.load()
            assert im.size == (256, 256)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".") or "tmp" in p.suffix]


def test_a_failed_export_is_shown_in_the_dialog(qtbot, window, models, tmp_path):
    open_and_generate(qtbot, window, models.spatial_rgb, count=1, size=64)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    d = window.open_export()
    qtbot.addWidget(d)
    d.folder.setText(str(blocker / "sub"))
    export(qtbot, d)
    assert d.error and "ff8a80" in d.status.styleSheet() and str(blocker) in d.error
    # A bad template too: named field unknown.
    d.folder.setText(str(tmp_path / "ok"))
    d.template.setText("{model}_{colour}")
    export(qtbot, d)
    assert "unknown field" in d.error
    d.template.setText("")
    export(qtbot, d)
    assert d.error is None and d.result.files


def test_the_interpolation_between_a_and_b_exports_as_frames_like_the_cli(qtbot, window, models, tmp_path):
    from PySide6.QtCore import Qt  # noqa: PLC0415

    open_and_generate(qtbot, window, models.spatial_rgb, count=3, size=64)
    d = window.open_export()
    qtbot.addWidget(d)
    assert not d.use_frames.isEnabled() and not d.frame_count.isEnabled()  # nothing picked yet
    d.close()
    g = window.gallery
    g.setFocus()
    g.setCurrentRow(0)
    qtbot.keyClick(g, Qt.Key.Key_A)
    g.setCurrentRow(2)
    qtbot.keyClick(g, Qt.Key.Key_B)
    a, b = g.variations()[0].seed, g.variations()[2].seed
    d = window.open_export()
    qtbot.addWidget(d)
    assert d.use_frames.isEnabled() and d.frame_count.isEnabled() and f"seed {a} → seed {b}" in d.use_frames.text()
    d.use_frames.setChecked(True)
    d.frame_count.setValue(4)
    d.folder.setText(str(tmp_path / "gui"))
    req = d.request()
    assert req.interpolate == (a, b) and req.frames == 4
    assert f"--interpolate {a}:{b} --frames 4" in d.command.text()
    export(qtbot, d)
    assert d.error is None, d.error
    assert d.progress.value() == 4 and "Wrote 4 files" in d.status.text()
    gui = files_of(tmp_path / "gui")
    assert sorted(n for n in gui if n.endswith(".png")) == [
        f"spatial-rgb_{a}-{b}_f{i:03d}_albedo.png" for i in range(4)
    ]
    shown = shlex.split(d.command.text())
    shown[shown.index("--out") + 1] = str(tmp_path / "cli")
    assert cli_main(shown[1:]) == 0
    assert files_of(tmp_path / "cli") == gui
    # Run again, skipping what exists, and edit the form while it runs: the summary is of the
    # export that ran (its frames, its folder), not of the form as it now reads.
    d.skip_existing.setChecked(True)
    d.start()
    d.use_batch.setChecked(True)
    d.folder.setText(str(tmp_path / "elsewhere"))
    qtbot.waitUntil(lambda: not d.running, timeout=60_000)
    drain(qtbot)
    assert f"Wrote 0 files to {tmp_path / 'gui'}" in d.status.text() and "4 frames skipped" in d.status.text()


def test_a_longer_preset_description_grows_the_dialog_and_the_batch_starts_at_the_windows_seed(
    qtbot, window, models, settings
):
    """Switching to a preset whose description wraps to more lines squashed the rows below it
    (Qt leaves a word-wrapped label out of a dialog's minimum): with the app's padding, the batch
    spin boxes went from 19 to 12 px. And a batch started from seed 0 whatever seed the window was at."""
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from texgen.gui.app import style_app  # noqa: PLC0415

    app = QApplication.instance()
    sheet, palette, style = app.styleSheet(), app.palette(), app.style().name()
    style_app(app)
    try:
        settings.set("export/preset_heightmap", "png")
        open_and_generate(qtbot, window, models.spatial_height, count=1, size=64)
        window.controls.seed.setValue(41)
        d = window.open_export()
        qtbot.addWidget(d)
        assert d.batch_start.value() == 41
        d.resize(620, d.minimumSizeHint().height())
        drain(qtbot)
        d.preset.setCurrentIndex(d.preset.findData("unity-terrain"))
        qtbot.waitUntil(lambda: d.height() >= d.layout().totalHeightForWidth(d.width()), timeout=5_000)
        drain(qtbot)
        for spin in (d.batch_count, d.batch_start, d.frame_count):
            assert spin.height() == spin.sizeHint().height(), (spin.height(), spin.sizeHint().height())
        d.resize(620, 100)  # nor can it be made shorter than its rows
        drain(qtbot)
        assert d.height() >= d.layout().totalHeightForWidth(d.width())
        assert d.batch_start.height() == d.batch_start.sizeHint().height()
    finally:
        app.setStyleSheet(sheet)
        app.setPalette(palette)
        app.setStyle(style)


def test_the_scale_slider_draws_larger_features_and_the_export_and_command_carry_it(qtbot, window, models, tmp_path):
    import json  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    from gui_helpers import qimage_array  # noqa: PLC0415
    from texgen.gui import imaging  # noqa: PLC0415
    from texgen.model import load_generator  # noqa: PLC0415
    from texgen.sampling import sample  # noqa: PLC0415

    c = window.controls
    c.scale.setValue(4)  # a quarter octave a step: x2
    assert c.texel_scale() == 2.0 and c.scale_value.text() == "× 2"
    open_and_generate(qtbot, window, models.spatial_rgb, count=2, size=64)
    v = window.gallery.variations()[1]
    (ref,) = sample(load_generator(models.spatial_rgb, device="cpu"), [v.seed], size=(64, 64), scale=2.0)
    assert np.array_equal(qimage_array(v.image), imaging.to_uint8(ref.img))
    drain(qtbot)
    assert "--scale 2" in window.details.command and "Scale" in window.details.text.text()
    d = window.open_export()
    qtbot.addWidget(d)
    d.preset.setCurrentIndex(d.preset.findData("png"))
    d.folder.setText(str(tmp_path / "gui"))
    assert d.request().scale == 2.0 and "--scale 2" in d.command.text()
    export(qtbot, d)
    assert d.error is None, d.error
    sidecar = json.loads(next((tmp_path / "gui").glob("*.png.json")).read_text())
    assert sidecar["scale"] == 2.0
    # A fixed-size model has no texel scale: the slider is off and back at 1.
    open_and_generate(qtbot, window, models.vector_rgb, count=1, size=None)
    assert not c.scale.isEnabled() and c.texel_scale() == 1.0 and window.state.spec.scale == 1.0


def test_the_erosion_menu_erodes_the_preview_and_the_export_and_command_carry_it(qtbot, window, models, tmp_path):
    import json  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    from texgen.erosion import DRAINAGE, erode  # noqa: PLC0415

    c = window.controls
    open_and_generate(qtbot, window, models.spatial_height, count=2, size=64)
    assert c.erosion.isEnabled() and c.erosion.currentData() is None and window.state.spec.erosion is None
    plain = {v.seed: v.img.copy() for v in window.gallery.variations()}
    c.erosion.setCurrentIndex(c.erosion.findData(DRAINAGE))
    with qtbot.waitSignal(window.state.generation_finished, timeout=30_000):
        c.go.click()
    drain(qtbot)
    assert window.state.spec.erosion == DRAINAGE
    for v in window.gallery.variations():  # each heightmap eroded as the export erodes it
        want = erode(plain[v.seed], DRAINAGE, wrap=True, seed=v.seed)
        assert np.array_equal(v.img, want) and not np.array_equal(v.img, plain[v.seed])
    shown = window.shown
    assert (
        "--erosion rivers=10,thermal=1" in window.details.command
        and "rivers 10, thermal 1" in window.details.text.text()
    )
    d = window.open_export()
    qtbot.addWidget(d)
    assert (d.rivers.value(), d.rain.value(), d.thermal.value()) == (10, 0.0, 1)  # the dialog starts with it
    d.preset.setCurrentIndex(d.preset.findData("png"))
    d.size.setCurrentIndex(d.size.findData(64))
    d.folder.setText(str(tmp_path / "gui"))
    d.use_batch.setChecked(True)
    d.batch_start.setValue(shown.seed)
    d.batch_count.setValue(1)
    assert d.request().erosion == DRAINAGE
    export(qtbot, d)
    assert d.error is None, d.error
    (png,) = (tmp_path / "gui").glob("*height*.png")
    assert json.loads(png.with_name(png.name + ".json").read_text())["erosion"]["rivers"] == 10
    written = np.asarray(Image.open(png), dtype=np.float64) / 65535
    assert np.abs(written - shown.img[..., 0]).max() <= 1 / 65535  # the file is the preview
    # A texture model is not eroded: the menu is off and back at none.
    open_and_generate(qtbot, window, models.spatial_rgb, count=1, size=64)
    assert not c.erosion.isEnabled() and c.erosion.currentData() is None and window.state.spec.erosion is None


def test_an_interpolated_heightmap_is_eroded_with_its_first_seed_and_a_texture_never(models):
    import numpy as np  # noqa: PLC0415

    from texgen.erosion import DRAINAGE, Erosion, erode  # noqa: PLC0415
    from texgen.gui.state import eroded  # noqa: PLC0415
    from texgen.model import load_generator  # noqa: PLC0415
    from texgen.sampling import interpolate  # noqa: PLC0415

    height = load_generator(models.spatial_height, device="cpu")
    (frame,) = interpolate(height, 3, 9, [0.5], size=(64, 64))
    assert frame.seed is None
    rain = Erosion(rain=0.5, thermal=1)  # droplets fall where the seed says
    assert np.array_equal(eroded(height, frame, rain, seed=3).img, erode(frame.img, rain, wrap=True, seed=3))
    assert not np.array_equal(eroded(height, frame, rain, seed=3).img, eroded(height, frame, rain, seed=4).img)
    assert eroded(height, frame, None) is frame and eroded(height, frame, Erosion()) is frame
    texture = load_generator(models.spatial_rgb, device="cpu")
    (s,) = interpolate(texture, 3, 9, [0.5], size=(64, 64))
    assert eroded(texture, s, DRAINAGE, seed=3) is s
