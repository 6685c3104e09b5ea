"""Material training data (`--kind material`): map names as ambientCG and Poly Haven give them,
map sets and photos loaded at full precision, normals that turn with every flip and quarter-turn
(checked against the normals of the turned height), and the command line end to end: two map
sets and one photo train, and every engine material preset writes what its shader reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from train_helpers import cifar_archive, material_folder, texture

from texgen import materials
from texgen.cli import main as texgen_main
from texgen.maps import normal_map
from trainer.cli import train_main
from trainer.data.imageset import ImageSet
from trainer.data.material import map_of, open_materials
from trainer.feed import BatchFeed

QUICK = ["--preset", "spatial-dcgan", "--crop", "32", "--batch", "4", "--progress", "none",
         "--set", "g_width=8", "--set", "d_width=8", "--set", "upsamples=2", "--set", "eval_samples=16",
         "--set", "threads=1", "--set", "sample_every=0", "--set", "checkpoint_every=0"]  # fmt: skip


def _quiet(_line: str) -> None:
    pass


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Rock023_1K-PNG_Color.png", "albedo"),
        ("Rock023_1K-PNG_Displacement.png", "height"),
        ("Rock023_1K-PNG_Roughness.jpg", "roughness"),
        ("Rock023_1K-PNG_AmbientOcclusion.png", "ao"),
        ("Rock023_1K-PNG_NormalGL.png", "normal"),
        ("Rock023_1K-PNG_NormalDX.png", "normal_dx"),
        ("Metal046A_2K-JPG_Metalness.jpg", "metallic"),
        ("rock_wall_08_diff_1k.png", "albedo"),
        ("rock_wall_08_disp_1k.tif", "height"),
        ("rock_wall_08_rough_1k.png", "roughness"),
        ("rock_wall_08_ao_1k.png", "ao"),
        ("rock_wall_08_nor_gl_1k.png", "normal"),
        ("rock_wall_08_nor_dx_1k.png", "normal_dx"),
        ("rock_wall_08_arm_1k.png", "arm"),
        ("rusty_metal_metal_1k.png", "metallic"),
        ("Brick Wall BaseColor.tiff", "albedo"),
        ("holiday_photo.jpg", None),
        ("north_1k.png", None),  # "nor" names a normal map only before gl/dx
    ],
)
def test_map_names_of_ambientcg_and_poly_haven(name, expected):
    assert map_of(Path(name)) == expected


def test_a_map_set_folder_loads_every_map_at_full_precision(tmp_path):
    root = material_folder(tmp_path / "mats")
    data = open_materials(root, crop=32, scale=1.0, classes=False, log=_quiet)
    assert data.channel_names == materials.layout_of(("albedo", "normal", "height", "roughness", "ao"))[0]
    assert len(data) == 2 and data.channels == 9 and data.derived_maps == []
    assert data.license.startswith("CC0")
    # The 16-bit displacement reaches the training array with its 65536 levels, not 256.
    height = Image.open(root / "Rock001" / "Rock001_1K-PNG_Displacement.png")
    assert height.mode in ("I;16", "I")
    expected = np.asarray(height, np.float64) / 65535 * 2 - 1
    rock = data.images[1]  # materials in sorted folder order: Bricks002, Rock001
    got = rock[data.channel_names.index("height")]
    assert np.abs(got - expected).max() < 1e-6
    assert len(np.unique(np.round((got + 1) / 2 * 65535))) > 1000  # more levels than 8 bits hold
    # Colour stays sRGB as stored; normals are unit vectors.
    colour = np.asarray(Image.open(root / "Rock001" / "Rock001_1K-PNG_Color.png"), np.float64) / 255 * 2 - 1
    assert np.abs(rock[:3].transpose(1, 2, 0) - colour).max() < 1e-6
    n = rock[3:6]
    assert np.allclose(np.sqrt((n * n).sum(axis=0)), 1.0, atol=1e-4)


def test_one_map_set_given_as_the_folder_itself_is_named_by_it(tmp_path):
    root = material_folder(tmp_path / "mats")
    data = open_materials(root / "Rock001", crop=32, scale=1.0, classes=False, log=_quiet)
    assert len(data) == 1 and data.description.startswith("1 map set from")
    assert data.derived_maps == []
    from trainer.data.material import find_sources  # noqa: PLC0415

    (source,) = find_sources(root / "Rock001", _quiet)
    assert source.name == "Rock001"


def test_poly_haven_set_with_packed_arm_and_directx_normals(tmp_path):
    folder = tmp_path / "phaven" / "rock_wall"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    grey = texture("gravel")[:64, :64] / 255.0
    Image.fromarray(np.round(np.stack([grey] * 3, -1) * 255).astype(np.uint8)).save(folder / "rock_wall_diff_1k.png")
    ao, rough, metal = (rng.integers(0, 256, (64, 64), dtype=np.uint8) for _ in range(3))
    Image.fromarray(np.stack([ao, rough, metal], -1)).save(folder / "rock_wall_arm_1k.png")
    gl = normal_map(grey, strength=4)  # OpenGL: green is up
    dx = gl.copy()
    dx[..., 1] = 1 - dx[..., 1]
    Image.fromarray(np.round(dx * 255).astype(np.uint8)).save(folder / "rock_wall_nor_dx_1k.png")
    data = open_materials(tmp_path / "phaven", crop=32, scale=1.0, classes=False, log=_quiet)
    names = data.channel_names
    assert names == materials.layout_of(("albedo", "normal", "height", "roughness", "ao", "metallic"))[0]
    img = data.images[0]
    for channel, packed in (("ao", ao), ("roughness", rough), ("metallic", metal)):
        assert np.abs(img[names.index(channel)] - (packed / 255 * 2 - 1)).max() < 1e-6, channel
    # Read back as OpenGL: the DirectX green was turned the right way up.
    gl_y = materials.decode_normals(np.round(gl * 255) / 255)[..., 1]
    assert np.abs(img[names.index("normal.y")] - gl_y).max() < 0.02
    assert data.derived_maps and "height" in data.derived_maps[0][1]  # no displacement: derived


def _height_and_normals(size: int = 96, strength: float = 6.0) -> np.ndarray:
    """A CHW material (albedo grey, normals of the height, height) of a smoothed real photo."""
    height = materials.blur(texture("gravel")[:size, :size] / 255.0, 1.5, wrap=False)
    height = (height - height.min()) / (height.max() - height.min())
    normals = normal_map(height, strength=strength, wrap=False)
    planes = [height] * 3 + [normals[..., i] for i in range(3)] + [height]
    return np.stack(planes).astype(np.float32) * 2 - 1


def _normals_agree_with_height(batch: np.ndarray, names: tuple[str, ...], strength: float = 6.0) -> None:
    """Every crop's normal channels equal the normals of its own (turned) height, inside it."""
    n = [names.index(f"normal.{c}") for c in "xyz"]
    turns = set()
    for crop in batch:
        expected = normal_map((crop[names.index("height")] + 1) / 2, strength=strength, wrap=False) * 2 - 1
        got = crop[n].transpose(1, 2, 0)
        assert np.abs(got - expected)[1:-1, 1:-1].max() < 1e-4
        turns.add(tuple(np.sign(np.round(got[1:-1, 1:-1, :2].mean(axis=(0, 1)), 3))))
    assert len(turns) > 1  # the crops were turned (their mean slope points different ways)


