"""The wide critic: a second critic that judges crops several times the training crop, shrunk to
its size, so the generator is held to structure its first critic's crops cannot hold."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from texgen.errors import RequestError
from trainer.checkpoint import load_checkpoint
from trainer.config import TrainConfig, check_config
from trainer.networks import NetSpec, build_critic, build_generator
from trainer.networks.spatial import TwoScaleCritic


def test_each_critic_scores_its_own_side_and_the_wide_one_sees_the_crop_shrunk():
    torch.manual_seed(0)
    spec = NetSpec(family="spatial", channels=1, resolution=16, d_width=4, critic_norm="none")
    local, wide = build_critic(spec), build_critic(spec)
    critic = TwoScaleCritic(local, wide, resolution=16, factor=4).eval()
    small, large = torch.randn(3, 1, 16, 16), torch.randn(3, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(critic(small), local(small))
        torch.testing.assert_close(critic(large), wide(F.avg_pool2d(large, 4)))
        assert not torch.allclose(critic(F.avg_pool2d(large, 4)), critic(large))  # two critics, not one
    with pytest.raises(ValueError, match="a 32 px batch: this critic scores 16 px crops and 64 px ones"):
        critic(torch.randn(1, 1, 32, 32))
    names = {k.split(".")[0] for k in critic.state_dict()}
    assert names == {"local", "wide"}  # one module: one optimizer, one checkpoint entry


def test_bad_wide_critic_settings_name_the_fix():
    from train_helpers import spatial_config_problems as problems

    assert "wide_critic is 3, expected 1 (none), 2 or 4" in problems(wide_critic=3)
    # 32 px crops at 16 px a cell: 2 cells, plus a margin of 1: 48 px images, where 64 px are needed.
    assert "wide_critic 2 sees 64 px crops but the generated training images are 48 px (raise spatial_margin to at " \
           "least 2" in problems(crop=32, wide_critic=2, spatial_margin=1)  # fmt: skip
    with pytest.raises(RequestError, match="wide_critic is for the spatial architecture"):
        check_config(TrainConfig(data="x", architecture="lanham", wide_critic=2))
    check_config(TrainConfig(data="x", architecture="spatial", crop=32, wide_critic=2, spatial_margin=2))


@pytest.mark.parametrize("n_critic", [1, 2])
def test_a_run_with_a_wide_critic_trains_both_critics_and_resumes(tmp_path, n_critic):
    from train_helpers import Events, texture_folder, tiny

    from trainer.loop import train

    data = texture_folder(tmp_path / "textures")
    # 16 px crops at 4 px a cell: 4 cells and a margin of 6, 40 px images; wide crops of 32 px.
    cfg = tiny("spatial-dcgan", data, tmp_path / "runs", wide_critic=2, spatial_margin=6, crops_per_image=2,
               n_critic=n_critic, steps=2, checkpoint_every=1)  # fmt: skip
    torch.manual_seed(cfg.seed)  # the critics' first weights, drawn as make_state draws them
    spec = cfg.net_spec()
    build_generator(spec)
    first = TwoScaleCritic(build_critic(spec), build_critic(spec), 16, 2).state_dict()
    run = train(cfg, Events())
    trained = load_checkpoint(run)["D"]
    for part in ("local", "wide"):
        key = f"{part}.features.0.weight"
        assert not torch.allclose(trained[key], first[key])  # each critic was updated
    events = Events()
    train(dataclasses.replace(cfg, resume=str(run), steps=3), events)
    assert events.of("done")[0]["step"] == 3
    assert (run / "generator.onnx").is_file()


def test_data_too_small_for_the_wide_crops_is_refused_before_training(tmp_path):
    from train_helpers import Events, texture_folder, tiny

    from trainer.loop import train

    data = texture_folder(tmp_path / "textures")  # 256 px images
    cfg = tiny("spatial-dcgan", data, tmp_path / "runs", crop=128, upsamples=5, wide_critic=4, spatial_margin=12)
    with pytest.raises(RequestError, match=r"wide_critic 4 cuts 512 px crops of the data, but 6 of its images"):
        train(cfg, Events())
    assert not list((tmp_path / "runs").glob("*/checkpoints/*"))  # nothing half-made left behind


def test_the_blur_shrink_does_not_let_hatching_pass_for_large_structure():
    """Stripes 4 px apart beating slowly (0.25 + 1/32 cycles/px): a 4x box average aliases them
    into a wave 32 px long, large structure as the wide critic sees it, so a generator could
    answer that critic with hatching (runs with the box drew such patches). The binomial pyramid
    keeps a flat image flat and all but erases them, and its gradient is not one value per box."""
    spec = NetSpec(family="spatial", channels=1, resolution=16, d_width=4, critic_norm="none")
    box = TwoScaleCritic(build_critic(spec), build_critic(spec), resolution=16, factor=4)
    blur = TwoScaleCritic(build_critic(spec), build_critic(spec), resolution=16, factor=4, shrink="blur")
    rows = torch.arange(64.0).view(1, 1, 64, 1).expand(1, 1, 64, 64)
    beating = torch.cos(2 * torch.pi * (0.25 + 1 / 32) * rows)
    assert box.shrunk(beating).std() > 0.05  # a 32 px wave in the 16 px shrunk crop, 12 % of the stripes
    assert blur.shrunk(beating)[..., 2:-2, :].std() < 0.002  # away from the reflected border
    torch.testing.assert_close(blur.shrunk(torch.full((2, 3, 64, 64), 0.7)), torch.full((2, 3, 16, 16), 0.7))
    x = torch.randn(1, 1, 64, 64, requires_grad=True)
    (blur.shrunk(x) * torch.randn(1, 1, 16, 16)).sum().backward()
    block = x.grad[0, 0, 16:20, 16:20]
    assert block.std() > 0.1 * block.abs().mean()
    with pytest.raises(ValueError, match="shrink is 'lanczos', expected one of box, blur"):
        TwoScaleCritic(build_critic(spec), build_critic(spec), resolution=16, factor=4, shrink="lanczos")


def test_a_bad_wide_shrink_names_the_choices():
    with pytest.raises(RequestError, match="wide_shrink is 'gauss', expected box or blur"):
        check_config(
            TrainConfig(data="x", architecture="spatial", wide_critic=2, spatial_margin=3, wide_shrink="gauss")
        )
