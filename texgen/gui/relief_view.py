"""The widget around `relief.render_relief`: drag to turn the block, wheel for height.

Renders run on a worker (`Latest`: while one runs only the newest request waits), at a
coarse grid while the mouse is down and at full detail when it is released.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from texgen.gui import imaging
from texgen.gui.relief import GRID, Camera, render_relief
from texgen.gui.workers import Latest

DRAG_CELLS = 48


class ReliefView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.camera = Camera()
        self._height: np.ndarray | None = None
        self._image: QImage | None = None
        self._drag: QPointF | None = None
        self._renders = Latest(self)
        self._renders.result.connect(self._on_rendered)
        self._resize_timer = QTimer(self, singleShot=True, interval=150, timeout=self.render)
        self.renders_done = 0  # for tests: how many renders came back

    def set_image(self, img: np.ndarray | None) -> None:
        """Show the relief of an image (a heightmap, or a texture's luminance)."""
        self._height = img  # reduced to a height on the worker, off the GUI thread
        self.render()

    def image(self) -> QImage | None:
        return self._image

    def render(self, cells: int = GRID) -> None:
        if self._height is None:
            self._image = None
            self.update()
            return
        height, camera = self._height, self.camera
        w, h = max(self.width(), 320), max(self.height(), 240)
        self._renders.submit(
            lambda report, cancelled: render_relief(imaging.height_of(height), w, h, camera, cells=cells)
        )

    def _on_rendered(self, image: QImage) -> None:
        self._image = image
        self.renders_done += 1
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(38, 40, 44))
        if self._image is None:
            p.setPen(QColor(170, 174, 182))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Generate to see the relief here")
            return
        img = self._image
        if img.size() != self.size():
            img = img.scaled(
                self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        p.drawImage(QPointF((self.width() - img.width()) / 2, (self.height() - img.height()) / 2), img)
        p.setPen(QColor(150, 154, 162))
        p.drawText(
            self.rect().adjusted(8, 0, -8, -6),
            Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft,
            "drag to turn · wheel for height",
        )
        p.end()

    def resizeEvent(self, event) -> None:
        self._resize_timer.start()
        super().resizeEvent(event)

    def mousePressEvent(self, event) -> None:
        self._drag = event.position()

    def mouseMoveEvent(self, event) -> None:
        if self._drag is None:
            return
        d = event.position() - self._drag
        self._drag = event.position()
        c = self.camera
        self.camera = dataclasses.replace(
            c, azimuth=(c.azimuth + d.x() * 0.5) % 360, elevation=max(12.0, min(85.0, c.elevation + d.y() * 0.3))
        )
        self.render(DRAG_CELLS)

    def mouseReleaseEvent(self, event) -> None:
        self._drag = None
        self.render()

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            c = self.camera
            self.camera = dataclasses.replace(c, exaggeration=max(0.1, min(5.0, c.exaggeration * 1.15**steps)))
            self.render()
