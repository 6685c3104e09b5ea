"""DiffAugment: each transform does what its docstring says, gradients pass through it, the
critic sees it on real and generated images alike (the generator's step included), and a bad
policy is a settings error."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from PIL import Image
from train_helpers import texture, tiny

from texgen.errors import RequestError
from trainer.config import check_config
from trainer.diffaug import color, cutout, diff_augment, translation
from trainer.distributed import Dist
from trainer.loop import _open_data
from trainer.state import make_state, train_step

torch.set_num_threads(1)


def _images(n: int = 64, c: int = 1, side: int = 16) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(n, c, side, side) * 2 - 1


def test_empty_policy_leaves_the_batch_alone():
    x = _images()
    assert diff_augment(x, "") is x


def test_translation_shifts_each_image_by_up_to_an_eighth_and_fills_with_zero():
    x = _images(side=32)
    y = translation(x)
    shifts = set()
    for a, b in zip(x[:, 0], y[:, 0]):
        found = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5) if torch.equal(b, _shifted(a, dy, dx))]
        assert len(found) >= 1, "an output is not a shift of its input by at most 4 px"
        shifts.add(found[0])
    assert len(shifts) > 10  # drawn per image


def _shifted(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """out[y, x] = img[y + dy, x + dx], zero outside."""
    h, w = img.shape
    out = torch.zeros_like(img)
    ys, xs = slice(max(0, -dy), min(h, h - dy)), slice(max(0, -dx), min(w, w - dx))
    out[ys, xs] = img[max(0, dy) : min(h, h + dy), max(0, dx) : min(w, w + dx)]
    return out


def test_cutout_zeroes_one_square_of_half_the_side_clipped_to_the_image():
    x = _images(n=400, side=16) + 3.0  # no zeros of its own
    y = cutout(x)
    for a, b in zip(x[:, 0], y[:, 0]):
        cut = b == 0
        assert torch.equal(b[~cut], a[~cut])  # the rest untouched
        rows, cols = cut.any(dim=1).nonzero(), cut.any(dim=0).nonzero()
        assert len(rows) and len(cols)
        h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert int(cut.sum()) == h * w and h <= 8 and w <= 8  # one rectangle, at most 8x8
    fraction = (y == 0).float().mean().item()
    assert 0.15 < fraction < 0.25  # a quarter of the image, less where the square leaves it


def test_color_is_a_per_image_brightness_and_contrast_change_on_grey():
    x = _images(n=32)
    y = color(x)
    gains = []
    for a, b in zip(x.flatten(1), y.flatten(1)):
        design = torch.stack([a, torch.ones_like(a)], dim=1)
        fit = torch.linalg.lstsq(design, b.unsqueeze(1)).solution[:, 0]
        assert torch.allclose(design @ fit, b, atol=1e-5)  # exactly gain * x + offset
        gains.append(fit[0].item())
    assert 0.5 <= min(gains) and max(gains) <= 1.5 and max(gains) - min(gains) > 0.3


def test_gradients_flow_through_every_transform_and_stop_inside_the_cutout():
    x = (_images(n=8) + 3.0).requires_grad_(True)
    torch.manual_seed(1)
    y = diff_augment(x, "color,translation,cutout")
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.manual_seed(1)
    cut = diff_augment(x.detach(), "color,translation,cutout") == 0
    assert cut.any() and (y.detach()[cut] == 0).all()


def test_the_critic_sees_augmented_real_and_generated_images_in_both_steps(tmp_path):
    data = tmp_path / "gravel"
    data.mkdir()
    Image.fromarray(texture("gravel")).save(data / "gravel.png")
    cfg = tiny("spatial-dcgan", data, tmp_path / "runs", channels=1, n_critic=1, diffaug="cutout")
    images = _open_data(cfg, lambda m: None)
    s = make_state(cfg, images, torch.device("cpu"), Dist())
    ones = torch.ones(s.batch, 1, cfg.crop, cfg.crop)
    s.feed.next = lambda: (ones, torch.zeros(s.batch, dtype=torch.long))
    seen = []
    s.D.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    train_step(s)
    real, fake, fake_for_g = seen
    assert (real == 0).any() and ((real == 0) | (real == 1)).all()  # the ones, with a hole cut
    for batch in (fake, fake_for_g):
        holes = (batch == 0).flatten(1).sum(dim=1)
        assert (holes >= 16).all()  # every generated image has its square too (4x4 at least)
    # Without the policy the critic sees the feed's batch as it is.
    s = make_state(dataclasses.replace(cfg, diffaug=""), images, torch.device("cpu"), Dist())
    s.feed.next = lambda: (ones, torch.zeros(s.batch, dtype=torch.long))
    seen.clear()
    s.D.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    train_step(s)
    assert torch.equal(seen[0], ones)


@pytest.mark.parametrize("policy", ["rotate", "color,,zoom"])
def test_an_unknown_transform_is_a_settings_error_naming_the_choices(tmp_path, policy):
    cfg = tiny("spatial-dcgan", tmp_path, tmp_path, diffaug=policy)
    with pytest.raises(RequestError) as err:
        check_config(cfg)
    assert "diffaug" in str(err.value) and "color, translation, cutout" in str(err.value)
    check_config(dataclasses.replace(cfg, diffaug=" color, translation "))  # spaces are fine
