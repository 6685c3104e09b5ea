"""Materials: the channel layout in the contract, maps from a photograph, and the engine
material presets, read back byte by byte by the test suite's own PNG decoder (not Pillow, which
writes them)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import skimage.data

from generators import make_material, make_spatial
from png_decoder import read_png
from texgen import materials
from texgen.cli import main
from texgen.errors import ModelError, RequestError
from texgen.export import export_image
from texgen.metadata import GeneratorInfo, info_from_props, info_to_props
from texgen.model import load_generator
from texgen.presets import get_preset

ENGINE_PRESETS = ("unity-urp-material", "unity-hdrp-material", "unreal-material", "godot-material")


def photo() -> np.ndarray:
    """A real colour photograph, 256 x 256, values in [0, 1] (scikit-image's coffee, CC0)."""
    return skimage.data.coffee()[:256, 100:356].astype(np.float32) / 255.0


def run_generate(args: list[str], out: Path) -> SimpleNamespace:
    """`texgen generate ARGS -o OUT --device cpu` in this process: exit code and stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["generate", *args, "-o", str(out), "--device", "cpu"])
    return SimpleNamespace(code=code, err=err.getvalue())


# --- the contract ---------------------------------------------------------------------


def test_layout_order_and_colour_spaces():
    names, spaces = materials.layout_of(("roughness", "albedo", "height", "normal"))
    assert names == ("albedo.r", "albedo.g", "albedo.b", "normal.x", "normal.y", "normal.z", "height", "roughness")
    assert spaces == ("sRGB",) * 3 + ("linear",) * 5
    with pytest.raises(RequestError, match="specular"):
        materials.layout_of(("albedo", "specular"))


def test_material_metadata_round_trip_and_refusals():
    names, spaces = materials.layout_of(("albedo", "height", "roughness", "ao"))
    info = GeneratorInfo(name="m", kind="material", channels=6, channel_names=names, channel_spaces=spaces)
    back = info_from_props(info_to_props(info))
    assert back == info and back.channel_names == names
    with pytest.raises(ModelError, match="lists 6 channels, the model has 5"):
        GeneratorInfo(name="m", kind="material", channels=5, channel_names=names, channel_spaces=spaces)
    with pytest.raises(ModelError, match="albedo is sRGB"):
        GeneratorInfo(name="m", kind="material", channels=6, channel_names=names, channel_spaces=("linear",) * 6)
    with pytest.raises(ModelError, match="normal needs all of"):
        GeneratorInfo(name="m", kind="material", channels=4, channel_names=names[:3] + ("normal.x",),
                      channel_spaces=spaces[:3] + ("linear",))  # fmt: skip
    with pytest.raises(ModelError, match="materials only"):
        GeneratorInfo(name="t", kind="texture", channels=3, channel_names=names[:3], channel_spaces=spaces[:3])


def test_material_model_loads_and_splits(tmp_path):
    gen = load_generator(make_material(tmp_path / "mat.onnx", maps=("albedo", "normal", "height", "roughness")))
    assert gen.info.kind == "material" and gen.info.channels == 8
    assert gen.info.channel_spaces[:3] == ("sRGB",) * 3
    from texgen.sampling import sample

    (s,) = sample(gen, [3], size=(32, 32))
    assert s.img.shape == (32, 32, 8)
    m = materials.split(s.img, gen.info.channel_names)
    assert m.made() == ("albedo", "normal", "height", "roughness")
    np.testing.assert_allclose(np.linalg.norm(m.normal, axis=-1), 1.0, atol=1e-5)
    assert (m.normal[..., 2] > 0).all()
    assert (m.scalar("ao") == 1.0).all() and (m.scalar("metallic") == 0.0).all()


# --- maps from a photograph -----------------------------------------------------------


def test_derived_maps_shapes_and_ranges():
    m = materials.derive_from_photo(photo())
    for name in ("height", "roughness", "ao"):
        a = getattr(m, name)
        assert a.shape == (256, 256) and a.dtype == np.float32
        assert 0.0 <= a.min() and a.max() <= 1.0 and a.std() > 0.05, name
    assert m.made() == ("albedo", "height", "roughness", "ao")


def test_lighting_gradient_is_not_read_as_height():
    grey = skimage.data.gravel()[:256, :256].astype(np.float32) / 255.0
    ramp = np.linspace(0.35, 1.0, 256, dtype=np.float32)[None, :]  # light from the right
    lit = materials.linear_to_srgb(materials.srgb_to_linear(grey) * ramp)
    rgb = np.repeat(lit[..., None], 3, axis=2)
    height = materials.derive_from_photo(rgb, wrap=False).height
    columns = np.arange(256)[None, :].repeat(256, 0)
    assert abs(np.corrcoef(lit.ravel(), columns.ravel())[0, 1]) > 0.3  # the photo is brighter to the right
    assert abs(np.corrcoef(height.ravel(), columns.ravel())[0, 1]) < 0.1  # its height is not tilted


def test_ao_is_darker_in_cavities_and_roughness_follows_contrast():
    m = materials.derive_from_photo(photo())
    low, high = m.height < np.percentile(m.height, 10), m.height > np.percentile(m.height, 90)
    assert m.ao[low].mean() < m.ao[high].mean() - 0.1
    sharp = np.repeat(skimage.data.gravel()[:128, :128, None], 3, axis=2).astype(np.float32) / 255.0
    smooth = np.full_like(sharp, 0.5) + 0.01 * (sharp - 0.5)  # the same pattern, almost flat
    both = np.concatenate([sharp, smooth], axis=1)
    rough = materials.roughness_from_photo(both, wrap=False)
    assert rough[:, 8:120].mean() > rough[:, 136:248].mean() + 0.2


def test_srgb_round_trip_and_known_values():
    v = np.linspace(0, 1, 256, dtype=np.float32)
    np.testing.assert_allclose(materials.linear_to_srgb(materials.srgb_to_linear(v)), v, atol=1e-5)
    assert materials.srgb_to_linear(np.float32(0.5)) == pytest.approx(0.21404, abs=1e-4)


# --- engine presets, byte by byte -----------------------------------------------------


def _known_material() -> tuple[np.ndarray, tuple[str, ...]]:
    """A 16 x 16 material image of known constant values (albedo, normal, height, roughness, AO, metallic)."""
    names, _ = materials.layout_of(materials.MATERIAL_MAPS)
    n = np.array([0.6, -0.48, 0.64], np.float32)  # a unit normal leaning right and down the image
    values = [0.5, 0.25, 1.0, *((n + 1) / 2), 0.123456, 0.25, 0.75, 1.0]
    return np.broadcast_to(np.array(values, np.float32), (16, 16, len(names))).copy(), names


@pytest.mark.parametrize("preset", ["png", *ENGINE_PRESETS])
def test_presets_write_known_values(tmp_path, preset):
    img, names = _known_material()
    paths = export_image(img, kind="material", preset=get_preset(preset), out_dir=tmp_path,
                         fields={"model": "m", "seed": 0}, channel_names=names)  # fmt: skip
    files = {json.loads(Path(f"{p}.json").read_text())["map"]: read_png(p) for p in paths}
    px = {m: tuple(int(v) for v in png.pixels[5, 5]) for m, png in files.items()}
    assert px["albedo"] == (128, 64, 255)  # sRGB values written as they are: no gamma applied twice
    assert files["height"].bit_depth == 16 and px["height"] == (round(0.123456 * 65535),)
    green = round((-0.48 + 1) / 2 * 255)
    expected_normal = (
        round(1.6 / 2 * 255),
        255 - green if preset == "unreal-material" else green,
        round(1.64 / 2 * 255),
    )
    assert max(abs(a - b) for a, b in zip(px["normal"], expected_normal)) <= 1
    layouts = {
        "png": {"roughness": (64,), "ao": (191,)},
        "unity-urp-material": {"metallic_smoothness": (255, 0, 0, 191)},
        "unity-hdrp-material": {"mask": (255, 191, 255, 191)},
        "unreal-material": {"orm": (191, 64, 255)},
        "godot-material": {"orm": (191, 64, 255)},
    }[preset]
    for m, value in layouts.items():
        assert px[m] == value, m
        assert files[m].colour_type == {1: 0, 3: 2, 4: 6}[len(value)]


@pytest.mark.parametrize("preset", ENGINE_PRESETS)
def test_material_model_through_the_cli(tmp_path, preset):
    model = make_material(tmp_path / "mat.onnx")
    result = run_generate(["--model", str(model), "--preset", preset, "--size", "64", "--seeds", "5"], tmp_path / "out")
    assert result.code == 0, result.err
    assert "note:" in result.err and "no metallic map" in result.err and "written as 0" in result.err
    written = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    packed = {"unity-urp-material": "metallic_smoothness", "unity-hdrp-material": "mask"}.get(preset, "orm")
    assert written == sorted(f"mat_5_{m}.png" for m in ("albedo", "normal", packed, "height"))
    sidecar = json.loads((tmp_path / "out" / f"mat_5_{packed}.png.json").read_text())
    assert sidecar["filled"] == {"metallic": 0.0} and sidecar["colour_space"] == "linear"


def test_colour_texture_model_gets_derived_maps(tmp_path):
    model = make_spatial(tmp_path / "colour.onnx", channels=3)
    result = run_generate(["--model", str(model), "--preset", "unreal-material", "--size", "64", "--seeds", "1"],
                          tmp_path / "out")  # fmt: skip
    assert result.code == 0, result.err
    assert "derived from the colour" in result.err
    orm = read_png(tmp_path / "out" / "colour_1_orm.png").pixels
    assert orm[..., 0].std() > 0 and orm[..., 1].std() > 0 and (orm[..., 2] == 0).all()  # AO, roughness vary; metal 0


def test_heightmap_model_refuses_material_maps(tmp_path):
    model = make_spatial(tmp_path / "h.onnx", channels=1)
    result = run_generate(
        ["--model", str(model), "--preset", "png", "--maps", "height,orm", "--size", "64"], tmp_path / "out"
    )
    assert result.code != 0 and "error:" in result.err and "no material maps" in result.err
    assert "Traceback" not in result.err and not list((tmp_path / "out").glob("*.png"))


def test_texgen_info_names_the_maps_and_their_colour_spaces(tmp_path, capsys):
    model = make_material(tmp_path / "m.onnx", maps=("albedo", "normal", "height", "metallic"))
    assert main(["info", str(model), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "  maps        albedo (sRGB); normal, height, metallic (linear)\n" in out
