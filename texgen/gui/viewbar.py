"""The bar above the preview: what to show (colour, height, hillshade, normal, relief, lit; a
material's maps), how many tiles, fit, and the zoom. It holds no state of the window: it says
what was chosen (`mode_chosen`, `tiles_chosen`) and shows what it is told.

On a narrow window (a 1024 px screen) the bar takes two rows, the view modes above the
tiling, rather than holding the whole window wider than the screen; a material's seven modes
take two rows of their own when even that is too narrow."""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QButtonGroup, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

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
        self.mode_row2 = QHBoxLayout()  # the second half of the modes, when they are split
        self.mode_row2.addStretch(1)
        mode_rows = QVBoxLayout()
        mode_rows.setContentsMargins(0, 0, 0, 0)
        mode_rows.addLayout(self.mode_row)
        mode_rows.addLayout(self.mode_row2)
        self.bar.addLayout(mode_rows, 1)
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
            self.mode_row2.removeWidget(b)
            b.hide()
            b.deleteLater()
        for i, mode in enumerate(modes):
            b = QToolButton(text=imaging.VIEW_LABELS[mode], checkable=True)
            b.setProperty("mode", mode)
            if mode in imaging.VIEW_TIPS:
                b.setToolTip(imaging.VIEW_TIPS[mode])
            self.modes.addButton(b, i)
            self.mode_row.insertWidget(i, b)
            b.ensurePolished()  # measured with the style sheet's padding, before it is first shown
        self.show_mode(current)
        self._fit_rows(self.width())
        self.updateGeometry()

    # --- one row or two (or three) ---------------------------------------------------------
    def _widths(self, buttons) -> int:
        """The width of a row of these buttons, spacing included."""
        return sum(b.sizeHint().width() for b in buttons) + self.mode_row.spacing() * max(len(buttons) - 1, 0)

    def _row_widths(self) -> tuple[int, int]:
        return self._widths(self._buttons()), self.view_row.sizeHint().width()

    def _buttons(self) -> list[QToolButton]:
        return sorted(self.modes.buttons(), key=self.modes.id)

    def _halves(self) -> tuple[list[QToolButton], list[QToolButton]]:
        buttons = self._buttons()
        k = (len(buttons) + 1) // 2
        return buttons[:k], buttons[k:]

    def minimumSizeHint(self) -> QSize:
        first, _ = self._halves()
        return QSize(max(self._widths(first), self.view_row.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fit_rows(event.size().width())
        super().resizeEvent(event)

    def _fit_rows(self, width: int) -> None:
        modes, view = self._row_widths()
        one_row = width >= modes + self.bar.spacing() + view
        direction = QBoxLayout.Direction.LeftToRight if one_row else QBoxLayout.Direction.TopToBottom
        # The modes in one row while it fits the bar, else split in two rows above the tiling.
        first, second = self._halves() if width < modes else (self._buttons(), [])
        rows = ((self.mode_row, first), (self.mode_row2, second))
        moved = any(row.indexOf(b) != i for row, buttons in rows for i, b in enumerate(buttons))
        if moved:
            for b in self._buttons():
                self.mode_row.removeWidget(b)
                self.mode_row2.removeWidget(b)
            for row, buttons in rows:
                for i, b in enumerate(buttons):
                    row.insertWidget(i, b)
        if self.bar.direction() != direction or moved:
            self.bar.setDirection(direction)
            self.updateGeometry()  # the height changes

    def show_mode(self, mode: str) -> None:
        for b in self.modes.buttons():
            b.setChecked(b.property("mode") == mode)
        own = mode in (imaging.RELIEF, imaging.LIT)
        for b in self.tiles.buttons():
            b.setEnabled(not own)  # a 3D block is not tiled; the lit plane has its own copies
        self.fit.setEnabled(not own)  # nor zoomed: it fills its view
        self.zoom.setEnabled(not own)

    def show_tiles(self, n: int) -> None:
        self.tiles.button(n).setChecked(True)

    def show_zoom(self, zoom: float) -> None:
        self.zoom.setText(f"{zoom * 100:.0f}%")
