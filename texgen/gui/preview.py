"""The large preview: zoom, pan and a 1x1 / 2x2 / 3x3 tiling so seams show at a glance.

The image is drawn repeated with QPainter (never copied n x n), scaled by the zoom; below
1:1 it is filtered smoothly, above 2:1 pixels are drawn as crisp squares so artists can
count them. `hovered` gives the image pixel under the cursor (wrapped into the one tile),
for the values shown in the status bar.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

ZOOM_MIN, ZOOM_MAX = 1 / 16, 32.0


class Preview(QWidget):
    hovered = Signal(int, int)  # image x, y under the cursor
    left = Signal()  # cursor left the image
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(240, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pixmap: QPixmap | None = None
        self._tiles = 1
        self._zoom = 1.0
        self._fit = True  # zoom follows the widget size until the user zooms
        self._pan = QPointF(0, 0)  # offset of the picture's centre from the widget's, pixels
        self._drag: QPointF | None = None
        self._placeholder = "Generate to see a texture here"

    # --- what is shown -------------------------------------------------------------------
    def set_image(self, image: QImage | None) -> None:
        same_size = self._pixmap is not None and image is not None and self._pixmap.size() == image.size()
        self._pixmap = QPixmap.fromImage(image) if image is not None else None
        if not same_size:
            self.fit()
        self.update()

    def pixmap(self) -> QPixmap | None:
        """The picture shown (one tile), as set by `set_image`."""
        return self._pixmap

    def image_size(self) -> tuple[int, int] | None:
        return None if self._pixmap is None else (self._pixmap.width(), self._pixmap.height())

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    @property
    def tiles(self) -> int:
        return self._tiles

    def set_tiles(self, n: int) -> None:
        if n not in (1, 2, 3):
            raise ValueError(f"tiles must be 1, 2 or 3, not {n}")
        if n != self._tiles:
            self._tiles = n
            if self._fit:
                self.fit()
            self.update()

    @property
    def zoom(self) -> float:
        return self._zoom

    def fit(self) -> None:
        """Zoom so the whole tiled picture fits the widget, centred."""
        self._fit = True
        self._pan = QPointF(0, 0)
        if self._pixmap is not None:
            w, h = self._pixmap.width() * self._tiles, self._pixmap.height() * self._tiles
            self._zoom = max(ZOOM_MIN, min(ZOOM_MAX, 0.96 * min(self.width() / w, self.height() / h)))
            self.zoom_changed.emit(self._zoom)
        self.update()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the picture point under `anchor` (widget coordinates) in place."""
        zoom = max(ZOOM_MIN, min(ZOOM_MAX, zoom))
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        centre = QPointF(self.width() / 2, self.height() / 2) + self._pan
        self._pan += (anchor - centre) * (1 - zoom / self._zoom)
        self._zoom, self._fit = zoom, False
        self.zoom_changed.emit(zoom)
        self.update()

    # --- geometry ------------------------------------------------------------------------
    def picture_rect(self) -> QRectF:
        """Where the tiled picture lies, in widget coordinates."""
        if self._pixmap is None:
            return QRectF()
        w = self._pixmap.width() * self._tiles * self._zoom
        h = self._pixmap.height() * self._tiles * self._zoom
        c = QPointF(self.width() / 2, self.height() / 2) + self._pan
        return QRectF(c.x() - w / 2, c.y() - h / 2, w, h)

    def image_pixel(self, pos: QPointF) -> tuple[int, int] | None:
        """The image pixel under a widget position (any tile), or None off the picture."""
        r = self.picture_rect()
        if self._pixmap is None or not r.contains(pos):
            return None
        x = int((pos.x() - r.left()) / self._zoom) % self._pixmap.width()
        y = int((pos.y() - r.top()) / self._zoom) % self._pixmap.height()
        return x, y

    # --- painting ------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        if self._fit:
            self.fit()
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        _background(p, self.rect())
        if self._pixmap is None:
            p.setPen(QColor(170, 174, 182))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            return
        r = self.picture_rect()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._zoom < 2.0)
        p.translate(r.topLeft())
        p.scale(self._zoom, self._zoom)
        size = self._pixmap.width() * self._tiles, self._pixmap.height() * self._tiles
        p.drawTiledPixmap(QRectF(0, 0, *size), self._pixmap)
        p.end()

    # --- mouse ---------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self._zoom * (1.25**steps), event.position())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._drag = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            self._pan += event.position() - self._drag
            self._drag = event.position()
            self._fit = False
            self.update()
        px = self.image_pixel(event.position())
        if px is None:
            self.left.emit()
        else:
            self.hovered.emit(*px)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.fit()

    def leaveEvent(self, event) -> None:
        self.left.emit()

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.set_zoom(self._zoom * 1.25)
        elif key == Qt.Key.Key_Minus:
            self.set_zoom(self._zoom / 1.25)
        elif key == Qt.Key.Key_0:
            self.fit()
        elif key == Qt.Key.Key_1:
            self.set_zoom(1.0)
        else:
            super().keyPressEvent(event)


def _background(p: QPainter, rect) -> None:
    """A dark neutral background (a checker would fight with textures' own patterns)."""
    p.fillRect(rect, QColor(38, 40, 44))
