"""The gallery of variations: thumbnails, keyboard navigation, favourites, A/B picks.

Arrow keys move through the thumbnails (QListWidget's own navigation); F or a double-click
toggles a favourite (a gold star on the thumbnail); A and B pick the two ends of the
interpolation. Shift/Ctrl-click selects several for export.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QImage, QPainter, QPainterPath, QPixmap, QPolygonF
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QMenu, QWidget

from texgen.gui.imaging import THUMB
from texgen.gui.state import Variation

_ROLE = Qt.ItemDataRole.UserRole


def _star(centre: QPointF, r: float) -> QPolygonF:
    import math  # noqa: PLC0415

    pts = []
    for k in range(10):
        a = -math.pi / 2 + k * math.pi / 5
        rr = r if k % 2 == 0 else r * 0.45
        pts.append(QPointF(centre.x() + rr * math.cos(a), centre.y() + rr * math.sin(a)))
    return QPolygonF(pts)


def badge_icon(v: Variation, mark: str = "") -> QIcon:
    """The thumbnail with a star when favourite and an A or B badge when picked."""
    # RGB first: a grey thumbnail (heightmaps) would turn the coloured badges grey.
    pix = QPixmap.fromImage(v.thumb.convertToFormat(QImage.Format.Format_RGB32))
    if v.favourite or mark:
        _paint_badges(pix, v.favourite, mark)
    icon = QIcon()
    # The same picture when selected: Qt's default tints selected icons, which would
    # change the colours the artist is judging. The selection shows as a frame instead.
    for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected, QIcon.Mode.Active):
        icon.addPixmap(pix, mode)
    return icon


def _paint_badges(pix: QPixmap, favourite: bool, mark: str) -> None:
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if favourite:
        p.setPen(QColor(60, 40, 0))
        p.setBrush(QColor(255, 196, 40))
        p.drawPolygon(_star(QPointF(pix.width() - 14, 14), 10))
    if mark:
        path = QPainterPath()
        path.addRoundedRect(4, 4, 22, 20, 5, 5)
        p.fillPath(path, QColor(40, 110, 200) if mark == "A" else QColor(200, 80, 40))
        p.setPen(QColor("white"))
        f = p.font()
        f.setBold(True)
        p.setFont(f)
        p.drawText(4, 4, 22, 20, Qt.AlignmentFlag.AlignCenter, mark)
    p.end()


class Gallery(QListWidget):
    current_changed = Signal(object)  # Variation or None
    favourite_toggled = Signal(object, bool)
    picked = Signal(str, object)  # "A" or "B", Variation
    export_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 18, THUMB + 30))
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)  # a filmstrip: one row, scrolled sideways
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMinimumHeight(THUMB + 52)
        self.setStyleSheet(
            "QListWidget::item { border: 2px solid #2a2c31; border-radius: 3px; }"
            "QListWidget::item:selected { border: 2px solid #3d7ecc; background: #2b3f58; color: white; }"
        )
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.currentItemChanged.connect(lambda cur, _prev: self.current_changed.emit(self.variation(cur)))
        # A click on the current thumbnail shows it again (after an interpolated frame, say),
        # which currentItemChanged, unchanged, does not say; a click that changes the current
        # item is said once, by currentItemChanged on the press.
        self._current_at_press = None
        self.itemClicked.connect(
            lambda item: item is self._current_at_press and self.current_changed.emit(self.variation(item))
        )
        self.itemDoubleClicked.connect(lambda item: self.toggle_favourite(self.variation(item)))
        self.marks: dict[str, int] = {}  # "A"/"B" -> variation key

    # --- model to view -------------------------------------------------------------------
    def add_variation(self, v: Variation) -> QListWidgetItem:
        item = QListWidgetItem(badge_icon(v), v.title)
        item.setData(_ROLE, v)
        item.setToolTip(f"{v.title}: F favourite · A/B pick for interpolation")
        self.addItem(item)
        if self.count() == 1:
            self.setCurrentItem(item)
        return item

    def variation(self, item: QListWidgetItem | None) -> Variation | None:
        return None if item is None else item.data(_ROLE)

    def variations(self) -> list[Variation]:
        return [self.item(i).data(_ROLE) for i in range(self.count())]

    def current_variation(self) -> Variation | None:
        return self.variation(self.currentItem())

    def selected_variations(self) -> list[Variation]:
        rows = sorted(self.row(i) for i in self.selectedItems())
        return [self.item(r).data(_ROLE) for r in rows]

    def item_for(self, v: Variation) -> QListWidgetItem | None:
        for i in range(self.count()):
            if self.item(i).data(_ROLE).key == v.key:
                return self.item(i)
        return None

    def refresh(self, v: Variation) -> None:
        item = self.item_for(v)
        if item is not None:
            mark = next((m for m, key in self.marks.items() if key == v.key), "")
            item.setIcon(badge_icon(v, mark))
            item.setText(("★ " if v.favourite else "") + v.title)

    def clear(self) -> None:
        self.marks = {}
        super().clear()

    # --- actions -------------------------------------------------------------------------
    def toggle_favourite(self, v: Variation | None) -> None:
        if v is None:
            return
        self.favourite_toggled.emit(v, not v.favourite)
        self.refresh(v)

    def pick(self, mark: str, v: Variation | None) -> None:
        if v is None:
            return
        old = self.marks.get(mark)
        self.marks[mark] = v.key
        for other in self.variations():
            if other.key in (old, v.key):
                self.refresh(other)
        self.picked.emit(mark, v)

    def mousePressEvent(self, event) -> None:
        self._current_at_press = self.currentItem()
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:
        key, v = event.key(), self.current_variation()
        if key == Qt.Key.Key_F:
            self.toggle_favourite(v)
        elif key == Qt.Key.Key_A:
            self.pick("A", v)
        elif key == Qt.Key.Key_B:
            self.pick("B", v)
        else:
            super().keyPressEvent(event)

    def _menu(self, pos) -> None:
        v = self.variation(self.itemAt(pos))
        if v is None:
            return
        menu = QMenu(self)
        fav = QAction("Remove from favourites" if v.favourite else "Add to favourites", menu)
        fav.triggered.connect(lambda: self.toggle_favourite(v))
        a = QAction("Interpolate from here (A)", menu)
        a.triggered.connect(lambda: self.pick("A", v))
        b = QAction("Interpolate to here (B)", menu)
        b.triggered.connect(lambda: self.pick("B", v))
        exp = QAction("Export selected…", menu)
        exp.triggered.connect(self.export_requested.emit)
        for act in (fav, a, b, exp):
            menu.addAction(act)
        menu.exec(self.mapToGlobal(pos))
