"""Resize images, keeping tileable ones tileable.

Fixed-size generators (32 x 32, 64 x 64) reach texture sizes by upscaling. Pillow's resize
treats the borders as edges, which breaks a tileable image's wrap; here the filter can sample
across the borders instead (wrap=True), so the result tiles exactly like the input.
"""

from __future__ import annotations

import numpy as np

from texgen.errors import RequestError

LOBES = 3  # Lanczos-3: sharp, little ringing; the usual choice for image upscaling


def resize(img: np.ndarray, height: int, width: int, *, wrap: bool = False) -> np.ndarray:
    """`img` (H x W x C or H x W, float in [0, 1]) resampled to height x width, float32.

    Lanczos-3, separable, pixel centres aligned ((i + 0.5) * scale - 0.5), widened when
    shrinking so it does not alias. wrap: sample periodically across the borders (for tileable
    images); otherwise edge pixels repeat. Clipped to [0, 1] (the filter overshoots at edges).
    """
    if height < 1 or width < 1:
        raise RequestError(f"size {width}x{height} is not positive", "use a positive size")
    if img.shape[:2] == (height, width) and img.dtype == np.float32:
        return img  # already that size: nothing to filter (sampling calls this for every image)
    a = np.asarray(img, dtype=np.float64)
    if a.ndim not in (2, 3):
        raise RequestError(f"image has shape {a.shape}, expected H x W or H x W x C", "pass one image")
    out = _resize_axis(a, height, axis=0, wrap=wrap)
    out = _resize_axis(out, width, axis=1, wrap=wrap)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _lanczos(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < LOBES, np.sinc(x) * np.sinc(x / LOBES), 0.0)


def _resize_axis(a: np.ndarray, size: int, axis: int, wrap: bool) -> np.ndarray:
    n = a.shape[axis]
    if n == size:
        return a
    scale = n / size
    stretch = max(1.0, scale)  # widen the kernel when shrinking (anti-aliasing)
    centre = (np.arange(size) + 0.5) * scale - 0.5
    reach = int(np.ceil(LOBES * stretch))
    taps = np.floor(centre)[:, None].astype(np.int64) + np.arange(-reach + 1, reach + 1)[None, :]
    weights = _lanczos((taps - centre[:, None]) / stretch)
    weights /= weights.sum(axis=1, keepdims=True)
    index = np.mod(taps, n) if wrap else np.clip(taps, 0, n - 1)
    moved = np.moveaxis(a, axis, 0)
    out = np.zeros((size,) + moved.shape[1:])
    for k in range(taps.shape[1]):
        w = weights[:, k].reshape((size,) + (1,) * (moved.ndim - 1))
        out += moved[index[:, k]] * w
    return np.moveaxis(out, 0, axis)
