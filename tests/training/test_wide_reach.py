"""`wide_reach`: the wide critic's loss trains only the generator's first stages (the stem, then
upsampling blocks in order), and the rest answers to the first critic alone."""

import pytest
import torch

from trainer.config import TrainConfig, check_config
from trainer.networks import NetSpec, build_generator
from trainer.state import _update_reaching


def _names(g: torch.nn.Module, params: list[torch.Tensor]) -> set[str]:
    ids = {id(p) for p in params}
    return {name for name, p in g.named_parameters() if id(p) in ids}


def test_stages_run_from_the_latent_grid_and_never_hold_the_last_block():
    spec = NetSpec(family="spatial", channels=1, latent_size=8 + 84, resolution=32, g_width=8, upsamples=3,
                   num_classes=2, embed_dim=4, class_affine=True, cell_convs=1, pixel_noise=True)  # fmt: skip
    g = build_generator(spec)
    first = _names(g, g.stage_parameters(1))
    assert {n.split(".")[0] for n in first} == {"embed", "stem", "cell_convs"}
    second = _names(g, g.stage_parameters(2)) - first
    assert {".".join(n.split(".")[:2]) for n in second} == {"blocks.0", "affines.0", "affines.1", "noise.0"}
    third = _names(g, g.stage_parameters(3))
    assert not any(n.startswith(("blocks.2", "affines.4", "affines.5", "noise.2", "to_image")) for n in third)
    assert _names(g, g.stage_parameters(9)) == third  # capped: the last block is never part of a reach


def test_the_partial_loss_moves_only_the_parameters_it_reaches():
    torch.manual_seed(0)
    g = build_generator(NetSpec(family="spatial", channels=1, latent_size=4, resolution=16, g_width=4, upsamples=2))
    z = torch.randn(2, 4, 3, 3)
    a, b = torch.randn(2, 1, 12, 12), torch.randn(2, 1, 12, 12)
    reach = g.stage_parameters(1)
    out = g(z)
    whole = torch.autograd.grad((out * a).sum(), list(g.parameters()), retain_graph=True)
    part = torch.autograd.grad((out * b).sum(), list(g.parameters()), retain_graph=True)
    before = [p.detach().clone() for p in g.parameters()]
    opt = torch.optim.SGD(g.parameters(), lr=1.0)
    _update_reaching((out * a).sum(), (out * b).sum(), reach, opt, None)
    reached = {id(p) for p in reach}
    for p, p0, gw, gp in zip(g.parameters(), before, whole, part):
        expected = gw + gp if id(p) in reached else gw
        torch.testing.assert_close(p0 - p.detach(), expected)


@pytest.mark.parametrize("reach", [0, 1])
def test_in_training_a_different_wide_critic_changes_only_the_stages_it_reaches(tmp_path, reach):
    """Two runs alike but for their wide critic's weights: after one step the generator's
    gradients differ in the stem and, unless wide_reach keeps it out, in the last block too."""
    from train_helpers import texture_folder, tiny

    from trainer.data import open_dataset
    from trainer.distributed import Dist
    from trainer.state import make_state, train_step

    data_dir = texture_folder(tmp_path / "textures")
    cfg = tiny("spatial-dcgan", data_dir, tmp_path / "runs", wide_critic=2, spatial_margin=6, crops_per_image=2,
               wide_reach=reach, n_critic=1)  # fmt: skip
    check_config(cfg)
    data = open_dataset(cfg.data, kind=cfg.kind, channels=cfg.channels, crop=cfg.crop, scale=cfg.scale)
    runs = []
    for other in (False, True):
        s = make_state(cfg, data, torch.device("cpu"), Dist())
        if other:
            with torch.no_grad():
                for p in s.D.wide.parameters():
                    p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(7)) * 0.5)
        runs.append(s)
    rng = torch.get_rng_state()
    grads = []
    for s in runs:
        torch.set_rng_state(rng)
        train_step(s)
        grads.append({n: p.grad.clone() for n, p in s.G.named_parameters()})
    same = {n for n in grads[0] if torch.equal(grads[0][n], grads[1][n])}
    assert "stem.weight" not in same
    last = {n for n in grads[0] if n.startswith(f"blocks.{cfg.upsamples - 1}.")}
    assert last and (last <= same if reach else not last & same)


def test_bad_wide_reach_names_the_fix():
    from train_helpers import spatial_config_problems as problems

    assert "wide_reach limits a wide critic, and there is none (set wide_critic=2 or 4" in problems(wide_reach=1)
    wide = dict(crop=32, wide_critic=2, spatial_margin=2)
    assert "wide_reach 5 is not between 0 (every layer) and 4" in problems(wide_reach=5, **wide)
    assert "wide_reach -1 is not between 0" in problems(wide_reach=-1, **wide)
    check_config(TrainConfig(data="x", architecture="spatial", wide_reach=4, **wide))


def test_wide_weight_scales_the_wide_critics_part_of_the_generators_gradient(tmp_path):
    """The generator's gradient is the first critic's part plus wide_weight times the wide
    critic's: from one state and draw, weights 1, 0.5 and 0.25 give gradients in a line."""
    from train_helpers import texture_folder, tiny

    from trainer.data import open_dataset
    from trainer.distributed import Dist
    from trainer.state import make_state, train_step

    data_dir = texture_folder(tmp_path / "textures")
    grads = []
    for weight in (1.0, 0.5, 0.25):
        cfg = tiny("spatial-dcgan", data_dir, tmp_path / "runs", wide_critic=2, spatial_margin=6, crops_per_image=2,
                   n_critic=1, wide_weight=weight)  # fmt: skip
        check_config(cfg)
        data = open_dataset(cfg.data, kind=cfg.kind, channels=cfg.channels, crop=cfg.crop, scale=cfg.scale)
        torch.manual_seed(3)
        s = make_state(cfg, data, torch.device("cpu"), Dist())
        torch.manual_seed(4)
        train_step(s)
        grads.append(torch.cat([p.grad.flatten() for p in s.G.parameters()]))
    wide_half = grads[0] - grads[1]  # half the wide critic's part
    assert wide_half.abs().max() > 0
    first = 2 * grads[1] - grads[0]  # at weight 0: the first critic's part, which the weight leaves alone
    assert first.abs().max() > 0.1 * grads[0].abs().max()
    torch.testing.assert_close(
        wide_half, 2 * (grads[1] - grads[2]), rtol=1e-3, atol=1e-5 * wide_half.abs().max().item()
    )


def test_bad_wide_weight_names_the_fix():
    from train_helpers import spatial_config_problems as problems

    assert "wide_weight weighs a wide critic, and there is none (set wide_critic=2 or 4" in problems(wide_weight=0.5)
    wide = dict(crop=32, wide_critic=2, spatial_margin=2)
    assert "wide_weight is 0.0, expected a positive weight such as 0.5" in problems(wide_weight=0.0, **wide)
    assert "wide_weight is nan" in problems(wide_weight=float("nan"), **wide)
    check_config(TrainConfig(data="x", architecture="spatial", wide_weight=0.25, **wide))
