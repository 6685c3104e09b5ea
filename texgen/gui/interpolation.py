"""Live interpolation between two picked variations: a slider along the latent path.

Pick A and B in the gallery (keys A and B, or its menu); moving the slider asks the state
for the image at t (spherical interpolation of the two seeds' latents, `sampling.interpolate`)
and the preview shows it as soon as it is ready. Only the newest position is computed.
Export… then offers the frames of the whole path (`texgen generate --interpolate A:B`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QSlider, QWidget

from texgen.gui import imaging
from texgen.gui.state import Variation

STEPS = 100


class InterpolationPanel(QWidget):
    position_changed = Signal(object, object, float)  # A, B, t

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.a: Variation | None = None
        self.b: Variation | None = None
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Drag to morph from A to B")
        self.slider.valueChanged.connect(self._moved)
        self.thumb_a, self.thumb_b = QLabel(), QLabel()
        for label in (self.thumb_a, self.thumb_b):
            label.setFixedSize(64, 64)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("border: 1px solid #555; color: #888")
        self.thumb_a.setText("A")
        self.thumb_b.setText("B")
        self.hint = QLabel("Pick two variations with A and B in the gallery")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #9aa0a8")
        grid = QGridLayout(self)
        grid.addWidget(self.thumb_a, 0, 0)
        grid.addWidget(self.slider, 0, 1)
        grid.addWidget(self.thumb_b, 0, 2)
        grid.addWidget(self.hint, 1, 0, 1, 3)
        grid.setColumnStretch(1, 1)

    @property
    def t(self) -> float:
        return self.slider.value() / STEPS

    def seeds(self) -> tuple[int, int] | None:
        """(seed A, seed B) when two different seeds are picked: what Export… can morph."""
        if self.a is None or self.b is None or self.a.seed is None or self.b.seed is None or self.a.seed == self.b.seed:
            return None
        return self.a.seed, self.b.seed

    def pick(self, mark: str, v: Variation) -> None:
        label = self.thumb_a if mark == "A" else self.thumb_b
        if mark == "A":
            self.a = v
        else:
            self.b = v
        # A texture's detail kept, as in the gallery (a crop of the image); a terrain from its thumbnail, whole.
        label.setPixmap(QPixmap.fromImage(imaging.thumbnail(v.image if v.texture else v.thumb, 62, detail=v.texture)))
        label.setToolTip(v.title)
        ready = self.a is not None and self.b is not None
        self.slider.setEnabled(ready)
        if ready:
            self.hint.setText(f"seed {self.a.seed} → seed {self.b.seed}: drag the slider; Export… writes the frames")

    def reset(self) -> None:
        self.a = self.b = None
        for label, text in ((self.thumb_a, "A"), (self.thumb_b, "B")):
            label.clear()
            label.setText(text)
        self.slider.blockSignals(True)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.slider.setEnabled(False)
        self.hint.setText("Pick two variations with A and B in the gallery")

    def _moved(self, value: int) -> None:
        if self.a is not None and self.b is not None:
            self.hint.setText(f"seed {self.a.seed} → seed {self.b.seed}:  t = {value / STEPS:.2f}")
            self.position_changed.emit(self.a, self.b, value / STEPS)
