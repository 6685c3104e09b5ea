"""More convolutions at the latent cells' resolution (`cell_convs`).

They sit between the stem and the first upsampling, so a model with them keeps the ONNX
contract (one input, exactly periodic output, the same numbers in onnxruntime as in torch) and
each one widens how far a change of one latent cell reaches by one cell each way.
"""

import pytest
import torch

from generators import check_periodic_and_exact
from texgen.errors import RequestError
from trainer.config import TrainConfig, check_config
from trainer.networks import NetSpec, build_generator


def _spec(**changes) -> NetSpec:
    base = dict(family="spatial", channels=1, latent_size=8, resolution=32, g_width=8, upsamples=3)
    base.update(changes)
    return NetSpec(**base)


def _reach(spec: NetSpec) -> int:
    """How many cells away (along a row) a change of one cell's latents moves the output."""
    torch.manual_seed(0)
    g = build_generator(spec).eval()
    z = torch.randn(1, spec.latent_size, 16, 16)
    moved = z.clone()
    moved[:, :, 8, 8] += 3.0
    with torch.no_grad():
        diff = (g(moved) - g(z)).abs()[0, 0]
    cell = spec.pixels_per_cell
    per_cell = diff.reshape(16, cell, 16, cell).amax(dim=(1, 3))[8]
    return max(abs(i - 8) for i in range(16) if float(per_cell[i]) > 0.0)


def test_each_cell_convolution_reaches_one_cell_further_and_the_model_stays_periodic_and_exact():
    plain, deeper = _reach(_spec()), _reach(_spec(cell_convs=3))
    assert deeper == plain + 3
    torch.manual_seed(1)
    g = build_generator(_spec(cell_convs=2, coarse_field=2)).eval()
    check_periodic_and_exact(g, torch.randn(1, 8, 5, 6))
    # None is the generator as it was: no parameter added, none renamed.
    names = set(build_generator(_spec()).state_dict())
    assert not any(n.startswith("cell_convs.") for n in names)
    assert {n for n in build_generator(_spec(cell_convs=1)).state_dict() if n not in names} == {
        "cell_convs.0.weight",
        "cell_convs.0.bias",
    }


def test_cell_convs_are_refused_outside_the_spatial_family_and_past_eight():
    assert NetSpec("lanham", cell_convs=1).problems() == ["cell_convs is for the spatial architecture, not lanham"]
    assert _spec(cell_convs=9).problems() == ["cell_convs 9 is not between 0 (none) and 8"]
    with pytest.raises(RequestError, match="cell_convs is for the spatial architecture"):
        check_config(TrainConfig(data="x", architecture="foster", cell_convs=2))
