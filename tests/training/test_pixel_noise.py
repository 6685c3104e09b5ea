"""The spatial generator's per-pixel noise inputs (`pixel_noise`).

The noise is drawn as more channels of the latent grid, so a model with it keeps the ONNX
contract: one input, exactly periodic output, the same numbers in onnxruntime as in torch at any
grid size, and a seed still decides the whole image.
"""

import json

import numpy as np
import pytest
import torch

from generators import check_periodic_and_exact
from texgen.errors import RequestError
from trainer.config import TrainConfig, check_config
from trainer.networks import NetSpec, build_generator
from trainer.networks.spec import noise_channels


def _spec(**changes) -> NetSpec:
    base = dict(family="spatial", channels=1, latent_size=8 + noise_channels(3), resolution=32, g_width=8,
                upsamples=3, pixel_noise=True)  # fmt: skip
    base.update(changes)
    return NetSpec(**base)


def _noisy(spec: NetSpec) -> torch.nn.Module:
    """A generator whose noise strengths are not zero (a new one starts at zero)."""
    torch.manual_seed(0)
    g = build_generator(spec).eval()
    with torch.no_grad():
        for layer in g.noise:
            layer.weight.normal_(0.0, 0.5)
    return g


def test_noise_takes_four_to_the_k_channels_a_block_and_starts_silent():
    assert noise_channels(4) == 4 + 16 + 64 + 256 and noise_channels(1) == 4
    spec = _spec()
    assert spec.noise_channels == 84 and NetSpec("spatial", resolution=32).noise_channels == 0
    torch.manual_seed(0)
    g = build_generator(spec).eval()
    z = torch.randn(2, spec.latent_size, 3, 3)
    quiet = z.clone()
    quiet[:, 8:] = 0.0
    with torch.no_grad():  # at zero strength the noise channels change nothing
        torch.testing.assert_close(g(z), g(quiet), rtol=0, atol=0)


def test_a_noisy_generator_is_periodic_exports_exactly_and_its_noise_stays_local():
    spec = _spec(coarse_field=2)
    g = _noisy(spec)
    z = torch.randn(1, spec.latent_size, 5, 6)
    out = check_periodic_and_exact(g, z)
    # The finest block's noise of one cell moves that cell's pixels and their few neighbours
    # (two 3x3 convolutions after it), nothing a cell away: it is detail, not structure.
    fine = z.clone()
    fine[:, -noise_channels(3) + noise_channels(2) :, 2, 3] += 3.0
    with torch.no_grad():
        moved = (g(fine) - out).abs()[0, 0]
    assert float(moved[16:24, 24:32].max()) > 1e-2
    outside = moved.clone()
    outside[14:26, 22:34] = 0.0
    assert float(outside.max()) == 0.0


def test_pixel_noise_is_refused_outside_the_spatial_family_and_without_structured_channels():
    assert NetSpec("lanham", pixel_noise=True).problems() == ["pixel_noise is for the spatial architecture, not lanham"]
    problems = _spec(latent_size=noise_channels(3)).problems()
    assert problems == ["latent size 84 leaves no structured channels beside the 84 channels of pixel noise"]
    with pytest.raises(RequestError, match="pixel_noise is for the spatial architecture"):
        check_config(TrainConfig(data="x", architecture="lanham", pixel_noise=True))


def test_a_run_with_pixel_noise_trains_exports_and_generates_through_the_runtime(tmp_path):
    from train_helpers import Events, texture_folder, tiny

    from texgen.model import load_generator
    from texgen.sampling import sample
    from trainer.loop import train

    cfg = tiny("spatial-dcgan", texture_folder(tmp_path / "textures"), tmp_path / "runs", pixel_noise=True, steps=3)
    events = Events()
    run = train(cfg, events)
    assert events.of("done")[0]["step"] == 3
    # The metadata counts the noise as latent channels: the runtime draws them as it draws the rest.
    assert cfg.net_spec().latent_size == cfg.latent_size + noise_channels(cfg.upsamples) == 8 + 20
    gen = load_generator(run / "generator.onnx", device="cpu")
    assert gen.info.latent_size == 28
    pair = [s.img for s in sample(gen, [5, 6], size=(48, 48), batch_size=2)]
    alone = next(sample(gen, [5], size=(48, 48))).img
    assert pair[0].shape[:2] == (48, 48) and np.array_equal(pair[0], alone) and not np.array_equal(*pair)
    # Trained, the strengths have left zero: the noise is used.
    ckpt = torch.load(run / "checkpoints" / "latest.pt", map_location="cpu", weights_only=False)
    strengths = [v for k, v in ckpt["G"].items() if k.startswith("noise.") and k.endswith(".weight")]
    assert len(strengths) == cfg.upsamples and any(float(s.abs().max()) > 0 for s in strengths)
    assert json.loads((run / "config.json").read_text())["pixel_noise"] is True
