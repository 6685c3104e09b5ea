"""Line charts drawn with QPainter (QtCharts is not in PySide6-Essentials).

A `Chart` holds named series of (x, y) points and draws them with axes, a few grid lines
and a legend. Enough for training curves: losses per step, metrics per evaluation.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

PALETTE = ("#4fc3f7", "#ffb74d", "#81c784", "#e57373", "#ba68c8", "#fff176")


def nice_ticks(lo: float, hi: float, count: int = 4, integer: bool = False) -> list[float]:
    """About `count` round numbers spanning lo..hi (1, 2 or 5 times a power of ten apart);
    whole numbers only with `integer` (steps: a narrow range gets fewer ticks, never 468.2)."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 5, 10)), key=lambda s: abs((hi - lo) / s - count))
    if integer:
        step = max(step, 1)
    first = math.ceil(lo / step) * step
    ticks, v = [], first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    return ticks


def _label(v: float, integer: bool = False, step: float | None = None) -> str:
    """A tick label; with the ticks' `step`, as many decimals as tell neighbours apart (221.6
    and 221.8, not 222 twice)."""
    if integer and abs(v) < 1e9:
        return f"{int(round(v)):,}"
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-2:
        return f"{v:.1e}"
    if step:
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        return f"{v:.{min(decimals, 6)}f}"
    return f"{v:.3g}"


class Chart(QWidget):
    def __init__(self, title: str = "", parent: QWidget | None = None, labels: dict[str, str] | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.labels = labels or {}  # series name -> what the legend says
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.colours: dict[str, QColor] = {}
        self.x_label = "step"
        self.placeholder = "waiting for data"
        self.setMinimumSize(260, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def add_point(self, name: str, x: float, y: float) -> None:
        if y is None or not math.isfinite(float(y)):
            return
        if name not in self.series:
            self.series[name] = []
            self.colours[name] = QColor(PALETTE[(len(self.series) - 1) % len(PALETTE)])
        self.series[name].append((float(x), float(y)))
        self.update()

    def clear(self) -> None:
        self.series.clear()
        self.colours.clear()
        self.update()

    def bounds(self) -> tuple[float, float, float, float] | None:
        points = [p for s in self.series.values() for p in s]
        if not points:
            return None
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        # One point (a first evaluation, a resumed run): from step 0 and from 0, so that it reads
        # as a value (axes of 999-1001 and 30.1-31.1 made a lone reading look like noise).
        if x1 == x0:
            x0, x1 = (0.0, x1 * 1.1) if x1 > 0 else (x0 - 1, x1 + 1)  # the point clear of the right edge
        if y1 == y0:
            y0, y1 = (0.0, y1 * 1.25) if y1 > 0 else (y0 * 1.25, 0.0) if y0 < 0 else (-0.5, 0.5)
        pad = (y1 - y0) * 0.06
        return x0, x1, y0 - pad, y1 + pad

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(30, 32, 36))
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        p.setFont(small)
        fm = p.fontMetrics()
        left, top, right, bottom = fm.horizontalAdvance("-0.000e+00") + 6, fm.height() + 10, 10, fm.height() + 10
        # The legend sits on the title's line when both fit, else on a line of its own.
        legend_w = sum(fm.horizontalAdvance(self.labels.get(name, name)) + 18 for name in self.series)
        width = self.width() - left - right
        legend_row = (
            fm.height() + 10 if fm.horizontalAdvance(self.title) + 16 + legend_w <= width else 2 * fm.height() + 14
        )
        top = legend_row
        plot = QRectF(left, top, width, self.height() - top - bottom)
        p.setPen(QColor(200, 204, 210))
        p.drawText(QRectF(left, 2, plot.width(), fm.height() + 4), Qt.AlignmentFlag.AlignLeft, self.title)
        b = self.bounds()
        if b is None or plot.width() < 20 or plot.height() < 20:
            p.setPen(QColor(120, 124, 130))
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        x0, x1, y0, y1 = b

        def to_px(x: float, y: float) -> QPointF:
            return QPointF(
                plot.left() + (x - x0) / (x1 - x0) * plot.width(), plot.bottom() - (y - y0) / (y1 - y0) * plot.height()
            )

        # Grid and axis labels.
        grid = QPen(QColor(60, 63, 70), 1, Qt.PenStyle.DotLine)
        yticks = nice_ticks(y0, y1)
        ystep = yticks[1] - yticks[0] if len(yticks) > 1 else None
        for y in yticks:
            pt = to_px(x0, y)
            p.setPen(grid)
            p.drawLine(QPointF(plot.left(), pt.y()), QPointF(plot.right(), pt.y()))
            p.setPen(QColor(150, 154, 160))
            p.drawText(
                QRectF(0, pt.y() - fm.height() / 2, left - 4, fm.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                _label(y, step=ystep),
            )
        for x in nice_ticks(x0, x1, 5, integer=self.x_label == "step"):
            pt = to_px(x, y0)
            p.setPen(grid)
            p.drawLine(QPointF(pt.x(), plot.top()), QPointF(pt.x(), plot.bottom()))
            p.setPen(QColor(150, 154, 160))
            box = min(max(pt.x() - 40, 0.0), self.width() - 80.0)  # the last label is not cut at the edge
            p.drawText(
                QRectF(box, plot.bottom() + 2, 80, fm.height()),
                Qt.AlignmentFlag.AlignHCenter,
                _label(x, self.x_label == "step"),
            )
        p.setPen(QPen(QColor(110, 114, 120), 1))
        p.drawRect(plot)

        # Series, then the legend on top.
        for name, pts in self.series.items():
            path = QPainterPath(to_px(*pts[0]))
            for pt in pts[1:]:
                path.lineTo(to_px(*pt))
            p.setPen(QPen(self.colours[name], 1.6))
            p.setBrush(Qt.BrushStyle.NoBrush)
            if len(pts) == 1:
                p.setBrush(self.colours[name])
                p.drawEllipse(to_px(*pts[0]), 2.5, 2.5)
            else:
                p.drawPath(path)
        x = plot.right() - 6
        for name in reversed(list(self.series)):
            w = fm.horizontalAdvance(self.labels.get(name, name)) + 18
            x -= w
            p.setPen(QPen(self.colours[name], 3))
            p.drawLine(QPointF(x, legend_row - fm.height() / 2 - 3), QPointF(x + 12, legend_row - fm.height() / 2 - 3))
            p.setPen(QColor(200, 204, 210))
            p.drawText(QPointF(x + 15, legend_row - 6), self.labels.get(name, name))
        p.end()
