"""The patch sliced-Wasserstein loss (trainer/losses.py patch_swd): the generator's extra term
that holds its patch statistics to the real crops' at every scale of a Laplacian pyramid."""

import numpy as np
import pytest
import torch

from texgen.errors import RequestError
from train_helpers import descend
from trainer.config import TrainConfig, check_config
from trainer.losses import _laplacian_levels, patch_swd
from trainer.metrics.sliced_wasserstein import laplacian_pyramid


def _stripes(n: int, size: int, period: float, seed: int) -> torch.Tensor:
    """Random-phase sine stripes of one period, in [-1, 1]: one 'texture' per period."""
    g = torch.Generator().manual_seed(seed)
    phase = torch.rand(n, 1, 1, 1, generator=g) * 2 * np.pi
    x = torch.arange(size, dtype=torch.float32).view(1, 1, 1, size)
    return torch.sin(2 * np.pi * x / period + phase).expand(n, 1, size, size).clone()


def test_its_pyramid_is_the_measure_s_pyramid():
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    ours = _laplacian_levels(x, 16)
    theirs = laplacian_pyramid(x.numpy(), 3)
    assert [t.shape[-1] for t in ours] == [64, 32, 16]
    # The same binomial blur and levels; the borders differ (reflect here), so compare interiors.
    for a, b in zip(ours, theirs):
        s = a.shape[-1]
        np.testing.assert_allclose(a.numpy()[..., 4 : s - 4, 4 : s - 4], b[..., 4 : s - 4, 4 : s - 4], atol=1e-5)


def test_it_is_small_between_draws_of_one_texture_and_large_between_two():
    torch.manual_seed(0)
    same = patch_swd(_stripes(16, 64, 8, 0), _stripes(16, 64, 8, 1)).item()
    other = patch_swd(_stripes(16, 64, 8, 0), _stripes(16, 64, 21, 1)).item()
    flat = patch_swd(_stripes(16, 64, 8, 0), torch.zeros(16, 1, 64, 64)).item()
    assert same < 0.2 * other and same < 0.2 * flat


def test_descending_it_moves_noise_towards_the_texture_at_every_scale():
    torch.manual_seed(0)
    real = _stripes(8, 64, 16, 0)
    x = (torch.rand(8, 1, 64, 64) * 2 - 1).requires_grad_(True)
    start = patch_swd(real, x).item()
    descend(lambda y: patch_swd(real, y), x, lr=0.05, steps=150)
    assert patch_swd(real, x).item() < 0.4 * start
    assert real.grad is None  # the real crops are a target, never trained


def test_mismatched_batches_are_refused_with_their_shapes():
    with pytest.raises(ValueError, match=r"real crops are \(1, 32, 32\) but fake ones \(3, 32, 32\)"):
        patch_swd(torch.zeros(2, 1, 32, 32), torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match="smaller than the 7 px neighbourhood"):
        patch_swd(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4))
    # Counts may differ: the larger set is cut to the smaller's.
    assert patch_swd(torch.rand(4, 1, 32, 32), torch.rand(2, 1, 32, 32)).isfinite()


# The generator's extra losses share their weight's check and their place in the step: both are
# tested here (the spectral loss's own tests are in test_spectral_loss.py).
EXTRA_LOSSES = ("patch_swd", "spectral")


@pytest.mark.parametrize("name", EXTRA_LOSSES)
@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_a_bad_weight_names_the_fix(name, bad):
    with pytest.raises(RequestError, match=f"{name} is .*, expected 0 \\(off\\) or a positive weight"):
        check_config(TrainConfig(data="x", architecture="spatial", **{name: bad}))


@pytest.mark.parametrize("name", EXTRA_LOSSES)
@pytest.mark.parametrize("wide", [1, 2])
def test_a_run_with_the_loss_logs_it_and_it_changes_the_training(tmp_path, name, wide):
    import json

    from train_helpers import Events, texture_folder, tiny

    from trainer.checkpoint import load_checkpoint
    from trainer.loop import train

    data = texture_folder(tmp_path / "textures")
    kw = dict(wide_critic=2, spatial_margin=6, crops_per_image=2) if wide > 1 else {}
    runs = []
    for weight in (0.0, 1.0):
        cfg = tiny("spatial-dcgan", data, tmp_path / f"runs{weight}", steps=3, **{name: weight}, **kw)
        runs.append(train(cfg, Events()))
    lines = [json.loads(x) for x in (runs[1] / "stats.jsonl").read_text().splitlines()]
    logged = [x["losses"][name] for x in lines if "losses" in x]
    assert logged and all(np.isfinite(logged)) and all(v > 0 for v in logged)
    assert f"{name}=1.0" in (runs[1] / "model-card.md").read_text()  # the card's command holds the weight
    g0, g1 = (load_checkpoint(r)["G"] for r in runs)
    assert any(not torch.equal(g0[k], g1[k]) for k in g0)  # same seed, other loss: other weights
