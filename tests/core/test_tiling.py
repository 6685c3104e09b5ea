"""Large spatial images run in tiles (texgen.tiling): the same pixels as one whole run,
for wrapping and zero-padded generators, conditional ones too; a generator whose pixels depend
on far latents is never tiled. Shrunk here: tiles of 8 cells above 64 x 64 px."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import generators
from texgen.metadata import GeneratorInfo
from texgen.model import load_generator
from texgen.tiling import TilePolicy, Tiling
from texgen.sampling import sample


SMALL = TilePolicy(pixels=64 * 64, side=32)  # tiles of 8 cells of 4 px above 64 x 64 px


def _whole_and_tiled(path, seeds=(3, 4), size=(200, 264), **kw):
    """Images of `seeds` made whole, then by a fresh generator in tiles; and that generator."""
    whole = [s.img for s in sample(load_generator(path, device="cpu"), list(seeds), size=size, **kw)]
    gen = load_generator(path, device="cpu", tiles=SMALL)
    tiled = [s.img for s in sample(gen, list(seeds), size=size, **kw)]
    return whole, tiled, gen


def _export(module: nn.Module, path, *, tileable: bool):
    info = GeneratorInfo(name=path.stem, kind="texture", channels=3, latent_kind="spatial", latent_size=4,
                         native_height=32, native_width=32, pixels_per_cell=4, tileable=tileable)  # fmt: skip
    return generators.export(module, path, info, spatial=True, conditional=False, z=4)


class _ZeroPadded(nn.Module):
    """Like generators.SpatialGen with zero padding: its borders are the image's own."""

    def __init__(self, global_mean: bool = False) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.global_mean = global_mean
        self.conv0, self.conv1, self.conv2 = (
            nn.Conv2d(4, 16, 3, padding=1),
            nn.Conv2d(16, 16, 3, padding=1),
            nn.Conv2d(16, 3, 3, padding=1),
        )

    def forward(self, z):
        x = torch.relu(self.conv0(z))
        if self.global_mean:  # every pixel depends on every latent: cannot be tiled
            x = x - x.mean(dim=(2, 3), keepdim=True)
        x = torch.relu(self.conv1(nn.functional.interpolate(x, scale_factor=2, mode="nearest")))
        return torch.tanh(self.conv2(nn.functional.interpolate(x, scale_factor=2, mode="nearest")))


def test_a_wrapping_generator_in_tiles_makes_the_whole_runs_pixels(models):
    whole, tiled, gen = _whole_and_tiled(models.spatial_rgb)
    assert gen.tiling == Tiling(margin=2, wrap=True)  # its pixels see 1.75 cells around them
    for a, b in zip(whole, tiled):
        assert a.shape == b.shape == (200, 264, 3)
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5)
    # A grid that is no multiple of the tile, and a conditional generator, in tiles too.
    whole, tiled, gen = _whole_and_tiled(models.conditional, seeds=(7,), size=(132, 68), label="brick")
    assert gen.tiling is not None and gen.tiling.wrap
    np.testing.assert_allclose(tiled[0], whole[0], rtol=0, atol=1e-5)


def test_images_up_to_the_tile_threshold_run_whole(models):
    gen = load_generator(models.spatial_rgb, device="cpu", tiles=SMALL)
    next(sample(gen, [0], size=(64, 64)))
    assert gen.tiling is False  # not even probed: 64 x 64 px is not above the threshold


def test_a_zero_padded_generator_is_tiled_without_wrapping_and_a_global_one_not_at_all(tmp_path):
    local = _export(_ZeroPadded(), tmp_path / "local.onnx", tileable=False)
    whole, tiled, gen = _whole_and_tiled(local, seamless=False)
    assert gen.tiling == Tiling(margin=2, wrap=False)
    np.testing.assert_allclose(tiled[0], whole[0], rtol=0, atol=1e-5)
    spread = _export(_ZeroPadded(global_mean=True), tmp_path / "global.onnx", tileable=False)
    whole, tiled, gen = _whole_and_tiled(spread, seamless=False)
    assert gen.tiling is None  # the probe finds no margin that gives the whole run's pixels
    np.testing.assert_array_equal(tiled[0], whole[0])


def test_a_wrapping_generator_said_not_to_wrap_is_tiled_as_it_really_runs(models):
    """A plain ONNX file is taken for a non-tileable model; the probe tries its edges both ways."""
    whole, tiled, gen = _whole_and_tiled(models.plain_spatial, seamless=False)
    assert not gen.info.tileable and gen.tiling == Tiling(margin=2, wrap=True)
    np.testing.assert_allclose(tiled[0], whole[0], rtol=0, atol=1e-5)


