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


_BINOMIAL = (1.0, 4.0, 6.0, 4.0, 1.0)


def _blur(x: torch.Tensor) -> torch.Tensor:
    """The 5x5 binomial blur of the SWD measure's pyramid, per channel, reflected at the border."""
    c = x.shape[1]
    k = torch.tensor(_BINOMIAL, device=x.device, dtype=x.dtype) / 16.0
    x = F.pad(x, (2, 2, 2, 2), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, 5).expand(c, 1, 1, 5).contiguous(), groups=c)
    return F.conv2d(x, k.view(1, 1, 5, 1).expand(c, 1, 5, 1).contiguous(), groups=c)


def _laplacian_levels(x: torch.Tensor, min_res: int) -> list[torch.Tensor]:
    """Laplacian pyramid, finest first, down to the last level of at least `min_res` px, which
    is the low-pass rest (trainer/metrics/sliced_wasserstein.py builds the same in numpy)."""
    levels = []
    while x.shape[-1] // 2 >= min_res and x.shape[-1] % 2 == 0:
        down = _blur(x)[..., ::2, ::2]
        up = torch.zeros_like(x)
        up[..., ::2, ::2] = down
        levels.append(x - 4.0 * _blur(up))
        x = down
    levels.append(x)
    return levels


def _patches(x: torch.Tensor, count: int, side: int) -> torch.Tensor:
    """`count` random side x side neighbourhoods of every image: [N * count, C * side * side]."""
    n, c, h, w = x.shape
    ys = torch.randint(0, h - side + 1, (n, count), device=x.device)
    xs = torch.randint(0, w - side + 1, (n, count), device=x.device)
    ar = torch.arange(side, device=x.device)
    rows = (ys[..., None] + ar)[:, :, None, :, None]  # [n, count, 1, side, 1]
    cols = (xs[..., None] + ar)[:, :, None, None, :]  # [n, count, 1, 1, side]
    images = torch.arange(n, device=x.device)[:, None, None, None, None]
    chans = torch.arange(c, device=x.device)[None, None, :, None, None]
    return x[images, chans, rows, cols].reshape(n * count, c * side * side)


def patch_swd(
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    min_res: int = 16,
    patches: int = 64,
    directions: int = 64,
    side: int = 7,
) -> torch.Tensor:
    """A multi-scale sliced Wasserstein loss between the 7x7 neighbourhoods of two batches.

    The differentiable counterpart of the SWD measure (Karras et al. 2018; as a loss for texture
    synthesis, Heitz et al. 2021 and Elnekave & Weiss 2022, there on network features or a
    single image): at every level of a Laplacian pyramid (down to `min_res` px) `patches`
    random neighbourhoods per image, scaled by the real ones' per-channel mean and deviation
    (so every level weighs alike and a band's strength counts), projected on `directions`
    random unit vectors drawn afresh at each call, each projection sorted; the mean absolute
    difference of the sorted values is the 1-D Wasserstein-1 distance, averaged over
    directions and levels. It gives the generator the patch statistics at every scale at once,
    which a critic of small crops cannot; the gradient reaches `fake` only. The batches must
    share their shape but for the count; the larger descriptor set is cut to the smaller's.
    """
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"patch_swd: real crops are {tuple(real.shape[1:])} but fake ones {tuple(fake.shape[1:])}")
    if real.shape[-1] < side or real.shape[-2] < side:
        raise ValueError(f"patch_swd: crops of {real.shape[-1]} px are smaller than the {side} px neighbourhood")
    with torch.autocast(device_type=real.device.type, enabled=False):
        real, fake = real.detach().float(), fake.float()
        total = torch.zeros((), device=fake.device)
        levels = list(zip(_laplacian_levels(real, min_res), _laplacian_levels(fake, min_res)))
        c = real.shape[1]
        for level_real, level_fake in levels:
            count = min(patches, (level_real.shape[-1] - side + 1) * (level_real.shape[-2] - side + 1))
            d_real, d_fake = _patches(level_real, count, side), _patches(level_fake, count, side)
            m = min(len(d_real), len(d_fake))
            d_real, d_fake = d_real[:m], d_fake[:m]
            per_channel = d_real.view(m, c, side * side)
            mean = per_channel.mean(dim=(0, 2)).repeat_interleave(side * side)
            std = per_channel.std(dim=(0, 2)).repeat_interleave(side * side).clamp_min(1e-6)
            d_real, d_fake = (d_real - mean) / std, (d_fake - mean) / std
            dirs = torch.randn(d_real.shape[1], directions, device=fake.device)
            dirs = dirs / dirs.norm(dim=0, keepdim=True)
            p_real, _ = torch.sort(d_real @ dirs, dim=0)
            p_fake, _ = torch.sort(d_fake @ dirs, dim=0)
            total = total + (p_real - p_fake).abs().mean()
        return total / len(levels)


def power_spectrum(x: torch.Tensor) -> torch.Tensor:
    """The mean 2-D power spectrum [H, W] of a batch [N, C, H, W]: each crop and channel less
    its mean, under a 2-D Hann window (no leakage from the crop's edges, which do not wrap),
    averaged over crops and channels (spectral_loss leaves out its DC bin)."""
    with torch.autocast(device_type=x.device.type, enabled=False):
        x = x.float()
        h, w = x.shape[-2:]
        window = torch.outer(torch.hann_window(h, periodic=False, device=x.device),
                             torch.hann_window(w, periodic=False, device=x.device))  # fmt: skip
        x = (x - x.mean(dim=(-2, -1), keepdim=True)) * window
        return torch.fft.fft2(x).abs().square().mean(dim=(0, 1))


def spectral_loss(real_power: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """How far the generated batch's power spectrum is from the real one, bin by bin: the mean
    over every 2-D frequency but DC of (sqrt(fake power / real power) - 1) ** 2, the squared
    relative error of each frequency's amplitude, with `real_power` the real crops' mean
    spectrum (power_spectrum, averaged over steps by the caller). Faint stripes and grain a few
    pixels apart are sharp excesses of amplitude at single frequencies, which a strided critic
    can fail to see; this reads each frequency directly, weighs a bin's error by the real
    amplitude there (a quiet band counts as much as a loud one), and squares it, so that the
    batch's sampling noise, small and of either sign in every bin, pulls less than a consistent
    excess in a few (Durall et al. 2020 match the azimuthal mean; the 2-D spectrum keeps the
    stripes' direction). The gradient reaches `fake` only."""
    if fake.shape[-2:] != real_power.shape:
        raise ValueError(
            f"spectral_loss: fake crops are {tuple(fake.shape[-2:])} px but the spectrum {tuple(real_power.shape)}"
        )
    floor = 1e-6 * real_power.mean()
    ratio = (power_spectrum(fake) + floor) / (real_power.detach() + floor)
    gap = (ratio.sqrt() - 1).square()
    return (gap.sum() - gap[0, 0]) / (gap.numel() - 1)
