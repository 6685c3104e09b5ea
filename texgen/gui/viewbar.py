"""The bar above the preview: what to show (colour, height, hillshade, normal, relief),
how many tiles, fit, and the zoom. It holds no state of the window: it says what was
chosen (`mode_chosen`, `tiles_chosen`) and shows what it is told."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QToolButton, QWidget

from texgen.gui import imaging


class ViewBar(QWidget):
    mode_chosen = Signal(str)
    tiles_chosen = Signal(int)
    fit_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        bar = QHBoxLayout(self)
        bar.setContentsMargins(0, 0, 0, 0)
        self.modes = QButtonGroup(self)
        self.mode_row = QHBoxLayout()
        bar.addLayout(self.mode_row)
        bar.addStretch(1)
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
            b.deleteLater()
        for i, mode in enumerate(modes):
            b = QToolButton(text=imaging.VIEW_LABELS[mode], checkable=True)
            b.setProperty("mode", mode)
            self.modes.addButton(b, i)
            self.mode_row.addWidget(b)
        self.show_mode(current)

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
