"""Pixel conversions shared by every source: channel count, resizing, and the [-1, 1] layout.

Arrays here are `img`: HWC float32 in [0, 1] (or raw heights for a heightfield before it is
normalised). Work stays in float from file to batch so 16-bit data keeps its precision.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Rec. 709 luma weights (sRGB primaries), applied to the stored (gamma-encoded) values as
# every image tool does for "convert to greyscale".
REC709 = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def convert_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """HWC (or HW) image with 1 or 3 channels -> HWC with `channels` (1: Rec. 709 luma, 3: grey copied)."""
    if img.ndim == 2:
        img = img[:, :, None]
    have = img.shape[2]
    if have == channels:
        return img
    if have == 3 and channels == 1:
        return (img @ REC709)[:, :, None].astype(np.float32)
    if have == 1 and channels == 3:
        return np.repeat(img, 3, axis=2)
    raise ValueError(f"cannot convert {have} channels to {channels}")


def resize(img: np.ndarray, scale: float) -> np.ndarray:
    """Resize an HWC float image by `scale` with Lanczos, per channel in 32-bit float.

    Pillow's "F" mode keeps full precision (a 16-bit source stays 16-bit accurate); Lanczos
    keeps fine texture detail that a box or bilinear filter would blur. It may overshoot the
    input range slightly, so callers clip or renormalise afterwards.
    """
    if scale == 1.0:
        return img
    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    planes = [
        np.asarray(Image.fromarray(np.ascontiguousarray(img[:, :, c], dtype=np.float32)).resize(size, Image.LANCZOS))
        for c in range(img.shape[2])
    ]
    return np.stack(planes, axis=2)


def to_signed_chw(img: np.ndarray) -> np.ndarray:
    """HWC float in [0, 1] -> CHW float32 in [-1, 1] (the generators' output range)."""
    chw = np.clip(img, 0.0, 1.0).transpose(2, 0, 1) * 2.0 - 1.0
    return np.ascontiguousarray(chw, dtype=np.float32)
