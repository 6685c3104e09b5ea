"""The GAN losses, one function each, and the critic's Lipschitz constraints.

Conventions: `real` and `fake` are the critic's raw outputs [N, 1] (logits for DCGAN,
unbounded scores for the Wasserstein family). Every function returns a scalar to MINIMISE.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def dcgan_d_loss(
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    smoothing: float = 0.0,
    noise: float = 0.0,
    flip: float = 0.0,
) -> torch.Tensor:
    """Binary cross-entropy of the discriminator, with the course's label tricks.

    `smoothing`: one-sided label smoothing, real target 1 - smoothing (Salimans et al. 2016).
    `noise`: each target moves towards the other class by U[0, noise] (Foster's "add noise
    to the labels", kept inside [0, 1]). `flip`: each target is swapped with probability
    `flip` (the course: "flip the labels of some images at random"). All three weaken a
    discriminator that would otherwise dominate the generator.
    """
    t_real = torch.full_like(real, 1.0 - smoothing)
    t_fake = torch.zeros_like(fake)
    if noise:
        t_real = t_real - noise * torch.rand_like(t_real)
        t_fake = t_fake + noise * torch.rand_like(t_fake)
    if flip:
        swap_r = torch.rand_like(t_real) < flip
        swap_f = torch.rand_like(t_fake) < flip
        t_real, t_fake = torch.where(swap_r, 1.0 - t_real, t_real), torch.where(swap_f, 1.0 - t_fake, t_fake)
    loss_real = F.binary_cross_entropy_with_logits(real, t_real)
    loss_fake = F.binary_cross_entropy_with_logits(fake, t_fake)
    return 0.5 * (loss_real + loss_fake)


def dcgan_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: -log D(G(z)), strong gradients while D still wins."""
    return F.softplus(-fake).mean()


def wasserstein_estimate(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """E[D(real)] - E[D(fake)]: the critic's estimate of the Wasserstein-1 distance (logged)."""
    return real.mean() - fake.mean()


def wgan_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The critic maximises the Wasserstein estimate, i.e. minimises its negative."""
    return fake.mean() - real.mean()


def wgan_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """The generator raises the critic's score of its images."""
    return -fake.mean()


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    label: torch.Tensor | None = None,
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)||_2 - 1)^2] on interpolates.

    x_hat = real + alpha * (fake - real) with alpha ~ U[0, 1] per sample, as in the paper
    (Foster's notebook draws alpha from a normal distribution: not copied). Computed in
    float32 even inside mixed precision: the penalty is a second derivative and loses
    too much in bf16/fp16. Multiply by lambda outside.
    """
    with torch.autocast(device_type=real.device.type, enabled=False):
        real, fake = real.float(), fake.float()
        alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
        x_hat = (real + alpha * (fake - real)).requires_grad_(True)
        scores = critic(x_hat, label) if label is not None else critic(x_hat)
        (grad,) = torch.autograd.grad(scores.float().sum(), x_hat, create_graph=True)
        norm = torch.sqrt(grad.flatten(1).pow(2).sum(dim=1) + 1e-12)
        return (norm - 1.0).pow(2).mean()


@torch.no_grad()
def clip_weights(critic: nn.Module, clip: float) -> None:
    """WGAN weight clipping (Arjovsky et al. 2017): every critic parameter into [-clip, clip].

    Parameters only: Keras' `layer.get_weights()` in the course's code also clipped the
    BatchNorm running statistics, which are not weights of the function the critic learns.
    """
    params = [p for p in critic.parameters()]
    if hasattr(torch, "_foreach_clamp_min_"):
        torch._foreach_clamp_min_(params, -clip)
        torch._foreach_clamp_max_(params, clip)
    else:  # pragma: no cover - older torch
        for p in params:
            p.clamp_(-clip, clip)