def test_a_cancel_is_heard_between_the_tiles_of_one_big_image(models):
    """An 8192 px image is 64 tiles, minutes on a CPU: Cancel (the app's, or Ctrl-C in an
    export) no longer waits for the whole image."""
    gen = load_generator(models.spatial_rgb, device="cpu", tiles=SMALL)
    tiles, asked = [], []

    def cancel_after_three_tiles():
        asked.append(1)
        return len(tiles) >= 3

    made = sample(
        gen, [0], size=(256, 256), should_cancel=cancel_after_three_tiles, on_tile=lambda d, n: tiles.append(d)
    )
    assert list(made) == []
    assert tiles == [1, 2, 3] and len(asked) == 1 + 4  # once before the batch, then before each tile
    tiles.clear()
    (done,) = sample(gen, [0], size=(256, 256), should_cancel=lambda: False, on_tile=lambda d, n: tiles.append((d, n)))
    assert tiles == [(i, 64) for i in range(1, 65)] and done.img.shape == (256, 256, 3)


def test_big_images_are_made_one_at_a_time_whatever_the_batch_size(models):
    """A batch of 16 big images held 16 of them (and a stacked copy): tiles only pay off when
    one image at a time is in memory, so sample and interpolate hand tiled sizes over singly."""
    from texgen.sampling import interpolate  # noqa: PLC0415

    gen = load_generator(models.spatial_rgb, device="cpu", tiles=SMALL)
    calls = []
    real = gen.run
    gen.run = lambda z, labels=None, should_cancel=None, on_tile=None: (
        calls.append(len(z)) or real(z, labels, should_cancel, on_tile)
    )
    assert gen.runs_in_tiles(128, 128) and not gen.runs_in_tiles(64, 64)
    assert len(list(sample(gen, [1, 2, 3], size=(128, 128), batch_size=16))) == 3 and calls == [1, 1, 1]
    calls.clear()
    assert len(list(sample(gen, [1, 2, 3], size=(64, 64), batch_size=16))) == 3 and calls == [3]  # small: batched
    calls.clear()
    frames = interpolate(gen, 1, 2, [0.0, 0.5, 1.0], size=(128, 128))
    assert calls == [1, 1, 1] and len(frames) == 3
    (first,) = sample(gen, [1], size=(128, 128))
    np.testing.assert_array_equal(frames[0].img, first.img)  # the path's ends are the seeds' own images


class _Ramp(_ZeroPadded):
    """Local, but each pixel also depends on where it is (a CoordConv-style ramp)."""

    def forward(self, z):
        x = super().forward(z)
        ramp = torch.arange(x.shape[3], dtype=x.dtype) / x.shape[3]
        return x * 0.5 + ramp[None, None, None, :] * 0.5


class _Cylinder(nn.Module):
    """Wraps left to right only; zero-padded at the top and bottom."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(6)
        self.conv = nn.Conv2d(4, 3, 3)

    def forward(self, z):
        x = torch.cat([z[:, :, :, -1:], z, z[:, :, :, :1]], dim=3)
        x = nn.functional.pad(x, (0, 0, 1, 1))
        x = torch.tanh(self.conv(x))
        return nn.functional.interpolate(x, scale_factor=4, mode="nearest")


@pytest.mark.parametrize("module", [_Ramp, _Cylinder])
def test_generators_that_tiles_cannot_reproduce_are_not_tiled(tmp_path, module):
    """A pixel that depends on its position, or a model that wraps one way only, passed the
    locality test; tiled, they came out wrong by tenths. The probe now also runs a corner tile at
    its own shape against the whole run, and checks the wrap both ways."""
    path = _export(module(), tmp_path / "odd.onnx", tileable=False)
    whole, tiled, gen = _whole_and_tiled(path, seamless=False)
    assert gen.tiling is None
    np.testing.assert_array_equal(tiled[0], whole[0])


def test_an_image_made_in_tiles_reports_each_tile_through_generate(models, tmp_path):
    # 200 x 264 px of 4 px cells in tiles of 8 cells: 7 rows of 9 tiles, each said as it is done,
    # between the images' own progress (the failures issue: an 8193 px image ran minutes unseen).
    from texgen.service import GenerateRequest, generate

    seen, gen = [], load_generator(models.spatial_rgb, device="cpu", tiles=SMALL)
    generate(GenerateRequest(model=str(models.spatial_rgb), seeds=[3, 4], size=(200, 264), out_dir=tmp_path,
                             device="cpu"), on_progress=seen.append, generators=[gen])  # fmt: skip
    tiles = [(p.seed, p.tile) for p in seen if p.tile]
    assert tiles == [(seed, (i, 63)) for seed in (3, 4) for i in range(1, 64)]
    assert [(p.done, p.seed) for p in seen if not p.tile] == [(1, 3), (2, 4)]
