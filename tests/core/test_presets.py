"""Export presets and export_image: every preset writes what its engine reads."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from matplotlib import cbook
from PIL import Image

from png_decoder import ihdr_bytes, read_png
from texgen.errors import ExportError, RequestError
from texgen.writers import UNITY_SIZES, UNREAL_SIZES
from texgen.export import MAPS, NAME_FIELDS, export_image, format_name, planned_paths
from texgen.presets import PRESETS, ExportPreset, get_preset
from texgen.seamless import make_seamless

# What each height format looks like on disk: (suffix, PNG bit depth or None for raw).
HEIGHT_FILES = {"png16": (".png", 16), "png8": (".png", 8), "raw16": (".raw", None), "r16": (".r16", None)}


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    """A tileable RGB texture from three real photographs, 64 x 64."""
    rgb = np.stack([getattr(skimage.data, n)()[:64, :64] for n in ("gravel", "brick", "grass")], axis=-1)
    return make_seamless(rgb.astype(np.float32) / 255)


@pytest.fixture(scope="module")
def heightmap() -> np.ndarray:
    """A tileable 64 x 64 heightmap from the Jacksboro DEM, H x W x 1."""
    z = cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"][:64, :64].astype(np.float64)
    return make_seamless(((z - z.min()) / (z.max() - z.min()))[..., None].astype(np.float32))


def sidecar(path: Path) -> dict:
    return json.loads(Path(str(path) + ".json").read_text())


def no_temp_files(folder: Path) -> bool:
    return not any(p.name.endswith(".tmp") for p in folder.rglob("*"))


# --- the preset table -------------------------------------------------------------------


def test_required_presets_exist_and_are_consistent():
    required = {
        "png",
        "png16",
        "unity-texture",
        "unity-terrain",
        "unity-terrain-mac",
        "unreal-landscape",
        "unreal-texture",
        "godot-terrain",
        "godot-texture",
    }
    assert required <= set(PRESETS)
    for name, p in PRESETS.items():
        assert p.name == name and p.description
        assert p.engine in ("unity", "unreal", "godot", "generic")
        assert p.height_format in HEIGHT_FILES and p.normal_convention in ("opengl", "directx")
        for kind in ("texture", "heightmap", "material"):
            assert p.maps_for(kind) and set(p.maps_for(kind)) <= set(MAPS)
        assert "albedo" not in p.maps_for("heightmap")
        p.check_size(p.default_size, p.default_size)  # the default is always valid


def test_engine_facts():
    ut, mac = get_preset("unity-terrain"), get_preset("unity-terrain-mac")
    assert (ut.height_format, ut.byte_order, ut.flip_vertical, ut.default_size) == ("raw16", "little", True, 513)
    assert (mac.byte_order, mac.flip_vertical) == ("big", True)
    assert ut.sizes == UNITY_SIZES and ut.normal_convention == "opengl"
    ul = get_preset("unreal-landscape")
    assert ul.height_format == "png16" and ul.normal_convention == "directx" and ul.sizes is None
    assert ul.recommended_sizes == UNREAL_SIZES
    assert get_preset("unreal-landscape-r16").height_format == "r16"
    gt = get_preset("godot-terrain")
    assert gt.height_format == "r16" and gt.sizes == (65, 129, 257, 513, 1025, 2049, 4097)
    assert get_preset("unreal-texture").normal_convention == "directx"
    assert get_preset("godot-texture").normal_convention == "opengl"


def test_unknown_preset_lists_the_valid_names():
    with pytest.raises(RequestError) as err:
        get_preset("unity")
    assert "'unity'" in str(err.value) and "unity-terrain" in str(err.value) and "png16" in str(err.value)


def test_maps_for_unknown_kind():
    with pytest.raises(RequestError, match="texture"):
        get_preset("png").maps_for("voxels")


# --- sizes ------------------------------------------------------------------------------


def test_check_size_lists_the_valid_sizes():
    with pytest.raises(RequestError) as err:
        get_preset("unity-terrain").check_size(500, 500)
    assert "500" in str(err.value) and "33, 65, 129, 257, 513, 1025, 2049, 4097" in str(err.value)
    with pytest.raises(RequestError, match="65, 129"):
        get_preset("godot-terrain").check_size(33, 33)
    with pytest.raises(RequestError, match="square"):
        get_preset("unreal-landscape").check_size(505, 1009)
    get_preset("unreal-landscape").check_size(600, 600)  # not recommended, but Unreal takes it
    get_preset("png").check_size(48, 300)
    # A shared edge needs a map to share: 2 would be one pixel repeated, 1 nothing at all.
    for side in (1, 2):
        with pytest.raises(RequestError, match=f"size {side}x{side} is too small for the unreal-landscape preset"):
            get_preset("unreal-landscape").check_size(side, side)
    get_preset("unreal-landscape").check_size(3, 3)
    get_preset("png").check_size(1, 1)


def test_nearest_size():
    assert get_preset("unity-terrain").nearest_size(500, 500) == (513, 513)
    assert get_preset("unity-terrain").nearest_size(1024, 1024) == (1025, 1025)
    assert get_preset("unity-terrain").nearest_size(9000, 10) == (4097, 4097)
    assert get_preset("godot-terrain").nearest_size(32, 32) == (65, 65)
    assert get_preset("unreal-landscape").nearest_size(500, 600) == (600, 600)  # square, any size
    assert get_preset("png").nearest_size(300, 200) == (300, 200)
    for p in PRESETS.values():
        p.check_size(*p.nearest_size(300, 700))


def test_generation_size():
    assert get_preset("unity-terrain").generation_size(513, 513) == (512, 512, True)
    assert get_preset("godot-terrain").generation_size(4097, 4097) == (4096, 4096, True)
    assert get_preset("unreal-landscape").generation_size(505, 505) == (504, 504, True)
    assert get_preset("png").generation_size(300, 200) == (300, 200, False)
    with pytest.raises(RequestError):
        get_preset("unity-terrain").generation_size(512, 512)


# --- file names -------------------------------------------------------------------------


def test_format_name_fills_the_fields():
    assert format_name("{model}_{seed}_{map}", model="gravel", seed=7, map="albedo") == "gravel_7_albedo"
    fields = {"model": "cifar", "seed": 3, "map": "height", "class": "forest", "size": "513", "index": 2, "preset": "png",
              "to_seed": 9, "frame": 4}  # fmt: skip
    assert (
        format_name("{preset}-{class}-{index:03d}-{seed:05d}-{size}-{map}", **fields)
        == "png-forest-002-00003-513-height"
    )
    assert format_name("{model}_{seed}-{to_seed}_f{frame:03d}", **fields) == "cifar_3-9_f004"
    assert set(NAME_FIELDS) == set(fields)


def test_format_name_unknown_field_names_it_and_the_known_ones():
    with pytest.raises(RequestError) as err:
        format_name("{modle}_{seed}", model="m", seed=1)
    text = str(err.value)
    assert "{modle}" in text and all("{" + f + "}" in text for f in NAME_FIELDS)
    with pytest.raises(RequestError, match="unknown field"):
        format_name("{model.__class__}", model="m")
    with pytest.raises(RequestError, match="unknown field"):
        format_name("{}_{seed}", seed=1)


def test_format_name_bad_templates():
    with pytest.raises(RequestError, match="malformed"):
        format_name("{model", model="m")
    with pytest.raises(RequestError, match="no value"):
        format_name("{model}_{class}", model="m")
    with pytest.raises(RequestError, match="empty"):
        format_name("{model}", model="..")


def test_format_name_never_leaves_the_folder():
    name = format_name("{model}/{seed}", model="../../etc/passwd", seed="a\\b:c*?")
    assert "/" not in name and "\\" not in name and ":" not in name and not name.startswith(".")
    assert format_name("{model}", model="CON") == "_CON"  # a reserved device name on Windows


# --- export_image: every preset ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("kind", ["texture", "heightmap"])
def test_every_preset_writes_its_formats(tmp_path, name, kind, texture, heightmap):
    preset = PRESETS[name]
    size = preset.default_size if preset.sizes else 65
    gh, gw, extend = preset.generation_size(size, size) if preset.shared_edge else (64, 64, False)
    img = (texture if kind == "texture" else heightmap)[:gh, :gw]
    if gh > 64:  # restricted sizes (513): a larger tileable image from the 64 one
        img = np.tile(img, (gh // 64, gw // 64, 1))
    paths = export_image(
        img,
        kind=kind,
        preset=preset,
        out_dir=tmp_path,
        fields={"model": "m", "seed": 7},
        extend=extend,
        sidecar={"model": "m", "seed": 7},
    )
    out = gh + extend
    assert [sidecar(p)["map"] for p in paths] == list(preset.maps_for(kind))
    assert all(f"_{sidecar(p)['map']}." in p.name for p in paths)  # the map's word is in its file name
    for path in paths:
        facts = sidecar(path)
        assert facts["model"] == "m" and facts["seed"] == 7 and facts["preset"] == name
        assert facts["size"] == {"width": out, "height": out} and facts["texgen_version"]
        m = facts["map"]
        if m == "height":
            suffix, depth = HEIGHT_FILES[preset.height_format]
            assert path.suffix == suffix
            if depth:  # PNG height: grey of the preset's depth
                assert ihdr_bytes(path) == (out, out, depth, 0) and facts["bit_depth"] == depth
            else:  # headerless 16-bit: the length says the size
                assert path.stat().st_size == out * out * 2 and facts["header"] == "none"
                assert facts["byte_order"] == (preset.byte_order if suffix == ".raw" else "little")
        elif m in ("albedo", "normal"):
            assert ihdr_bytes(path) == (out, out, 8, 2) and path.suffix == ".png"
        elif m in ("roughness", "ao", "metallic"):
            assert ihdr_bytes(path) == (out, out, 8, 0) and facts["colour_space"] == "linear"
        elif m in ("orm", "mask", "metallic_smoothness"):
            colour_type = 2 if m == "orm" else 6  # RGB, RGBA
            assert ihdr_bytes(path) == (out, out, 8, colour_type) and facts["channel_layout"]
        else:
            assert m == "hillshade" and ihdr_bytes(path) == (out, out, 8, 0)
        if m == "normal":
            assert facts["normal_convention"] == preset.normal_convention
        assert "value_mapping" in facts or m == "hillshade"
    assert no_temp_files(tmp_path)


def test_unity_terrain_513_from_a_tileable_512(tmp_path):
    z = cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"][:256, :256].astype(np.float64)
    h = make_seamless(((z - z.min()) / (z.max() - z.min())).astype(np.float32))
    h512 = np.kron(h, np.ones((2, 2), dtype=np.float32))  # 512, still tileable
    preset = get_preset("unity-terrain")
    gh, gw, extend = preset.generation_size(513, 513)
    assert (gh, gw, extend) == (512, 512, True)
    raw, shade = export_image(
        h512[:gh, :gw],
        kind="heightmap",
        preset=preset,
        out_dir=tmp_path,
        fields={"model": "dem", "seed": 0},
        extend=extend,
    )
    data = np.fromfile(raw, dtype="<u2").reshape(513, 513)
    assert np.array_equal(data[0], data[-1]) and np.array_equal(data[:, 0], data[:, -1])  # shared edge
    expected = np.minimum(np.round(h512.astype(np.float64) * 65536), 65535)
    assert np.array_equal(data[1, :512], expected[511])  # bottom row first: file row k = image row 512 - k
    assert np.array_equal(data[512 - 100, :512], expected[100])
    px = read_png(shade).pixels[..., 0]
    assert px.shape == (513, 513) and np.array_equal(px[0], px[-1])
    facts = sidecar(raw)
    assert facts["flip_vertical"] is True and facts["byte_order"] == "little" and "65536" in facts["value_mapping"]
    assert "repeat the first" in facts["shared_edge"]


def test_mac_preset_writes_big_endian(tmp_path, heightmap):
    raw = export_image(
        np.tile(heightmap, (2, 2, 1)),
        kind="heightmap",
        preset=get_preset("unity-terrain-mac"),
        out_dir=tmp_path,
        fields={"model": "m", "seed": 1},
        extend=True,
        maps=("height",),
    )[0]
    big = np.fromfile(raw, dtype=">u2").reshape(129, 129)
    expected = np.minimum(np.round(np.tile(heightmap[..., 0], (2, 2)).astype(np.float64) * 65536), 65535)
    assert np.array_equal(big[::-1][:128, :128], expected)


def test_normal_conventions_per_engine(tmp_path, texture):
    written = {}
    for name in ("unity-texture", "unreal-texture"):
        paths = export_image(
            texture,
            kind="texture",
            preset=get_preset(name),
            out_dir=tmp_path / name,
            fields={"model": "m", "seed": 1},
            normal_strength=4.0,
        )
        written[name] = read_png(paths[1]).pixels.astype(int)
    gl, dx = written["unity-texture"], written["unreal-texture"]
    assert np.array_equal(gl[..., 0], dx[..., 0])
    assert np.abs(gl[..., 1] + dx[..., 1] - 255).max() <= 1  # green inverted (8-bit rounding)
    override = export_image(
        texture,
        kind="texture",
        preset=get_preset("unreal-texture"),
        out_dir=tmp_path / "o",
        fields={"model": "m", "seed": 1},
        normal_strength=4.0,
        normal_convention="opengl",
        maps=("normal",),
    )[0]
    assert np.array_equal(read_png(override).pixels.astype(int), gl)


def test_texture_height_is_its_luminance(tmp_path, texture):
    path = export_image(
        texture, kind="texture", preset=get_preset("png16"), out_dir=tmp_path, fields={"model": "m", "seed": 1}
    )[1]
    lum = texture.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    assert np.abs(read_png(path).pixels[..., 0] / 65535.0 - lum).max() < 1e-4
    assert sidecar(path)["height_source"].startswith("luminance")


def test_export_refuses_bad_requests_before_writing(tmp_path, texture, heightmap):
    png = get_preset("png")
    common = dict(out_dir=tmp_path / "out", fields={"model": "m", "seed": 1})
    with pytest.raises(RequestError, match="albedo"):
        export_image(heightmap, kind="heightmap", preset=png, maps=("albedo",), **common)
    with pytest.raises(RequestError, match="'specular'"):
        export_image(texture, kind="texture", preset=png, maps=("specular",), **common)
    with pytest.raises(RequestError, match="heightmap model has no material maps"):
        export_image(heightmap, kind="heightmap", preset=png, maps=("height", "orm"), **common)
    with pytest.raises(RequestError, match=r"\{map\}"):
        export_image(
            texture,
            kind="texture",
            preset=ExportPreset(name="x", description="x", name_template="{model}"),
            maps=("albedo", "normal"),
            **common,
        )
    with pytest.raises(RequestError, match="33, 65"):
        export_image(texture, kind="texture", preset=get_preset("unity-terrain"), **common)
    with pytest.raises(RequestError, match="byte order"):
        export_image(texture, kind="texture", preset=png, byte_order="middle", **common)
    assert not (tmp_path / "out").exists()


def test_failed_export_keeps_existing_files_and_leaves_no_temp(tmp_path, texture, monkeypatch):
    preset = get_preset("unity-texture")
    first = export_image(texture, kind="texture", preset=preset, out_dir=tmp_path, fields={"model": "m", "seed": 1})
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    real_save = Image.Image.save

    def fail_on_normal(self, fp, format=None, **kw):  # noqa: A002
        if self.mode == "RGB" and "normal" in Path(fp).name:
            Path(fp).write_bytes(b"\x89PNG partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, fp, format=format, **kw)

    monkeypatch.setattr(Image.Image, "save", fail_on_normal)
    with pytest.raises(ExportError, match="free disk space") as err:
        export_image(texture * 0.5, kind="texture", preset=preset, out_dir=tmp_path, fields={"model": "m", "seed": 1})
    assert str(first[1]) in str(err.value)
    assert read_png(first[1]).pixels.shape == (64, 64, 3)  # the old normal map is intact
    assert before[first[1]] == first[1].read_bytes()
    assert no_temp_files(tmp_path)


def test_planned_paths_are_the_written_paths(tmp_path, texture, heightmap):
    for name in ("unity-texture", "unreal-landscape-r16", "png16"):
        preset = get_preset(name)
        img = heightmap if preset.shared_edge else texture
        kind = "heightmap" if preset.shared_edge else "texture"
        fields = {"model": "m", "seed": 4, "index": 2, "size": "64"}
        planned = planned_paths(preset, kind, tmp_path, "{model}_{index}_{size}_{map}", fields)
        written = export_image(
            img, kind=kind, preset=preset, out_dir=tmp_path, fields=fields, template="{model}_{index}_{size}_{map}"
        )
        assert planned == written and all(p.exists() for p in written)
        assert written[0].name.startswith("m_2_64_")


def test_template_override_and_size_field(tmp_path, texture):
    paths = export_image(
        texture[:, :48],
        kind="texture",
        preset=get_preset("png"),
        out_dir=tmp_path,
        fields={"model": "m", "seed": 9},
        template="{preset}-{size}-{seed:03d}-{map}",
    )
    assert [p.name for p in paths] == ["png-48x64-009-albedo.png"]
