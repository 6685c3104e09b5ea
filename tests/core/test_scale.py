"""Texel scale (`--scale`): the model runs at size / scale and the image is resampled to size,
so features grow by the scale, a tileable image still tiles, and the sidecar's command repeats it."""

from __future__ import annotations

import contextlib
import io
import json
import shlex

import numpy as np
import pytest
from PIL import Image

from texgen.assets import resolve_model
from texgen.cli import main
from texgen.errors import RequestError
from texgen.model import load_generator
from texgen.resample import resize
from texgen.sampling import sample, scaled_size
from texgen.seamless import seam_score


@pytest.fixture(scope="module")
def stone():
    return load_generator(resolve_model("stone-texture"), device="cpu")


def _autocorrelation(img: np.ndarray) -> np.ndarray:
    a = img[..., 0] - img[..., 0].mean()
    ac = np.fft.irfft2(np.abs(np.fft.rfft2(a)) ** 2, s=a.shape)
    return ac / ac[0, 0]


def _correlation_length(ac: np.ndarray, level: float = 0.25) -> float:
    """Pixels (interpolated) at which a wrap-around autocorrelation first falls below `level`,
    mean of the x and y directions: the size of the features."""
    r = (ac[0, :64] + ac[:64, 0]) / 2
    i = int(np.argmax(r < level))
    return i - 1 + (r[i - 1] - level) / (r[i - 1] - r[i])


def test_scale_two_is_the_half_size_image_resampled(stone):
    half = next(sample(stone, [5], size=(128, 128))).img
    scaled = next(sample(stone, [5], size=(256, 256), scale=2.0)).img
    assert np.array_equal(scaled, resize(half, 256, 256, wrap=True))


def test_features_grow_with_the_scale_and_the_image_still_tiles(stone):
    lengths = {}
    for scale in (0.5, 1.0, 2.0, 4.0):
        images = [next(sample(stone, [s], size=(256, 256), scale=scale)).img for s in (1, 2)]
        lengths[scale] = _correlation_length(np.mean([_autocorrelation(img) for img in images], axis=0))
        assert max(seam_score(img) for img in images) < 1.5, scale  # (a crop of it, which does not tile: 1.8 to 3.7)
    assert 1.7 < lengths[2.0] / lengths[1.0] < 2.3, lengths
    assert 1.7 < lengths[4.0] / lengths[2.0] < 2.3, lengths
    assert lengths[0.5] < 0.8 * lengths[1.0], lengths  # smaller, though pixel grain blurs the ratio


def test_bad_scales_are_refused_with_the_fix(stone, models):
    with pytest.raises(RequestError, match="0.25"):
        scaled_size(stone, (256, 256), 10.0)
    with pytest.raises(RequestError, match="16384"):
        scaled_size(stone, (8192, 8192), 0.25)
    fixed = load_generator(models.vector_rgb, device="cpu")
    with pytest.raises(RequestError, match="fixed-size"):
        scaled_size(fixed, (64, 64), 2.0)
    assert scaled_size(fixed, (64, 64), 1.0) == (64, 64)


def test_the_sidecar_records_the_scale_and_its_command_repeats_the_file(tmp_path, monkeypatch):
    out = tmp_path / "first"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["generate", "-m", "stone-texture", "--seeds", "4", "--size", "96", "--scale", "1.5",
                     "--preset", "png", "-o", str(out), "--device", "cpu"]) == 0  # fmt: skip
    (png,) = out.glob("*.png")
    sidecar = json.loads(png.with_name(png.name + ".json").read_text())
    assert sidecar["scale"] == 1.5 and "--scale 1.5" in sidecar["regenerate"]
    again = tmp_path / "again"
    again.mkdir()
    monkeypatch.chdir(again)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(shlex.split(sidecar["regenerate"])[1:]) == 0
    (copy,) = (again / "textures").glob("*.png")
    assert np.array_equal(np.asarray(Image.open(copy)), np.asarray(Image.open(png)))


def test_cli_scale_on_a_fixed_size_model_is_one_error_line(tmp_path, capsys):
    code = main(["generate", "-m", "lanham-gravel-baseline", "--scale", "2", "-o", str(tmp_path), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "fixed-size" in err and "leave out --scale" in err
    assert not any(tmp_path.iterdir())


def test_a_materials_own_normals_flatten_with_the_scale_and_stay_unit_vectors():
    # Features drawn twice as large have half the slope: the bundled ground material's normal
    # channels, made at 256 px and scale 2 (the model runs at 128 px), lean half as far from
    # straight up as those it makes at 128 px, and resampling leaves them unit vectors.
    from texgen.materials import decode_normals

    gen = load_generator(resolve_model("ground-material"), device="cpu")
    xyz = [gen.info.channel_names.index(f"normal.{a}") for a in "xyz"]

    def slopes(size: int, scale: float) -> tuple[float, float]:
        imgs = [s.img for s in sample(gen, range(4), size=(size, size), scale=scale)]
        raw = np.stack([im[..., xyz] for im in imgs]) * 2.0 - 1.0
        n = decode_normals(np.stack([im[..., xyz] for im in imgs]))
        tan = np.hypot(n[..., 0], n[..., 1]) / n[..., 2]
        return float(np.median(tan)), float(np.abs(np.linalg.norm(raw, axis=-1) - 1).max())

    (flat1, _), (flat2, off2) = slopes(128, 1.0), slopes(256, 2.0)
    assert 0.45 < flat2 / flat1 < 0.55, (flat1, flat2)  # without the fix: 1.0
    assert off2 < 0.02  # unit length after Lanczos (within 8-bit-like rounding of the encoding)
