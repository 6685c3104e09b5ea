"""The spatial generator's coarse latent field and the several-crops-an-image feed.

The field is computed from the latent grid, so a model with it keeps the ONNX contract: same
input, exactly periodic output, the same numbers in onnxruntime as in torch at any grid size.
"""

from types import SimpleNamespace

import numpy as np
import onnxruntime as ort
import pytest
import torch

from generators import check_periodic_and_exact
from trainer.config import TrainConfig, check_config
from trainer.networks import NetSpec, build_generator
from trainer.networks.layers import CoarseField
from trainer.state import TrainingState
from texgen.errors import RequestError


def test_the_field_has_unit_variance_varies_slowly_and_wraps():
    torch.manual_seed(0)
    field = CoarseField(4)
    z = torch.randn(8, 16, 64, 64)
    c = field(z)
    assert abs(float(c.var()) - 1.0) < 0.1  # rescaled to the grid's own variance
    # Neighbouring cells nearly agree (a fine grid's neighbours are independent), and the
    # correlation has not yet died out four cells away.
    corr = lambda a, d: float((a * torch.roll(a, d, dims=3)).mean() / a.var())  # noqa: E731
    assert abs(corr(z, 1)) < 0.05 and corr(c, 1) > 0.8 and 0.1 < corr(c, 4) < 0.6
    # On a torus: rolling the grid rolls the field, and a one-cell grid is its own constant field.
    torch.testing.assert_close(field(torch.roll(z, (3, -5), dims=(2, 3))), torch.roll(c, (3, -5), dims=(2, 3)))
    one = torch.randn(1, 4, 1, 1)
    torch.testing.assert_close(field(one), one * field.gain)


def test_a_generator_with_the_field_is_periodic_and_exports_exactly_at_any_grid_size():
    torch.manual_seed(0)
    spec = NetSpec(family="spatial", channels=1, latent_size=8, resolution=32, g_width=8, upsamples=3, coarse_field=3)
    g = build_generator(spec).eval()
    z = torch.randn(1, 8, 6, 7)
    out = check_periodic_and_exact(g, z)
    # The field reaches far: changing one cell changes pixels that the plain network cannot.
    far = z.clone()
    far[:, :, 0, 0] += 3.0
    with torch.no_grad():
        moved = (g(far) - out).abs()[0, 0]
    assert float(moved[24:32, 28:36].max()) > 1e-3  # 3 cells away from the changed one


def test_the_field_is_refused_outside_the_spatial_family_and_out_of_range():
    assert NetSpec("lanham", coarse_field=2).problems() == ["coarse_field is for the spatial architecture, not lanham"]
    assert "between 0 (none) and 32" in " ".join(NetSpec("spatial", resolution=32, coarse_field=40).problems())
    with pytest.raises(RequestError, match="crops_per_image 40 is more than the batch 16"):
        check_config(TrainConfig(data="x", architecture="spatial", batch=16, crops_per_image=40))
    with pytest.raises(RequestError, match="crops_per_image is for the spatial architecture"):
        check_config(TrainConfig(data="x", architecture="lanham", crops_per_image=2))


def test_several_crops_an_image_carry_their_image_class_and_a_run_with_the_field_trains_and_exports(tmp_path):
    from train_helpers import Events, texture_folder, tiny

    from trainer.loop import train

    data = texture_folder(tmp_path / "textures", classes=True)
    cfg = tiny("spatial-dcgan", data, tmp_path / "runs", conditional=True, batch=7, spatial_margin=3,
               crops_per_image=3, coarse_field=2, steps=2)  # fmt: skip
    events = Events()
    run = train(cfg, events)
    assert events.of("done")[0]["step"] == 2
    # The feed: ceil(7 / 3) = 3 images of 4 + 3 cells (28 px at 4 px a cell), cut into 7 crops
    # of 16 px; each crop is a window of its own image and carries that image's class.
    spec = cfg.net_spec(num_classes=3)
    G = build_generator(spec).eval()
    seen = []

    def generator(z, label):
        seen.append((tuple(z.shape), label.tolist()))
        return G(z, label)

    latents = lambda n: torch.randn(n, spec.latent_size, 7, 7)  # noqa: E731
    state = SimpleNamespace(cfg=cfg, spec=spec, rng=np.random.default_rng(0), latents=latents)
    state._cut = lambda *a: TrainingState._cut(state, *a)
    state.fakes_and_wide = lambda *a: TrainingState.fakes_and_wide(state, *a)
    with torch.no_grad():
        crops, crop_label = TrainingState.fakes(state, generator, 7, torch.tensor([0, 0, 0, 1, 1, 1, 2]))
        images = G(torch.zeros(1, spec.latent_size, 7, 7), torch.tensor([0]))  # shape only
    assert seen == [((3, spec.latent_size, 7, 7), [0, 1, 2])] and images.shape[-1] == 28
    assert crops.shape == (7, cfg.channels, 16, 16) and crop_label.tolist() == [0, 0, 0, 1, 1, 1, 2]
    session = ort.InferenceSession(str(run / "generator.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "z"
