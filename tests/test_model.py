import numpy as np
import pytest

from texgen import devices
from texgen.errors import ModelError
from texgen.model import load_generator


def test_loads_every_family(models):
    for path, kind, latent, channels in [
        (models.vector_rgb, "texture", "vector", 3),
        (models.vector_grey, "heightmap", "vector", 1),
        (models.spatial_rgb, "texture", "spatial", 3),
        (models.spatial_height, "heightmap", "spatial", 1),
    ]:
        gen = load_generator(path, device="cpu")
        assert (gen.info.kind, gen.info.latent_kind, gen.info.channels) == (kind, latent, channels)
        assert gen.device == "cpu" and gen.provider == "CPUExecutionProvider" and not gen.guesses
    cond = load_generator(models.conditional, device="cpu")
    assert cond.info.classes == ("gravel", "brick", "grass")


def test_plain_onnx_is_loaded_with_reported_guesses(models):
    gen = load_generator(models.plain_vector, device="cpu")
    assert gen.info.kind == "texture" and gen.info.native_height == 16 and gen.guesses
    spatial = load_generator(models.plain_spatial, device="cpu")
    assert spatial.info.spatial and spatial.info.pixels_per_cell == 4
    assert any("measured" in g for g in spatial.guesses)


def test_auto_falls_back_to_cpu_when_a_listed_gpu_cannot_start(models):
    gen = load_generator(models.vector_rgb, device="auto")
    if "cuda" in devices.available_devices() and gen.device == "cpu":
        # onnxruntime-gpu lists CUDA here but it cannot start: the fallback is reported.
        assert any("cuda" in n for n in gen.runtime.notes)
    assert gen.run(np.zeros((1, 8), np.float32)).shape == (1, 3, 16, 16)


def test_explicit_missing_device_is_a_clear_error(models):
    missing = [d for d in ("cuda", "directml", "coreml") if d not in devices.available_devices()]
    for device in missing:
        with pytest.raises(ModelError, match=f"device '{device}' is not available"):
            load_generator(models.vector_rgb, device=device)
    if "cuda" in devices.available_devices() and load_generator(models.vector_rgb).device == "cpu":
        with pytest.raises(ModelError, match="could not start"):
            load_generator(models.vector_rgb, device="cuda")
    with pytest.raises(ModelError, match="unknown device 'tpu'"):
        load_generator(models.vector_rgb, device="tpu")


def test_threads_setting_is_used(models):
    gen = load_generator(models.vector_rgb, device="cpu", threads=1)
    assert gen.run(np.zeros((2, 8), np.float32)).shape[0] == 2
    with pytest.raises(ModelError, match="threads"):
        load_generator(models.vector_rgb, device="cpu", threads=0)


@pytest.mark.parametrize("make,words", [
    (lambda d, m: d / "missing.onnx", "does not exist"),
    (lambda d, m: d, "is a folder"),
    (lambda d, m: _write(d / "empty.onnx", b""), "is empty"),
    (lambda d, m: _write(d / "truncated.onnx", m.spatial_rgb.read_bytes()[:300]), "not a valid ONNX model"),
    (lambda d, m: _write(d / "picture.onnx", b"\x89PNG\r\n\x1a\n" + bytes(200)), "not a valid ONNX model"),
    (lambda d, m: m.not_generator, "not a generator texgen can run"),
])
def test_bad_model_files_are_refused_with_the_fix(tmp_path, models, make, words):
    with pytest.raises(ModelError, match=words) as err:
        load_generator(make(tmp_path, models), device="cpu")
    assert "\n" not in str(err.value)


def _write(path, data):
    path.write_bytes(data)
    return path
