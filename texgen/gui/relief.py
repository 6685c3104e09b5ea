"""A 3D relief preview of a height field: a lit, solid terrain block drawn with QPainter.

No OpenGL (it is not there offscreen, in CI or over remote desktops): the height field is
sampled on a grid of at most `GRID` x `GRID` cells, every cell becomes a quad projected in an
oblique view, shaded by its normal against a sun, and the quads are painted far to near (the
painter's algorithm is exact for a height field seen from above). The block's front walls
are painted last, so it reads as a solid slab rather than a floating sheet.

Rendering makes a QImage and may run on a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPen, QPolygonF

GRID = 112  # cells per side at most: detail against paint time (~0.2 s on one core)

# Hypsometric tints from low to high: earth tones that read as terrain without a legend.
_RAMP = np.array(
    [
        [0.28, 0.36, 0.22],
        [0.45, 0.52, 0.30],
        [0.62, 0.58, 0.40],
        [0.58, 0.48, 0.38],
        [0.80, 0.78, 0.76],
        [0.97, 0.97, 0.98],
    ],
    np.float32,
)
_WALL = np.array([0.42, 0.34, 0.27], np.float32)


@dataclass(frozen=True)
class Camera:
    azimuth: float = 35.0  # degrees, turning the block about its vertical axis
    elevation: float = 38.0  # degrees above the horizon
    exaggeration: float = 1.0  # height scale on top of the default relief
    sun_azimuth: float = 315.0  # degrees, from the north-west as maps are lit
    sun_elevation: float = 40.0


def _grid(height: np.ndarray, cells: int) -> np.ndarray:
    """Block-average the height field to at most `cells` + 1 samples a side."""
    h = np.asarray(height, np.float32)
    if h.ndim == 3:
        h = h[..., 0]
    step = max(1, int(np.ceil(max(h.shape) / cells)))
    if step > 1:
        hh, ww = (h.shape[0] // step) * step, (h.shape[1] // step) * step
        h = h[:hh, :ww].reshape(hh // step, step, ww // step, step).mean(axis=(1, 3))
    return h


def _tint(h: np.ndarray) -> np.ndarray:
    pos = np.clip(h, 0, 1) * (len(_RAMP) - 1)
    i = np.minimum(pos.astype(int), len(_RAMP) - 2)
    f = (pos - i)[..., None]
    return _RAMP[i] * (1 - f) + _RAMP[i + 1] * f


def render_relief(
    height: np.ndarray,
    width: int = 720,
    height_px: int = 540,
    camera: Camera = Camera(),
    background: QColor | None = None,
    cells: int = GRID,
) -> QImage:
    """Paint the height field (HW in [0, 1]) as a shaded block on a `width` x `height_px` image.

    cells: grid resolution; fewer while the user drags the view, for a quick answer.
    """
    # 1. Grid and world coordinates: x, y across [-1, 1] (longest side), z up.
    g = _grid(height, cells)
    rows, cols = g.shape
    span = max(rows, cols) - 1 or 1
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    x = (xs - (cols - 1) / 2) * 2 / span
    y = (ys - (rows - 1) / 2) * 2 / span
    lo, hi = float(g.min()), float(g.max())
    rel = (g - lo) / (hi - lo) if hi > lo else np.zeros_like(g)
    relief = 0.45 * camera.exaggeration
    base = -0.18  # slab thickness below the lowest point
    z = rel * relief

    # 2. Camera: turn about z, then tilt; larger depth is nearer the viewer.
    a, e = np.radians(camera.azimuth), np.radians(camera.elevation)
    xr = x * np.cos(a) - y * np.sin(a)
    yr = x * np.sin(a) + y * np.cos(a)

    def project(xr, yr, z):
        return xr, yr * np.sin(e) - z * np.cos(e), yr * np.cos(e) + z * np.sin(e)

    sx, sy, depth = project(xr, yr, z)
    _, by, _ = project(xr, yr, np.full_like(z, base))
    # Fit the whole block (top and bottom) into the image with a margin.
    all_x = np.concatenate([sx.ravel(), sx.ravel()])
    all_y = np.concatenate([sy.ravel(), by.ravel()])
    scale = 0.9 * min(width / (all_x.max() - all_x.min()), height_px / (all_y.max() - all_y.min()))
    ox = width / 2 - scale * (all_x.max() + all_x.min()) / 2
    oy = height_px / 2 - scale * (all_y.max() + all_y.min()) / 2
    px, py, pby = ox + scale * sx, oy + scale * sy, oy + scale * by

    # 3. Shading per cell: Lambert against the sun plus sky light, on the hypsometric tint.
    dzdx = np.gradient(z, axis=1) * span / 2
    dzdy = np.gradient(z, axis=0) * span / 2
    n = np.stack([-dzdx, -dzdy, np.ones_like(z)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    sa, se = np.radians(camera.sun_azimuth), np.radians(camera.sun_elevation)
    # Sun direction in grid coordinates (x east, y south): from the north-west by default.
    sun = np.array([np.sin(sa) * np.cos(se), -np.cos(sa) * np.cos(se), np.sin(se)], np.float32)
    lambert = np.clip(n @ sun, 0, 1)
    light = 0.35 + 0.75 * lambert
    colour = np.clip(_tint(rel) * light[..., None], 0, 1)
    cell_colour = (colour[:-1, :-1] + colour[1:, 1:] + colour[:-1, 1:] + colour[1:, :-1]) / 4
    cell_depth = (depth[:-1, :-1] + depth[1:, 1:] + depth[:-1, 1:] + depth[1:, :-1]) / 4
    rgb = (cell_colour * 255).astype(np.int32)

    # 4. Paint: background, cells far to near, then the walls that face the viewer.
    image = QImage(width, height_px, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    if background is None:
        grad = QLinearGradient(0, 0, 0, height_px)
        grad.setColorAt(0, QColor(58, 64, 74))
        grad.setColorAt(1, QColor(28, 30, 35))
        painter.fillRect(image.rect(), grad)
    else:
        painter.fillRect(image.rect(), background)
    pen = QPen()
    pen.setWidthF(1.0)
    pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
    order = np.argsort(cell_depth, axis=None)
    for k in order.tolist():
        i, j = divmod(k, cols - 1)
        c = QColor(*rgb[i, j])
        pen.setColor(c)  # an outline of the same colour closes hairline cracks between cells
        painter.setPen(pen)
        painter.setBrush(c)
        painter.drawPolygon(
            QPolygonF(
                [
                    QPointF(px[i, j], py[i, j]),
                    QPointF(px[i, j + 1], py[i, j + 1]),
                    QPointF(px[i + 1, j + 1], py[i + 1, j + 1]),
                    QPointF(px[i + 1, j], py[i + 1, j]),
                ]
            )
        )
    _paint_walls(painter, px, py, pby, xr, yr, rel)
    painter.end()
    return image


def _paint_walls(painter: QPainter, px, py, pby, xr, yr, rel) -> None:
    """The four sides of the slab; only those whose outward side faces the viewer are seen."""
    edges = {
        "north": (np.s_[0, :], (0.0, -1.0)),
        "south": (np.s_[-1, :], (0.0, 1.0)),
        "west": (np.s_[:, 0], (-1.0, 0.0)),
        "east": (np.s_[:, -1], (1.0, 0.0)),
    }
    for key, (edge, (nx, ny)) in edges.items():
        # The outward normal in camera space: walls facing +yr (towards the viewer) are seen.
        x0, x1 = xr[edge][[0, -1]]
        y0, y1 = yr[edge][[0, -1]]
        # Outward direction rotated the same way as the points: test with the edge midpoint.
        mid_y = (y0 + y1) / 2
        centre_y = float(yr.mean())
        if mid_y <= centre_y:
            continue
        top_x, top_y, bottom_y = px[edge], py[edge], pby[edge]
        shade = 0.75 if key in ("south", "north") else 0.6
        heights = rel[edge]
        for k in range(len(top_x) - 1):
            t = float(heights[k] + heights[k + 1]) / 2
            c = QColor(*(int(v * 255) for v in np.clip(_WALL * (shade + 0.25 * t), 0, 1)))
            painter.setPen(QPen(c, 1.0))
            painter.setBrush(c)
            painter.drawPolygon(
                QPolygonF(
                    [
                        QPointF(top_x[k], top_y[k]),
                        QPointF(top_x[k + 1], top_y[k + 1]),
                        QPointF(top_x[k + 1], bottom_y[k + 1]),
                        QPointF(top_x[k], bottom_y[k]),
                    ]
                )
            )
        # A darker line along the bottom edge grounds the block.
        painter.setPen(QPen(QColor(20, 18, 16), 1.5))
        painter.drawPolyline(QPolygonF([QPointF(a, b) for a, b in zip(top_x, bottom_y)]))
