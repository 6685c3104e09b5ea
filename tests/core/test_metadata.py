import onnx
import pytest

from texgen.errors import ModelError
from texgen.metadata import (
    GeneratorInfo,
    TensorSpec,
    check_io,
    guess_info,
    info_from_props,
    info_to_props,
    read_metadata,
    write_metadata,
)


def test_round_trip_through_an_onnx_file(models, tmp_path):
    model = onnx.load(models.spatial_rgb)
    info = GeneratorInfo(
        name="gravel",
        latent_kind="spatial",
        latent_size=4,
        native_height=64,
        native_width=64,
        pixels_per_cell=4,
        tileable=True,
        classes=("a", "b"),
        metrics={"swd": 12.5, "seam_score": 1.01},
        training_steps=4000,
        created="2026-11-23T12:00:00Z",
    )
    write_metadata(model, info)
    model.metadata_props.add(key="producer.note", value="kept")
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    again = onnx.load(path)
    assert read_metadata(again) == info
    # Rewriting replaces texgen keys and keeps foreign ones.
    write_metadata(again, GeneratorInfo(name="other"))
    keys = [p.key for p in again.metadata_props]
    assert "producer.note" in keys and keys.count("texgen.name") == 1
    assert read_metadata(again).name == "other"


def test_strings_are_plain_and_others_json():
    props = info_to_props(GeneratorInfo(name="x", classes=("forest",), tileable=True))
    assert props["texgen.name"] == "x" and props["texgen.kind"] == "texture"
    assert props["texgen.classes"] == '["forest"]' and props["texgen.tileable"] == "true"


def test_no_texgen_keys_means_none():
    assert info_from_props({"other": "1"}) is None


@pytest.mark.parametrize(
    "key,value,words",
    [
        ("texgen.channels", "three", "texgen.channels"),
        ("texgen.channels", "2", "channels is 2"),
        ("texgen.kind", "sound", "kind 'sound'"),
        ("texgen.classes", '"forest"', "texgen.classes"),
        ("texgen.tileable", "1", "texgen.tileable"),
        ("texgen.schema_version", "99", "newer than this texgen"),
    ],
)
def test_malformed_metadata_names_the_field(key, value, words):
    props = info_to_props(GeneratorInfo(name="x"))
    props[key] = value
    with pytest.raises(ModelError, match=words) as err:
        info_from_props(props)
    assert "texgen export" in str(err.value)


def test_spatial_needs_pixels_per_cell():
    with pytest.raises(ModelError, match="pixels_per_cell"):
        GeneratorInfo(name="x", latent_kind="spatial", pixels_per_cell=0)


def _specs(z_shape, out_shape, label=False):
    inputs = [TensorSpec("z", "tensor(float)", z_shape)] + (
        [TensorSpec("label", "tensor(int64)", ("n",))] if label else []
    )
    return inputs, [TensorSpec("image", "tensor(float)", out_shape)]


def test_check_io_accepts_the_contract_and_names_mismatches():
    info = GeneratorInfo(name="x", latent_size=8, channels=3)
    check_io(info, *_specs(("n", 8), ("n", 3, 32, 32)))
    with pytest.raises(ModelError, match="8 latent|latent channels"):
        check_io(info, *_specs(("n", 5), ("n", 3, 32, 32)))
    with pytest.raises(ModelError, match="1 channels"):
        check_io(info, *_specs(("n", 8), ("n", 1, 32, 32)))
    with pytest.raises(ModelError, match="no classes"):
        check_io(info, *_specs(("n", 8), ("n", 3, 32, 32), label=True))
    cond = GeneratorInfo(name="x", latent_size=8, classes=("a",))
    with pytest.raises(ModelError, match="no int64 'label'"):
        check_io(cond, *_specs(("n", 8), ("n", 3, 32, 32)))


def test_guess_info_for_plain_onnx():
    info, guesses = guess_info("mine", *_specs(("n", 64), ("n", 1, 128, 128)))
    assert (info.kind, info.channels, info.latent_size, info.native_height) == ("heightmap", 1, 64, 128)
    assert any("heightmap" in g for g in guesses)
    assert guess_info("x", *_specs(("n", 64), ("n", 4, 8, 8))) is None  # RGBA: not a generator texgen knows
    assert guess_info("x", *_specs(("n", 64), ("n", 10))) is None


def test_seam_period_is_the_pixels_per_cell_of_spatial_models_only():
    assert GeneratorInfo(name="x", latent_kind="spatial", pixels_per_cell=16).seam_period == 16
    assert GeneratorInfo(name="x").seam_period == 1  # a vector model: every pair of lines counts
    props = info_to_props(GeneratorInfo(name="x", latent_kind="spatial", pixels_per_cell=16))
    assert props["texgen.pixels_per_cell"] == "16" and not [
        k for k in props if "seam_period" in k
    ]  # derived, not stored
