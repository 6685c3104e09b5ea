"""Material models in the app, with real ONNX material generators: a view per map, the lit
preview, the gallery, the cards and the export dialog; a model whose channels are not a
material layout texgen knows is still shown."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from generators import make_material
from gui_helpers import drain, open_and_generate, qimage_array, settings, user_models, window  # noqa: F401
from texgen import lighting, materials
from texgen.gui import imaging
from texgen.gui.lit_view import LitView, layout
from texgen.gui.state import make_variation
from texgen.model import load_generator
from texgen.sampling import sample
from texgen.service import normal_strength_for

FULL = ("albedo", "normal", "height", "roughness", "ao", "metallic")


@pytest.fixture(scope="module")
def material_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("materials")
    return {
        "full": make_material(d / "full-material.onnx", maps=FULL),
        "plain": make_material(d / "plain-material.onnx"),  # albedo, height, roughness, ao
    }


def grey(image) -> np.ndarray:
    a = qimage_array(image)
    return a[..., 0] if a.ndim == 3 else a  # a grey pixmap may come back as RGB


def show(qtbot, window, mode: str) -> np.ndarray:
    """Switch the preview to `mode` and return the picture it shows."""
    with qtbot.waitSignal(window.state.view_ready, timeout=10_000):
        window.set_view_mode(mode)
    drain(qtbot)
    return window.preview.pixmap().toImage()


def test_a_material_model_shows_each_map_it_makes(qtbot, window, material_models):
    open_and_generate(qtbot, window, material_models["full"], count=2, size=64)
    labels = [b.text() for b in window.viewbar.modes.buttons()]
    assert labels == ["Albedo", "Height", "Normal", "Roughness", "AO", "Metallic", "Lit"]
    gen = window.state.generator
    v = window.shown
    (ref,) = sample(gen, [v.seed], size=(64, 64))
    m = materials.split(ref.img, gen.info.channel_names)
    # The gallery, the interpolation and the preview show the albedo as its sRGB colour.
    assert np.array_equal(qimage_array(v.image), imaging.to_uint8(m.albedo))
    assert np.array_equal(qimage_array(show(qtbot, window, imaging.ALBEDO)), imaging.to_uint8(m.albedo))
    assert v.thumb.width() == imaging.THUMB
    # Normals: the model's own, encoded (n + 1) / 2 as the exporters write them.
    normal = qimage_array(show(qtbot, window, imaging.NORMAL))
    assert np.array_equal(normal, imaging.to_uint8(materials.encode_normals(m.normal)))
    assert normal.std() > 5  # a picture, not a flat colour
    # The scalar maps as grey, each its own channel.
    for mode, index in ((imaging.HEIGHT, 6), (imaging.ROUGHNESS, 7), (imaging.AO, 8), (imaging.METALLIC, 9)):
        assert gen.info.channel_names[index] == mode
        assert np.array_equal(grey(show(qtbot, window, mode)), imaging.to_uint8(ref.img[..., index])), mode
    # The tiling buttons work on a map as on a texture.
    window.set_tiles(2)
    assert window.preview.tiles == 2 and window.viewbar.tiles.button(2).isEnabled()
    # The values under the cursor name the maps.
    r = window.preview.picture_rect()
    qtbot.mouseMove(window.preview, QPoint(int(r.left() + 3), int(r.top() + 3)))
    qtbot.waitUntil(lambda: "roughness" in window.pixel.text(), timeout=10_000)
    x, y = window.preview.image_pixel(QPointF(r.left() + 3, r.top() + 3))
    assert f"roughness {m.roughness[y, x]:.3f}" in window.pixel.text() and "albedo #" in window.pixel.text()
    # The cards say which maps the model makes and their colour spaces.
    spaces = "albedo (sRGB); normal, height, roughness, ao, metallic (linear)"
    assert spaces in window.library.card.text() and spaces in window.details.text.text()
    assert "material · 6 maps · any size · tileable" in window.library.summaries[str(material_models["full"])]
    # Seven modes fit a 1000 px window: in two rows of their own above the tiling, none cut short.
    window.resize(1000, 700)
    drain(qtbot)
    bar = window.viewbar
    for b in [*bar.modes.buttons(), *bar.tiles.buttons()]:
        r = b.geometry().translated(b.parentWidget().mapTo(bar, QPoint(0, 0)))
        assert bar.rect().contains(r) and b.width() >= b.sizeHint().width(), b.text()
    tops = {b.geometry().translated(b.parentWidget().mapTo(bar, QPoint(0, 0))).top() for b in bar.modes.buttons()}
    assert len(tops) == 2


def test_a_material_without_normals_gets_them_from_its_height(qtbot, window, material_models):
    open_and_generate(qtbot, window, material_models["plain"], count=1, size=64)
    labels = [b.text() for b in window.viewbar.modes.buttons()]
    assert labels == ["Albedo", "Height", "Normal", "Roughness", "AO", "Lit"]  # no metallic made
    v = window.shown
    height = v.img[..., 3]
    strength = normal_strength_for("material", (64, 64))
    normal = qimage_array(show(qtbot, window, imaging.NORMAL))
    expected = materials.encode_normals(materials.Material(v.img[..., :3], height).normals(strength, True))
    assert np.array_equal(normal, imaging.to_uint8(expected))
    assert "normal view is derived from the height" in window.details.text.text()


def test_the_lit_view_renders_and_follows_the_light(qtbot, window, material_models):
    open_and_generate(qtbot, window, material_models["full"], count=1, size=64)
    window.set_view_mode(imaging.LIT)
    lit = window.lit
    assert window.stack.currentWidget() is lit and "software" in lit.toolTip()
    assert not window.viewbar.tiles.button(2).isEnabled()  # the plane has its own copies
    qtbot.waitUntil(lit.is_current, timeout=20_000)
    first = qimage_array(lit.image())
    assert first.std() > 5
    # The light moves with its slider: a new picture, from the kept surfaces.
    kept = lit._surfaces[1]
    lit.azimuth.setValue(120)
    assert lit.light.azimuth == 120
    qtbot.waitUntil(lit.is_current, timeout=20_000)
    moved = qimage_array(lit.image())
    assert np.abs(moved.astype(int) - first).mean() > 1 and lit._surfaces[1] is kept
    # ... and with a drag on the picture.
    centre = lit.picture.rect().center()
    qtbot.mousePress(lit.picture, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(lit.picture, centre + QPoint(40, 20))
    qtbot.mouseRelease(lit.picture, Qt.MouseButton.LeftButton, pos=centre + QPoint(40, 20))
    assert lit.light.azimuth != 120 and lit.light.elevation < 45
    qtbot.waitUntil(lit.is_current, timeout=20_000)
    # The plane from above: its 2 x 2 copies of a tileable model are the same picture.
    lit.plane_group.button(1).click()
    assert lit.tilt == 0
    qtbot.waitUntil(lit.is_current, timeout=20_000)
    picture = qimage_array(lit.image()).astype(int)
    (_, _, w, h), _ = layout(picture.shape[1], picture.shape[0])
    h2, w2 = h // 2, w // 2
    quads = [picture[:h2, :w2], picture[:h2, w2 : 2 * w2], picture[h2 : 2 * h2, :w2], picture[h2 : 2 * h2, w2 : 2 * w2]]
    for q in quads[1:]:
        assert np.abs(q - quads[0]).mean() < 4  # the same copy (to half a pixel, at an odd width)
    drain(qtbot)


def test_metal_and_rough_read_differently_in_the_lit_view(qtbot, material_models):
    gen = load_generator(material_models["full"], device="cpu")
    names = gen.info.channel_names
    (s,) = sample(gen, [3], size=(64, 64))
    # One colour (gold, sRGB) on flat normals (a random-weight model's normals lean every way),
    # its AO kept: as a smooth metal and as a rough paint.
    metal, rough = s.img.copy(), s.img.copy()
    for img in (metal, rough):
        img[..., :3] = (1.0, 0.78, 0.34)
        img[..., 3:6] = (0.5, 0.5, 1.0)
    metal[..., 7], metal[..., 9] = 0.15, 1.0
    rough[..., 7], rough[..., 9] = 1.0, 0.0
    pictures = []
    for img in (metal, rough):
        view = LitView()
        qtbot.addWidget(view)
        view.resize(480, 300)
        view.show()
        view.show_image(img, names, wrap=True)
        qtbot.waitUntil(view.is_current, timeout=20_000)
        pictures.append(qimage_array(view.image()).astype(int))
    a, b = pictures
    assert np.abs(a - b).mean() > 5
    # The metal's highlight on the sphere is brighter than anything on the rough sphere.
    assert a.sum(-1).max() > b.sum(-1).max() + 30
    drain(qtbot)


def test_channels_texgen_does_not_know_are_still_shown(qtbot, window, material_models):
    # A generator whose metadata names channels no texgen knows: a newer exporter, say. Its
    # checks would refuse it on opening; here the app is handed it as if they had passed.
    gen = load_generator(material_models["full"], device="cpu")
    odd = ("base.r", "base.g", "base.b", "n.x", "n.y", "n.z", "disp", "gloss", "cavity", "metal")
    info = copy.copy(gen.info)
    object.__setattr__(info, "channel_names", odd)
    gen.info = info
    note = imaging.layout_note(odd, 10)
    assert note and "not a material layout texgen knows" in note
    window.state.generator = gen
    with qtbot.waitSignal(window.state.generation_finished, timeout=30_000):
        window.state.model_loaded.emit(gen)
    drain(qtbot)
    assert window.gallery.count() > 0
    assert [b.text() for b in window.viewbar.modes.buttons()] == ["Colour"]
    # Said in plain words in the status bar (after the generation's own line) and the details.
    assert "not a material layout texgen knows" in window.status_text.text()
    assert "not a material layout texgen knows" in window.details.text.text()
    v = window.shown
    assert np.array_equal(qimage_array(v.image), imaging.to_uint8(v.img[..., :3]))
    assert np.array_equal(qimage_array(window.preview.pixmap().toImage()), imaging.to_uint8(v.img[..., :3]))
    assert "disp" in imaging.describe_pixel(v.img, 0, 0, odd)
    assert "base.r" in imaging.describe_maps(odd, info.channel_spaces)
    # Every picture the app can ask of it is made, none raises.
    for mode in (imaging.COLOUR, imaging.ALBEDO, imaging.NORMAL, imaging.HEIGHT, imaging.HILLSHADE):
        assert not imaging.render_view(v.img, imaging.ViewSettings(mode), True, odd).isNull()
    assert imaging.lit_material(v.img, odd).albedo.shape == (*v.img.shape[:2], 3)
    two = make_variation(v.sample, names=("a", "b"))  # names that do not even match the channels
    assert two.image.width() == v.img.shape[1]


def test_a_colour_texture_is_lit_with_maps_derived_from_its_colour(qtbot, window, models):
    open_and_generate(qtbot, window, models.spatial_rgb, count=1, size=64)
    assert imaging.LIT in [b.property("mode") for b in window.viewbar.modes.buttons()]
    window.set_view_mode(imaging.LIT)
    qtbot.waitUntil(window.lit.is_current, timeout=20_000)
    derived = materials.derive_from_photo(window.shown.img)
    assert np.array_equal(imaging.lit_material(window.shown.img).roughness, derived.roughness)
    # Back to a heightmap: no lit view offered, the height shown.
    open_and_generate(qtbot, window, models.spatial_height, count=1, size=64)
    assert window.view_mode == imaging.GREY and window.stack.currentWidget() is window.preview


def test_export_dialog_offers_a_materials_maps(qtbot, window, material_models, models):
    open_and_generate(qtbot, window, material_models["full"], count=1, size=64)
    d = window.open_export()
    qtbot.addWidget(d)
    d.preset.setCurrentIndex(d.preset.findData("png"))
    ticked = [m for m, box in d.maps.items() if box.isChecked()]
    # What `texgen generate --preset png` writes for this model: every map it makes.
    assert ticked == ["albedo", "height", "normal", "roughness", "ao", "metallic"]
    assert d.request().maps is None
    d.maps["metallic"].setChecked(False)
    assert d.request().maps == ("albedo", "height", "normal", "roughness", "ao")
    d.close()
    open_and_generate(qtbot, window, models.spatial_height, count=1, size=64)
    d = window.open_export()
    qtbot.addWidget(d)
    assert not d.maps["roughness"].isEnabled() and not d.maps["orm"].isEnabled()  # no material maps
    d.close()


def test_lit_scene_layout_and_plane_from_above_match_the_core_renderer(qapp):
    from texgen.gui.lit_view import Scene, render_scene  # noqa: PLC0415

    (px, py, pw, ph), (sx, sy, side) = layout(400, 200)
    assert (px, py, ph) == (0, 0, 200) and pw + side <= 400 and sy + side <= 200
    rng = np.random.default_rng(1)
    height = materials.blur(rng.random((32, 32)), 2.0)
    height = (height - height.min()) / np.ptp(height)
    img = np.stack([height, height, 1 - height, height], axis=-1).astype(np.float32)
    names = ("albedo.r", "albedo.g", "albedo.b", "height")
    scene = Scene("k", 400, 200, 0.0, 2.0)
    light = lighting.Light(azimuth=200, elevation=35)
    _, canvas = render_scene(img, names, True, scene, light)
    m = materials.split(img, names)
    plane = lighting.render_plane(m, (ph, pw), light, repeats=2, tilt=0.0, normal_strength=2.0)
    assert np.array_equal(canvas[:, :pw], plane)


def test_the_screenshots_stand_in_material_model_makes_the_maps_of_its_photo(tmp_path):
    from texgen.gui.screenshots import CROP, photo_material  # noqa: PLC0415
    from train_helpers import material_folder  # noqa: PLC0415

    sets = material_folder(tmp_path / "sets", size=CROP)
    path = photo_material(sets / "Rock001", tmp_path / "models")
    gen = load_generator(path, device="cpu")
    info = gen.info
    assert (info.kind, info.name, info.native_width) == ("material", "Rock001-photo", CROP)
    assert "stand-in for a trained material model" in info.description
    assert imaging.material_maps(info.channel_names) == ("albedo", "normal", "height", "roughness", "ao")
    (s,) = sample(gen, [5], seamless=False)
    m = materials.split(s.img, info.channel_names)
    from texgen.gui.material_preview import preview_material  # noqa: PLC0415

    ref = preview_material(sets / "Rock001", side=2 * CROP).material
    np.testing.assert_allclose(m.albedo, ref.albedo, atol=1e-5)  # the crop is the whole 256 px set
    np.testing.assert_allclose(m.roughness, ref.roughness, atol=1e-5)
