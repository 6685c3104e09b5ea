"""Maps derived from a height: normal maps for engines, hillshade for previews, luminance.

Heights are H x W (or H x W x 1) float in [0, 1], one pixel per horizontal unit.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from texgen.errors import RequestError

Convention = Literal["opengl", "directx"]
CONVENTIONS: tuple[str, ...] = ("opengl", "directx")

# Rec. 709 / sRGB primaries. Applied to the stored (gamma-encoded) values: a height proxy
# wants perceived lightness, not linear light.
REC709 = np.array([0.2126, 0.7152, 0.0722])


def luminance(img: np.ndarray) -> np.ndarray:
    """H x W float32 luma of an RGB (H x W x 3) or grey (H x W x 1, H x W) image.

    Used as a height when a texture model's output needs a normal map or a heightfield.
    """
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 2:
        return a
    if a.ndim == 3 and a.shape[2] == 1:
        return a[..., 0]
    if a.ndim == 3 and a.shape[2] == 3:
        return (a @ REC709.astype(np.float32)).astype(np.float32)
    raise RequestError(f"image has shape {a.shape}, expected H x W, H x W x 1 or H x W x 3", "pass one image")


def normal_map(
    height: np.ndarray,
    *,
    strength: float = 1.0,
    convention: Convention = "opengl",
    wrap: bool = True,
) -> np.ndarray:
    """Tangent-space normal map of `height`, encoded as H x W x 3 float32 in [0, 1].

    Slopes are central differences in height units per pixel, times `strength`: a height
    step of 1.0 between neighbours counts as `strength` pixels tall. The normal of the
    surface z = strength * h(x, y), with x to the right and y up the image (towards row 0), is
      n = normalize(-dz/dx, -dz/dy, 1), encoded (n + 1) / 2; flat = (0.5, 0.5, 1.0).
    So a ramp rising to the right faces left: red < 0.5. A bump's upper side (towards row 0)
    faces up the image: green > 0.5 in the OpenGL convention ("Y+": Unity, Godot, Blender).
    DirectX ("Y-": Unreal, Substance's default) stores green inverted: 1 - green.

    wrap: sample across the borders (right for tileable heights; the normal map then tiles
    too); False repeats the edge pixels instead.
    """
    if convention not in CONVENTIONS:
        raise RequestError(
            f"normal map convention {convention!r} is unknown", "use 'opengl' (Unity, Godot) or 'directx' (Unreal)"
        )
    h = _height(height)
    dx, dy = _central_differences(h, wrap)  # dy: per row, i.e. towards the bottom
    nx = -strength * dx
    ny = strength * dy  # y up = towards row 0: d/dy_up = -d/drow
    nz = np.ones_like(h)
    norm = np.sqrt(nx * nx + ny * ny + nz * nz)
    n = np.stack([nx / norm, ny / norm, nz / norm], axis=-1)
    if convention == "directx":
        n[..., 1] = -n[..., 1]
    return ((n + 1.0) * 0.5).astype(np.float32)


def hillshade(
    height: np.ndarray,
    *,
    azimuth: float = 315.0,
    altitude: float = 45.0,
    z_factor: float | None = None,
    wrap: bool = True,
) -> np.ndarray:
    """Shaded relief, H x W float32 in [0, 1]: the standard GIS hillshade (ESRI, GDAL).

    azimuth: where the light comes from, degrees clockwise from north (up the image);
      315 = north-west, the cartographic default. altitude: degrees above the horizon.
    Slopes come from Horn's 3x3 kernel, one pixel per unit, times z_factor. z_factor None
    picks one for the preview: it makes the 90th percentile slope 45 degrees, so a flat
    terrain and a rough texture both show their relief (heights in [0, 1] have no real scale).
    Output: cos(zenith) cos(slope) + sin(zenith) sin(slope) cos(azimuth - aspect), clipped
    at 0 (a slope facing away from the light is black). Flat ground gives sin(altitude).
    """
    h = _height(height)
    p = np.pad(h, 1, mode="wrap" if wrap else "edge")
    a, b, c = p[:-2, :-2], p[:-2, 1:-1], p[:-2, 2:]
    d, f = p[1:-1, :-2], p[1:-1, 2:]
    g, hh, i = p[2:, :-2], p[2:, 1:-1], p[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / 8.0  # east
    dzdy = ((g + 2 * hh + i) - (a + 2 * b + c)) / 8.0  # south (rows grow downwards)
    grad = np.hypot(dzdx, dzdy)
    if z_factor is None:
        ref = float(np.percentile(grad, 90))
        z_factor = 1.0 / ref if ref > 0 else 1.0
    slope = np.arctan(z_factor * grad)
    aspect = np.arctan2(dzdy, -dzdx)
    zenith = np.radians(90.0 - altitude)
    sun = np.radians((360.0 - azimuth + 90.0) % 360.0)  # compass -> maths angle
    shade = np.cos(zenith) * np.cos(slope) + np.sin(zenith) * np.sin(slope) * np.cos(sun - aspect)
    return np.clip(shade, 0.0, 1.0).astype(np.float32)


def _height(height: np.ndarray) -> np.ndarray:
    h = np.asarray(height, dtype=np.float64)
    if h.ndim == 3 and h.shape[2] == 1:
        h = h[..., 0]
    if h.ndim != 2:
        raise RequestError(f"height has shape {h.shape}, expected H x W or H x W x 1", "pass one grey image")
    return h


def _central_differences(h: np.ndarray, wrap: bool) -> tuple[np.ndarray, np.ndarray]:
    """(dh/dcolumn, dh/drow), each (next - previous) / 2."""
    p = np.pad(h, 1, mode="wrap" if wrap else "edge")
    dx = (p[1:-1, 2:] - p[1:-1, :-2]) * 0.5
    dy = (p[2:, 1:-1] - p[:-2, 1:-1]) * 0.5
    return dx, dy
