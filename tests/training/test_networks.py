"""Networks: the course's layer tables, Keras padding, exact periodicity, train/eval agreement, losses."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from trainer import losses
from trainer.networks import NetSpec, build_critic, build_generator, count_parameters
from trainer.networks.layers import keras_same_pads, wrap_pad

torch.set_num_threads(1)  # tiny networks on shared cores: threads only contend


def test_lanham_wgan_matches_the_course_summaries():
    # Seed 000: generator "Trainable params: 1,224,259 / Non-trainable params: 384", critic
    # "Trainable params: 101,089 / Non-trainable params: 448" (Keras counts BN statistics).
    spec = NetSpec("lanham", channels=3, latent_size=100, resolution=32, critic_dropout=0.25)
    G, D = build_generator(spec), build_critic(spec)
    assert count_parameters(G) == (1_224_259, 384)
    assert count_parameters(D) == (101_089, 448)
    assert G.dense.weight.numel() + G.dense.bias.numel() == 827_392
    assert G.conv1.weight.numel() + G.conv1.bias.numel() == 262_272
    assert D.dense.in_features == 3200  # 5 x 5 x 128 after the ZeroPadding2D
    assert G.bn1.momentum == pytest.approx(0.2)  # Keras momentum 0.8
    assert G(torch.randn(2, 100)).shape == (2, 3, 32, 32)


def test_foster_dcgan_matches_the_book_tables():
    # Seed 001, tables 4-1 and 4-2 (64x64 grey): generator 3,574,656 + 1,920, critic 2,763,520 + 1,792.
    spec = NetSpec("foster", channels=1, latent_size=100, resolution=64, critic_dropout=0.3)
    G, D = build_generator(spec), build_critic(spec)
    assert count_parameters(G) == (3_574_656, 1_920)
    assert count_parameters(D) == (2_763_520, 1_792)
    assert G(torch.randn(3, 100)).shape == (3, 1, 64, 64)
    assert D(torch.randn(3, 1, 64, 64)).shape == (3, 1)


def test_keras_same_padding_is_asymmetric_like_tensorflow():
    assert keras_same_pads(16, 4, 1) == (1, 2)  # even kernel: the extra pixel goes after
    assert keras_same_pads(32, 3, 2) == (0, 1)
    assert keras_same_pads(9, 3, 2) == (1, 1)
    assert keras_same_pads(5, 3, 1) == (1, 1)
    # A one-hot input shows the kernel's alignment: output pixel (i, j) sees inputs i-1..i+2.
    from trainer.networks.layers import SameConv2d

    conv = SameConv2d(1, 1, 4, in_size=8, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 0, 0] = 1.0  # top-left tap reads input (i - 1, j - 1)
        x = torch.zeros(1, 1, 8, 8)
        x[0, 0, 3, 3] = 1.0
        y = conv(x)
    assert y.shape == (1, 1, 8, 8) and y[0, 0, 4, 4] == 1.0 and y.sum() == 1.0


@pytest.mark.parametrize("family", ["lanham", "foster", "spatial"])
@pytest.mark.parametrize("channels,classes", [(1, 0), (3, 4)])
def test_every_family_builds_for_grey_rgb_and_classes(family, channels, classes):
    spec = NetSpec(family, channels=channels, latent_size=8, resolution=32, num_classes=classes,
                   embed_dim=4, g_width=8, d_width=8, upsamples=3)  # fmt: skip
    G, D = build_generator(spec), build_critic(spec)
    label = torch.tensor([0, classes - 1]) if classes else None
    z = torch.randn(2, 8, 5, 5) if family == "spatial" else torch.randn(2, 8)
    x = G(z, label)
    side = 40 if family == "spatial" else 32
    assert x.shape == (2, channels, side, side) and x.abs().max() <= 1.0
    assert D(x[:, :, :32, :32], label).shape == (2, 1)
    if classes:  # the class changes the image and the critic's score
        other = torch.tensor([1, 0])
        assert not torch.allclose(G(z, other), x)
        assert not torch.allclose(D(x[:, :, :32, :32], other), D(x[:, :, :32, :32], label))


def test_spatial_generator_is_exactly_periodic_and_translation_equivariant():
    torch.manual_seed(0)
    spec = NetSpec("spatial", channels=3, latent_size=8, resolution=32, g_width=8, upsamples=3)
    G = build_generator(spec).eval()
    z = torch.randn(1, 8, 4, 6)
    with torch.no_grad():
        x = G(z)
        rolled = G(torch.roll(z, shifts=(1, -2), dims=(2, 3)))
        tiled = G(z.repeat(1, 1, 2, 2))  # a latent tiled twice gives the image tiled twice
    s = spec.pixels_per_cell
    assert x.shape == (1, 3, 4 * s, 6 * s)
    torch.testing.assert_close(rolled, torch.roll(x, shifts=(s, -2 * s), dims=(2, 3)), rtol=0, atol=1e-5)
    torch.testing.assert_close(tiled, x.repeat(1, 1, 2, 2), rtol=0, atol=1e-5)


def test_class_affine_starts_as_the_plain_conditional_generator_and_keeps_its_names():
    # Off (the default, and every config written before it existed), the generator's parameter
    # names are those of earlier checkpoints; on, it adds only the affines, which start as the
    # identity, so the untrained network computes what the plain one does with the same weights.
    plain = NetSpec("spatial", channels=1, latent_size=8, resolution=32, num_classes=3, g_width=8, upsamples=2)
    G = build_generator(plain)
    assert not any("affine" in k for k in G.state_dict())
    A = build_generator(dataclasses.replace(plain, class_affine=True))
    extra = set(A.state_dict()) - set(G.state_dict())
    assert extra and all(k.startswith("affines.") for k in extra)
    A.load_state_dict(G.state_dict(), strict=False)
    z, label = torch.randn(2, 8, 3, 3), torch.tensor([0, 2])
    with torch.no_grad():
        assert torch.equal(A(z, label), G(z, label))
        A.affines[0].gamma.weight[2] += 1.0  # doubles class 2's first activations
        changed = A(z, label)
    assert torch.equal(changed[0], G(z, label)[0]) and not torch.allclose(changed[1], G(z, label)[1])
    assert NetSpec("lanham", num_classes=3, class_affine=True).problems() == [
        "class_affine is for the spatial architecture, not lanham"
    ]


@pytest.mark.parametrize("family", ["spatial", "lanham", "foster"])
def test_the_unit_projection_is_the_class_vector_at_unit_length_against_the_mean_features(family):
    """projection=unit: the critic's class term is <embed / |embed|, mean features>, so growing
    a class's vector does not make it louder; the free term (sum) grows with it. Both critics
    have the same parameters: a checkpoint of either loads into the other."""
    spec = NetSpec(family, channels=3, num_classes=4, resolution=32, latent_size=8, g_width=8, d_width=8,
                   upsamples=2)  # fmt: skip
    free, unit = build_critic(spec).eval(), build_critic(dataclasses.replace(spec, projection="unit")).eval()
    assert free.state_dict().keys() == unit.state_dict().keys()
    unit.load_state_dict(free.state_dict())
    x, label = torch.randn(3, 3, 32, 32), torch.tensor([0, 1, 3])
    with torch.no_grad():
        h = unit.features(x)
        v = unit.projection.embed.weight[label]
        want = (v / v.norm(dim=1, keepdim=True) * h.mean(dim=(2, 3))).sum(1)
        torch.testing.assert_close(unit.projection(h, label)[:, 0], want)
        before = (unit(x, label), free.projection(h, label))
        unit.projection.embed.weight.mul_(100.0)
        free.projection.embed.weight.mul_(100.0)
        torch.testing.assert_close(unit(x, label), before[0])  # unchanged: the length is divided out
        torch.testing.assert_close(free.projection(h, label), 100.0 * before[1])


def test_wrap_pad_takes_the_opposite_border():
    x = torch.arange(12.0).view(1, 1, 3, 4)
    p = wrap_pad(x, 1)
    assert p.shape == (1, 1, 5, 6)
    assert torch.equal(p[0, 0, 1:-1, 1:-1], x[0, 0])
    assert torch.equal(p[0, 0, 0, 1:-1], x[0, 0, -1]) and torch.equal(p[0, 0, 1:-1, 0], x[0, 0, :, -1])
    assert p[0, 0, 0, 0] == x[0, 0, -1, -1]


def test_spatial_generator_computes_the_same_in_train_and_eval_mode():
    # No running statistics (PixelNorm, not BatchNorm): the exported eval-mode model is what trained.
    torch.manual_seed(1)
    G = build_generator(NetSpec("spatial", channels=1, latent_size=8, resolution=32, g_width=8, upsamples=2))
    z = torch.randn(4, 8, 3, 3)
    with torch.no_grad():
        train_out = G.train()(z)
        eval_out = G.eval()(z)
    assert torch.equal(train_out, eval_out)


def test_gradient_penalty_of_a_linear_critic_is_known():
    # D(x) = <w, x>: the gradient is w everywhere, so the penalty is (||w|| - 1)^2 exactly.
    w = torch.full((1, 1, 4, 4), 0.5)  # ||w|| = 0.5 * 4 = 2

    class Linear(torch.nn.Module):
        def forward(self, x):
            return (x * w).flatten(1).sum(1, keepdim=True)

    real, fake = torch.randn(8, 1, 4, 4), torch.randn(8, 1, 4, 4)
    gp = losses.gradient_penalty(Linear(), real, fake)
    assert gp.item() == pytest.approx(1.0, abs=1e-5)


def test_wgan_losses_and_weight_clipping():
    real, fake = torch.tensor([[2.0], [4.0]]), torch.tensor([[1.0], [-1.0]])
    assert losses.wgan_d_loss(real, fake).item() == pytest.approx(-3.0)
    assert losses.wasserstein_estimate(real, fake).item() == pytest.approx(3.0)
    assert losses.wgan_g_loss(fake).item() == pytest.approx(0.0)
    D = build_critic(NetSpec("lanham", resolution=32))
    losses.clip_weights(D, 0.01)
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.01
    assert D.features[5].running_var.max() == 1.0  # statistics are not weights: left alone


def test_dcgan_losses_use_the_course_label_tricks():
    logits = torch.zeros(1000, 1)  # D = 0.5 everywhere
    plain = losses.dcgan_d_loss(logits, logits)
    assert plain.item() == pytest.approx(torch.log(torch.tensor(2.0)).item(), abs=1e-6)
    # BCE with a soft target t at p = 0.5 is still log 2, so smoothing shows only off 0.5:
    sure = torch.full((1000, 1), 5.0)
    assert losses.dcgan_d_loss(sure, -sure, smoothing=0.1) > losses.dcgan_d_loss(sure, -sure)
    torch.manual_seed(0)
    assert losses.dcgan_d_loss(sure, -sure, noise=0.1) > losses.dcgan_d_loss(sure, -sure)
    assert losses.dcgan_d_loss(sure, -sure, flip=0.5) > 1.0  # half the targets swapped
    # Non-saturating generator loss: -log sigmoid(logit), large when the critic is sure of a fake.
    assert losses.dcgan_g_loss(-sure).item() == pytest.approx(5.0067, abs=1e-3)
