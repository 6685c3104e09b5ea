"""Global latent channels (`global_channels`, PSGAN's global dimensions): the first channels of a
spatial latent grid are one draw per image, the same in every cell, in training and in the
runtime alike; the exported model says how many, and a texgen that could not draw them so
refuses it."""

import numpy as np
import onnx
import pytest
import torch

from texgen.errors import ModelError, RequestError
from texgen.latents import latent_for_seed
from texgen.metadata import GeneratorInfo, info_from_props, info_to_props
from trainer.config import TrainConfig, check_config
from trainer.networks import NetSpec
from trainer.state import spatial_latents


def test_global_channels_are_one_draw_per_image_in_training_and_in_the_runtime():
    spec = NetSpec("spatial", latent_size=8, resolution=32, upsamples=2, global_channels=3)
    z = spatial_latents(spec, 4, 5, generator=torch.Generator().manual_seed(0))
    assert z.shape == (4, 8, 5, 5)
    whole = z[:, :3]
    assert torch.equal(whole, whole[:, :, :1, :1].expand_as(whole))  # the same in every cell
    assert len({round(float(v), 6) for v in whole[:, 0, 0, 0]}) == 4  # and another for each image
    assert float(z[:, 3:].std(dim=(2, 3)).min()) > 0.1  # the rest varies from cell to cell
    a = latent_for_seed(7, (8, 4, 6), 3)
    assert a.dtype == np.float32 and np.array_equal(a[:3], np.broadcast_to(a[:3, :1, :1], (3, 4, 6)))
    np.testing.assert_array_equal(a[3:], latent_for_seed(7, (8, 4, 6))[3:])  # the grid as without them
    np.testing.assert_array_equal(a, latent_for_seed(7, (8, 4, 6), 3))  # a seed decides them
    np.testing.assert_array_equal(latent_for_seed(7, (8, 32, 16), 3)[:3, 0, 0], a[:3, 0, 0])  # at any size
    assert not np.array_equal(a[:3, 0, 0], latent_for_seed(8, (8, 4, 6), 3)[:3, 0, 0])


def test_global_channels_are_refused_where_they_mean_nothing():
    assert NetSpec("lanham", global_channels=2).problems() == [
        "global_channels is for the spatial architecture, not lanham"
    ]
    assert NetSpec("spatial", latent_size=8, global_channels=8).problems() == [
        "global_channels 8 is not between 0 (none) and the 7 that leave the grid one channel of its own"
    ]
    assert NetSpec("spatial", latent_size=8, global_channels=-1).problems() == [
        "global_channels -1 is not between 0 (none) and the 7 that leave the grid one channel of its own"
    ]
    assert NetSpec("lanham", pixel_noise=True).problems() == ["pixel_noise is for the spatial architecture, not lanham"]
    with pytest.raises(RequestError, match="global_channels is for the spatial architecture"):
        check_config(TrainConfig(data="x", architecture="lanham", global_channels=2))
    with pytest.raises(ModelError, match="global_channels is for spatial latents"):
        GeneratorInfo(name="v", latent_kind="vector", global_channels=2)
    with pytest.raises(ModelError, match="global_channels is 8, expected 0 to 7"):
        GeneratorInfo(name="s", latent_kind="spatial", latent_size=8, pixels_per_cell=4, global_channels=8)


def test_a_model_with_global_channels_is_written_as_schema_2_which_an_older_texgen_refuses(monkeypatch):
    info = GeneratorInfo(name="s", latent_kind="spatial", latent_size=8, pixels_per_cell=4, global_channels=3)
    props = info_to_props(info)
    assert props["texgen.schema_version"] == "2" and props["texgen.global_channels"] == "3"
    assert info_from_props(props).global_channels == 3
    plain = info_to_props(GeneratorInfo(name="p", latent_kind="spatial", latent_size=8, pixels_per_cell=4))
    assert plain["texgen.schema_version"] == "1"  # without them, every texgen reads it
    import texgen.metadata as metadata  # noqa: PLC0415

    monkeypatch.setattr(metadata, "SCHEMA_VERSION", 1)  # the texgen before global channels
    with pytest.raises(ModelError, match="schema version 2 is newer than this texgen understands"):
        info_from_props(props)


def test_a_run_with_global_channels_exports_them_and_the_runtime_draws_them_as_training_did(tmp_path, capsys):
    from train_helpers import Events, texture_folder, tiny  # noqa: PLC0415

    from texgen.model import load_generator  # noqa: PLC0415
    from texgen.sampling import sample  # noqa: PLC0415
    from texgen.tiling import TilePolicy  # noqa: PLC0415
    from trainer.checkpoint import load_checkpoint  # noqa: PLC0415
    from trainer.loop import train  # noqa: PLC0415
    from trainer.networks import build_generator  # noqa: PLC0415

    cfg = tiny("spatial-dcgan", texture_folder(tmp_path / "textures"), tmp_path / "runs", global_channels=4, steps=3)
    run = train(cfg, Events())
    model = onnx.load(run / "generator.onnx")
    props = {p.key: p.value for p in model.metadata_props}
    assert props["texgen.global_channels"] == "4" and props["texgen.schema_version"] == "2"
    gen = load_generator(run / "generator.onnx", device="cpu")
    assert gen.info.global_channels == 4
    assert "spatial latent of 8, the first 4 global (one draw per image) |" in (run / "model-card.md").read_text()
    from texgen.cli import main  # noqa: PLC0415

    assert main(["info", str(run / "generator.onnx"), "--device", "cpu"]) == 0
    assert "the first 4 one draw per image, the same in every cell" in capsys.readouterr().out
    # The runtime's image of seed 5 is what the trained generator makes of that seed's latent,
    # its first four channels the same in every cell: drawn as in training.
    img = next(sample(gen, [5], size=(48, 48))).img
    ckpt = load_checkpoint(run / "checkpoints" / "latest.pt")
    g = build_generator(ckpt["config"].net_spec()).eval()
    g.load_state_dict(ckpt.get("G_ema") or ckpt["G"])  # what the export took
    z = torch.from_numpy(latent_for_seed(5, gen.latent_shape(48, 48), 4))[None]
    with torch.no_grad():
        want = (g(z)[0].permute(1, 2, 0).numpy() + 1) / 2
    np.testing.assert_allclose(img, want, atol=1e-4)
    # Made in tiles, the image is the same: every tile's slice of the grid carries the same values.
    tiled = load_generator(run / "generator.onnx", device="cpu", tiles=TilePolicy(pixels=32 * 32, side=16))
    np.testing.assert_allclose(next(sample(tiled, [5], size=(96, 96))).img, next(sample(gen, [5], size=(96, 96))).img,
                               atol=1e-5)  # fmt: skip
