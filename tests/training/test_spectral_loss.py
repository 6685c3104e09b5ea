"""The spectral loss (trainer/losses.py spectral_loss): the generator's extra term that holds
its crops' log power spectrum, frequency by frequency, to the real crops'."""

import numpy as np
import pytest
import torch

from train_helpers import descend
from trainer.losses import power_spectrum, spectral_loss


def _texture(n: int, size: int, seed: int) -> torch.Tensor:
    """Periodic 1/f noise of unit spread: a natural texture's falling spectrum, with no peak."""
    g = torch.Generator().manual_seed(seed)
    f = torch.fft.fftfreq(size)
    r = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2).clamp_min(1 / size)
    x = torch.fft.ifft2(torch.fft.fft2(torch.randn(n, 1, size, size, generator=g)) / r).real
    return x / x.std()


def _grain(n: int, size: int, period: int) -> torch.Tensor:
    """Faint vertical stripes `period` px apart: the nearest-upsampling grain."""
    x = torch.arange(size, dtype=torch.float32)
    return torch.cos(2 * np.pi * x / period).expand(n, 1, size, size).clone()


def test_its_spectrum_is_numpy_s_periodogram_of_the_windowed_crops():
    x = _texture(3, 32, 0) + 0.3 * _grain(3, 32, 4)
    window = np.outer(np.hanning(32), np.hanning(32))
    a = x.numpy()[:, 0]
    theirs = (np.abs(np.fft.fft2((a - a.mean(axis=(1, 2), keepdims=True)) * window)) ** 2).mean(axis=0)
    ours = power_spectrum(x).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6 * theirs.max())
    f = np.fft.fftfreq(32)
    band = np.where(np.hypot(f[:, None], f[None, :]) > 0.12, ours, 0)  # above the 1/f slope's bulk
    assert np.unravel_index(band.argmax(), band.shape) in {(0, 8), (0, 24)}  # 0.25 cycles/px across


def test_it_sees_faint_grain_that_barely_changes_the_pixels():
    real = power_spectrum(_texture(256, 32, 0))
    clean = spectral_loss(real, _texture(64, 32, 1)).item()
    grainy = spectral_loss(real, _texture(64, 32, 1) + 0.2 * _grain(64, 32, 4)).item()
    # Stripes of a fifth of the texture's spread, at one frequency pair of 1023.
    assert grainy > 1.5 * clean


def test_descending_it_removes_the_grain_and_never_trains_the_target():
    torch.manual_seed(0)
    real = power_spectrum(_texture(256, 32, 0))
    base = _texture(16, 32, 1)
    x = (base + 0.2 * _grain(16, 32, 4)).requires_grad_(True)
    start = spectral_loss(real, x).item()
    descend(lambda y: spectral_loss(real, y), x, lr=0.003, steps=100)
    assert spectral_loss(real, x).item() < 0.1 * start
    stripe = lambda y: power_spectrum(y)[0, 8].item()  # noqa: E731 (the grain's frequency)
    # The stripes' power falls most of the way back to the texture's own at that frequency.
    assert stripe(x.detach()) < stripe(base) + 0.3 * (stripe(base + 0.2 * _grain(16, 32, 4)) - stripe(base))
    assert not real.requires_grad


def test_a_spectrum_of_another_size_is_refused_with_both_sizes():
    with pytest.raises(ValueError, match=r"fake crops are \(64, 64\) px but the spectrum \(32, 32\)"):
        spectral_loss(torch.ones(32, 32), torch.zeros(2, 1, 64, 64))


# Its weight's check and a run with it: test_patch_swd.py, beside the patch loss's.
