"""Resizing images with a good filter, keeping tileable images tileable.

Pillow's Lanczos filter works on float images ("F" mode) one channel at a time. A plain resize
treats the borders as edges and breaks tiling; `periodic=True` pads the image with its own
wrap-around and resamples only the original area (Pillow's `box`), so the filter sees across
the seam exactly as it sees inside the image.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Lanczos reaches 3 source pixels each side when enlarging, 3 x scale when shrinking.
_FILTER_SUPPORT = 3


def resize(img: np.ndarray, height: int, width: int, *, periodic: bool = False) -> np.ndarray:
    """Resize an HWC (or HW) float32 image to height x width with a Lanczos filter."""
    if img.shape[0] == height and img.shape[1] == width:
        return img
    squeeze = img.ndim == 2
    hwc = img[..., None] if squeeze else img
    h, w = hwc.shape[:2]
    pad = 0
    if periodic:
        scale = max(h / height, w / width, 1.0)
        pad = min(int(np.ceil(_FILTER_SUPPORT * scale)) + 1, h, w)
        hwc = np.pad(hwc, ((pad, pad), (pad, pad), (0, 0)), mode="wrap")
    box = (pad, pad, pad + w, pad + h)
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(hwc[..., c], dtype=np.float32), mode="F").resize(
                (width, height), Image.Resampling.LANCZOS, box=box
            )
        )
        for c in range(hwc.shape[2])
    ]
    out = np.stack(channels, axis=-1).astype(np.float32)
    return out[..., 0] if squeeze else out
