"""The Train tab's material kind: `--kind material`, and the maps the trainer will use shown
before it starts, read as the trainer reads them (checked against trainer/data/material.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from gui_helpers import drain, settings  # noqa: F401
from texgen import materials
from texgen.gui import material_preview
from texgen.gui.training_form import TrainingForm
from texgen.gui.training_process import TrainerCommand
from train_helpers import material_folder, texture_folder


@pytest.fixture
def form(qtbot, settings, tmp_path):
    command = TrainerCommand("/nonexistent/texgen", [])  # recipes are not asked in these tests
    f = TrainingForm(settings, command)
    f._recipes_process = object()  # as if listed: no child process is started
    qtbot.addWidget(f)
    f.resize(420, 900)
    f.show()
    yield f
    drain(qtbot)


def choose(qtbot, form, folder: Path) -> material_preview.MaterialPreview:
    form.kind.setCurrentIndex(form.kind.findData("material"))
    form.folder.setText(str(folder))
    qtbot.waitUntil(lambda: form.material_maps.ready, timeout=20_000)
    drain(qtbot)
    assert form.material_maps.error is None, form.material_maps.error
    return form.material_maps.preview


def test_material_kind_trains_with_kind_material(qtbot, form, tmp_path, capsys):
    from trainer.cli import train_main  # noqa: PLC0415

    assert form.kind.findText("Material (maps)") >= 0
    assert not form.material_maps.isVisibleTo(form)  # only for materials
    data = material_folder(tmp_path / "sets")
    choose(qtbot, form, data)
    assert form.material_maps.isVisibleTo(form)
    args = form.arguments()
    assert args[args.index("--kind") + 1] == "material"
    assert "--kind material" in form.command.text()
    assert train_main([*args, "--dry-run", "--out", str(tmp_path / "runs")]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "material"
    form.save()
    assert form.settings.text("train/kind") == "material"


def test_a_map_set_is_shown_with_its_own_maps(qtbot, form, tmp_path):
    from trainer.data.material import find_sources, load_source  # noqa: PLC0415

    data = material_folder(tmp_path / "sets")  # Bricks002 and Rock001, 128 px, ambientCG names
    p = choose(qtbot, form, data)
    assert (p.name, p.photo, p.found) == ("Bricks002", False, 2)
    assert p.read == ("albedo", "height", "normal", "roughness", "ao") and p.derived == ()
    assert "Bricks002: a map set" in form.material_maps.caption.text() and "1 more material" in (
        form.material_maps.caption.text()
    )
    # The same maps the trainer reads (its 16-bit displacement too, to 16-bit precision).
    source = find_sources(data, lambda _: None)[0]
    assert source.name == "Bricks002"
    ref = load_source(source, lambda _: None)
    m = p.material
    np.testing.assert_allclose(m.albedo, ref.albedo, atol=1e-6)
    np.testing.assert_allclose(m.height, ref.height, atol=1e-6)
    np.testing.assert_allclose(m.roughness, ref.roughness, atol=1e-6)
    np.testing.assert_allclose(m.normal, ref.normal, atol=1e-5)
    # The pictures: each map under its name, none marked derived, no metallic in this set.
    shown = form.material_maps
    assert not shown.pictures["metallic"].isVisibleTo(form)
    assert shown.names["height"].text() == "height" and not shown.pictures["height"].pixmap().isNull()


def test_photos_are_shown_with_the_maps_derived_from_their_colour(qtbot, form, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    coffee = skimage.data.coffee()[:300, :400]  # a colour photo, larger than the preview's side
    Image.fromarray(coffee).save(folder / "b-coffee.jpg", quality=95)
    texture_folder(tmp_path / "photos" / "z-more")  # six more (sorted after)
    p = choose(qtbot, form, folder)
    assert (p.name, p.photo, p.found) == ("b-coffee", True, 7)
    assert p.read == ("albedo",) and p.derived == ("height", "normal", "roughness", "ao")
    assert p.material.albedo.shape == (192, 256, 3)  # at most 256 px a side
    # Derived as the trainer derives a photo's (unwrapped).
    np.testing.assert_allclose(
        p.material.height, materials.derive_from_photo(p.material.albedo, wrap=False).height, atol=1e-6
    )
    assert form.material_maps.names["roughness"].text() == "roughness (derived)"


def test_a_folder_without_images_is_said_in_the_caption(qtbot, form, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    form.kind.setCurrentIndex(form.kind.findData("material"))
    form.folder.setText(str(empty))
    qtbot.waitUntil(lambda: form.material_maps.ready, timeout=20_000)
    assert "no images in" in form.material_maps.caption.text()
    form.folder.setText(str(tmp_path / "nowhere"))
    qtbot.waitUntil(lambda: form.material_maps.ready, timeout=20_000)
    assert "does not exist" in form.material_maps.caption.text()
    # CIFAR-100 is no material source: the maps are not offered.
    form.from_cifar.setChecked(True)
    assert not form.material_maps.isVisibleTo(form)