@pytest.mark.parametrize("resident", [False, True], ids=["ImageSet.batch", "BatchFeed on device"])
def test_normals_turn_with_all_eight_flips_and_quarter_turns(resident):
    names = materials.layout_of(("albedo", "normal", "height"))[0]
    data = ImageSet([_height_and_normals()], np.zeros(1, np.int64), (), "gravel", "CC0", channel_names=names)
    rng = np.random.default_rng(3)
    if resident:
        feed = BatchFeed(data, crop=40, batch=64, augment=True, device=torch.device("cpu"), rng=rng)
        assert feed.resident
        batch = feed.next()[0].numpy()
    else:
        batch = data.batch(rng, 64, 40)[0]
    _normals_agree_with_height(batch, names)


def test_normals_left_unturned_would_be_caught():
    """The oracle above fails when a crop is turned but its normals are not."""
    names = materials.layout_of(("albedo", "normal", "height"))[0]
    img = _height_and_normals()
    turned = np.rot90(img, 1, axes=(1, 2)).copy()
    with pytest.raises(AssertionError):
        _normals_agree_with_height(turned[None, :, :40, :40], names)


def test_one_photo_trains_and_its_unreal_export_has_orm(tmp_path, capsys):
    photo = tmp_path / "wall.png"
    Image.fromarray(np.asarray(Image.open(_coffee(tmp_path)))).save(photo)
    assert train_main(["--kind", "material", "--data", str(photo), "--out", str(tmp_path / "runs"),
                       "--steps", "2", *QUICK]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "derived from colour" in err
    (run,) = (tmp_path / "runs").iterdir()
    assert sorted(p.name for p in (run / "derived-maps").iterdir())[:1] == ["wall_albedo.png"]
    out = tmp_path / "unreal"
    code = texgen_main(["generate", "--model", str(run / "generator.onnx"), "--preset", "unreal-material",
                        "--size", "64", "--seeds", "1", "-o", str(out), "--device", "cpu"])  # fmt: skip
    assert code == 0
    (orm,) = out.glob("*_orm.png")
    with Image.open(orm) as im:
        assert im.mode == "RGB" and im.size == (64, 64)
        b = np.asarray(im)[..., 2]
    assert (b == 0).all()  # a photo has no metal: B is the neutral 0


def _coffee(tmp_path: Path) -> Path:
    import skimage.data  # noqa: PLC0415

    path = tmp_path / "coffee-src.png"
    Image.fromarray(skimage.data.coffee()[:160, 200:360]).save(path)
    return path


@pytest.fixture(scope="module")
def trained_material(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("matrun")
    data = material_folder(root / "data")
    code = train_main(["--kind", "material", "--data", str(data), "--out", str(root / "runs"), "--steps", "4", *QUICK])
    assert code == 0
    (run,) = (root / "runs").iterdir()
    return run / "generator.onnx"


# preset -> {word in the file name: (Pillow mode, what its channels hold)}
ENGINE_FILES = {
    "unity-urp-material": {"albedo": "RGB", "normal": "RGB", "metallic": "RGBA", "height": "I;16"},
    "unity-hdrp-material": {"albedo": "RGB", "normal": "RGB", "mask": "RGBA", "height": "I;16"},
    "unreal-material": {"albedo": "RGB", "normal": "RGB", "orm": "RGB", "height": "I;16"},
    "godot-material": {"albedo": "RGB", "normal": "RGB", "orm": "RGB", "height": "I;16"},
}


@pytest.mark.parametrize("preset", sorted(ENGINE_FILES))
def test_two_ambientcg_sets_train_and_each_engine_preset_writes_its_layout(trained_material, preset, tmp_path):
    out = tmp_path / preset
    code = texgen_main(["generate", "--model", str(trained_material), "--preset", preset, "--size", "64",
                        "--seeds", "5", "-o", str(out), "--device", "cpu"])  # fmt: skip
    assert code == 0
    pngs = {p.name: p for p in out.glob("*.png")}
    for word, mode in ENGINE_FILES[preset].items():
        (name,) = [n for n in pngs if f"_{word}" in n or n.startswith(f"{word}")]
        with Image.open(pngs[name]) as im:
            assert im.size == (64, 64) and im.mode == mode, (name, im.mode)
            pixels = np.asarray(im)
        if word == "normal":  # unit vectors, green flipped for Unreal (DirectX) only
            n = pixels / 255.0 * 2 - 1
            assert np.abs(np.sqrt((n * n).sum(-1)) - 1).max() < 0.03 and (n[..., 2] > 0).all()
        if word in ("metallic", "mask"):  # R metallic (the sets have none: 0), A smoothness
            assert (pixels[..., 0] == 0).all() and pixels[..., 3].std() > 0
        if word == "mask":  # G AO, B detail mask (1: full detail)
            assert (pixels[..., 2] == 255).all() and pixels[..., 1].std() > 0
        if word == "orm":  # R AO, G roughness, B metallic
            assert pixels[..., 0].std() > 0 and pixels[..., 1].std() > 0 and (pixels[..., 2] == 0).all()
        if word == "albedo":
            assert np.ptp(pixels.astype(int)[..., 0] - pixels[..., 2]) > 0  # colour, not grey
    (normal_sidecar,) = out.glob("*_normal.png.json")
    convention = json.loads(normal_sidecar.read_text())["normal_convention"]
    assert convention == ("directx" if preset == "unreal-material" else "opengl")


def test_the_card_names_the_maps_and_their_colour_spaces(trained_material):
    card = (trained_material.parent / "model-card.md").read_text()
    assert "| makes | material: albedo (sRGB); normal, height, roughness, ao (linear), 9 channels," in card
    assert "2 map sets from" in card


def test_unreal_normals_are_the_godot_ones_with_green_inverted(trained_material, tmp_path):
    normals = {}
    for preset in ("godot-material", "unreal-material"):
        out = tmp_path / preset
        assert texgen_main(["generate", "--model", str(trained_material), "--preset", preset, "--size", "64",
                            "--seeds", "2", "-o", str(out), "--device", "cpu"]) == 0  # fmt: skip
        (path,) = out.glob("*_normal.png")
        normals[preset] = np.asarray(Image.open(path), np.int32)
    gl, dx = normals["godot-material"], normals["unreal-material"]
    assert np.array_equal(gl[..., [0, 2]], dx[..., [0, 2]])
    assert np.abs(gl[..., 1] + dx[..., 1] - 255).max() <= 1 and gl[..., 1].std() > 2


def test_material_bad_input_is_one_line(tmp_path, capsys):
    no_colour = tmp_path / "set" / "Rock"
    no_colour.mkdir(parents=True)
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(no_colour / "Rock_1K-PNG_Roughness.png")
    code = train_main(["--kind", "material", "--data", str(tmp_path / "set"), "--out", str(tmp_path / "r"),
                       "--steps", "1", *QUICK])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("error:") == 1 and "colour map" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())
    archive = cifar_archive(tmp_path / "cifar")
    code = train_main(["--kind", "material", "--data", f"cifar100:forest@{archive}", "--out", str(tmp_path / "r"),
                       *QUICK])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and "not materials" in err
