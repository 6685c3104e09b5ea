"""The bar above the preview: what to show (colour, height, hillshade, normal, relief),
how many tiles, fit, and the zoom. It holds no state of the window: it says what was
chosen (`mode_chosen`, `tiles_chosen`) and shows what it is told.

On a narrow window (a 1024 px screen) the bar takes two rows, the view modes above the
tiling, rather than holding the whole window wider than the screen."""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QButtonGroup, QHBoxLayout, QLabel, QToolButton, QWidget

from texgen.gui import imaging


class ViewBar(QWidget):
    mode_chosen = Signal(str)
    tiles_chosen = Signal(int)
    fit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.bar.setContentsMargins(0, 0, 0, 0)
        self.modes = QButtonGroup(self)
        self.mode_row = QHBoxLayout()
        self.mode_row.addStretch(1)  # the buttons go before it, so a row is packed to the left
        self.bar.addLayout(self.mode_row, 1)
        self.view_row = bar = QHBoxLayout()
        bar.addStretch(1)  # on a row of its own, the tiling keeps to the right
        self.bar.addLayout(self.view_row)
        self.tiles = QButtonGroup(self)
        for n in (1, 2, 3):
            b = QToolButton(text=f"{n}×{n}", checkable=True)
            b.setToolTip(f"Show the texture repeated {n}×{n} to check its seams (Ctrl+{n})")
            self.tiles.addButton(b, n)
            bar.addWidget(b)
        self.tiles.button(1).setChecked(True)
        self.tiles.idClicked.connect(self.tiles_chosen.emit)
        self.fit = QToolButton(text="Fit")
        self.fit.setToolTip("Fit the picture in the view (double-click the picture, Ctrl+0)")
        self.fit.clicked.connect(self.fit_requested.emit)
        bar.addWidget(self.fit)
        self.zoom = QLabel("100%")
        self.zoom.setMinimumWidth(48)
        bar.addWidget(self.zoom)
        self.modes.idClicked.connect(lambda i: self.mode_chosen.emit(self.modes.button(i).property("mode")))

    def set_modes(self, modes: list[str], current: str) -> None:
        """Offer `modes` (see imaging.views_for) with `current` pressed."""
        for b in self.modes.buttons():
            self.modes.removeButton(b)
            self.mode_row.removeWidget(b)  # now: deleteLater leaves it in the row, measured, until later
            b.hide()
            b.deleteLater()
        for i, mode in enumerate(modes):
            b = QToolButton(text=imaging.VIEW_LABELS[mode], checkable=True)
            b.setProperty("mode", mode)
            self.modes.addButton(b, i)
            self.mode_row.insertWidget(i, b)
        self.show_mode(current)
        self._fit_rows(self.width())
        self.updateGeometry()

    # --- one row or two -------------------------------------------------------------------
    def _row_widths(self) -> tuple[int, int]:
        return self.mode_row.sizeHint().width(), self.view_row.sizeHint().width()

    def minimumSizeHint(self) -> QSize:
        modes, view = self._row_widths()
        return QSize(max(modes, view), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fit_rows(event.size().width())
        super().resizeEvent(event)

    def _fit_rows(self, width: int) -> None:
        modes, view = self._row_widths()
        one_row = width >= modes + self.bar.spacing() + view
        direction = QBoxLayout.Direction.LeftToRight if one_row else QBoxLayout.Direction.TopToBottom
        if self.bar.direction() != direction:
            self.bar.setDirection(direction)
            self.updateGeometry()  # the height changes

    def show_mode(self, mode: str) -> None:
        for b in self.modes.buttons():
            b.setChecked(b.property("mode") == mode)
        relief = mode == imaging.RELIEF
        for b in self.tiles.buttons():
            b.setEnabled(not relief)  # a 3D block is not tiled
        self.fit.setEnabled(not relief)  # nor zoomed: it fills its view
        self.zoom.setEnabled(not relief)

    def show_tiles(self, n: int) -> None:
        self.tiles.button(n).setChecked(True)

    def show_zoom(self, zoom: float) -> None:
        self.zoom.setText(f"{zoom * 100:.0f}%")
