"""The generate controls: seed and "random", variations, class, size, scale, seamless, erosion
(heightmaps), map strength.

`spec()` turns the widgets into a `GenerateSpec` (the arguments of `sampling.sample`), so what
the window generates is what `texgen generate --seeds S-(S+N-1) --size ... --class ...` makes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)

from texgen.erosion import DRAINAGE
from texgen.latents import MAX_SEED, random_seed
from texgen.model import Generator
from texgen.sampling import MAX_SCALE, MIN_SCALE
from texgen.service import DEFAULT_SPATIAL_SIZE
from texgen.gui.state import MAX_VARIATIONS, GenerateSpec

SIZES = (64, 128, 256, 512, 1024, 2048, 4096)
NATIVE = 0  # the size combo's data for "the model's own size"
# The scale slider moves in quarter octaves: position p is scale 2 ** (p / 4), 0.25 to 8
# (texgen.sampling.MIN_SCALE, MAX_SCALE), 1 in the middle of its travel to the left.
SCALE_STEPS = 4


def scale_of(position: int) -> float:
    return round(2.0 ** (position / SCALE_STEPS), 4)


def position_of(scale: float) -> int:
    import math  # noqa: PLC0415

    return round(math.log2(scale) * SCALE_STEPS)


class Controls(QWidget):
    generate_requested = Signal(object)  # GenerateSpec
    cancel_requested = Signal()
    strength_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.seed = QSpinBox()
        self.seed.setRange(0, min(MAX_SEED, 2**31 - 1))
        self.seed.setToolTip("The first seed: the same seed always gives the same texture")
        self.random = QToolButton(text="Random")
        self.random.setToolTip("Pick a new random seed and generate")
        self.random.clicked.connect(self._randomise)
        self.random.setMinimumWidth(self.random.sizeHint().width() + 8)
        row = QHBoxLayout()
        row.addWidget(self.seed, 1)
        row.addWidget(self.random)
        form.addRow("Seed", row)

        self.count = QSpinBox()
        self.count.setRange(1, MAX_VARIATIONS)
        self.count.setValue(8)
        self.count.setToolTip("How many variations: seeds from Seed on")
        form.addRow("Variations", self.count)

        self.label = QComboBox()
        self.label.setToolTip("The class to generate (conditional models only)")
        form.addRow("Class", self.label)

        self.size = QComboBox()
        self.size.setToolTip("Output size in pixels. Tileable models make any size; others are upscaled")
        form.addRow("Size", self.size)

        self.scale = QSlider(Qt.Orientation.Horizontal)
        self.scale.setRange(position_of(MIN_SCALE), position_of(MAX_SCALE))
        self.scale.setValue(0)
        self.scale.setPageStep(SCALE_STEPS)
        self.scale.setToolTip(
            "Texel scale: 2 draws features twice as large (interpolated, softer pixels), 0.5 half as large "
            "(made larger and filtered down); as texgen generate --scale. Double-click the value for 1"
        )
        self.scale_value = QLabel()
        self.scale_value.setMinimumWidth(self.scale_value.fontMetrics().horizontalAdvance("× 0.25 ") + 4)
        self.scale.valueChanged.connect(self._show_scale)
        self.scale_value.mouseDoubleClickEvent = lambda _event: self.scale.setValue(0)
        row = QHBoxLayout()
        row.addWidget(self.scale, 1)
        row.addWidget(self.scale_value)
        form.addRow("Scale", row)
        self._show_scale(0)

        self.seamless = QCheckBox("Seamless")
        self.seamless.setChecked(True)
        form.addRow("", self.seamless)

        # Heightmaps: the erosion the export writes, shown in every view before exporting.
        self.erosion = QComboBox()
        self.erosion.addItem("None", None)
        self.erosion.addItem(f"Rivers {DRAINAGE.rivers} · thermal {DRAINAGE.thermal}", DRAINAGE)
        self.erosion.setToolTip(
            "Erode each heightmap after generating it, as the export does (texgen generate --erosion "
            f"rivers={DRAINAGE.rivers},thermal={DRAINAGE.thermal}): river networks cut as in real terrain, about 1.5 s a 512 px map. "
            "The export dialog starts with it; set other amounts there"
        )
        form.addRow("Erosion", self.erosion)

        self.strength = QDoubleSpinBox()
        self.strength.setRange(0.0, 500.0)
        self.strength.setSingleStep(0.5)
        # 0 shows "auto": the runtime's default per kind and size (service.normal_strength_for),
        # as `texgen generate` without --normal-strength.
        self.strength.setSpecialValueText("auto")
        self.strength.setValue(0.0)
        self.strength.setToolTip("Bumpiness of the derived normal map (preview and export); auto = the CLI's default")
        self.strength.valueChanged.connect(self.strength_changed.emit)
        form.addRow("Normal strength", self.strength)

        self.go = QPushButton("Generate")
        self.go.setDefault(True)
        self.go.setShortcut("Ctrl+Return")
        self.go.setToolTip("Generate the variations (Ctrl+Enter)")
        self.go.clicked.connect(self._generate)
        self.stop = QPushButton("Cancel")
        self.stop.setEnabled(False)
        self.stop.clicked.connect(self.cancel_requested.emit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.go, 2)
        buttons.addWidget(self.stop, 1)
        form.addRow(buttons)
        self.set_model(None)

    # --- model to view -------------------------------------------------------------------
    def set_model(self, gen: Generator | None) -> None:
        """Fit the controls to a model: its classes, the sizes it can make, tileability."""
        info = gen.info if gen is not None else None
        self.label.clear()
        if info is not None and info.classes:
            for i, name in enumerate(info.classes):
                self.label.addItem(name, i)
        else:
            self.label.addItem("(not conditional)", None)
        self.label.setEnabled(bool(info and info.classes))

        self.size.clear()
        if info is not None:
            self.size.addItem(f"native {info.native_width} × {info.native_height}", NATIVE)
        for side in SIZES:
            self.size.addItem(f"{side} × {side}", side)
        # A new model starts at what `texgen generate` makes by default: spatial models
        # DEFAULT_SPATIAL_SIZE, fixed-size models their native size.
        want = DEFAULT_SPATIAL_SIZE if info is not None and info.spatial else NATIVE
        self.size.setCurrentIndex(max(self.size.findData(want), 0))

        spatial = bool(info and info.spatial)
        self.scale.setEnabled(spatial)
        self.scale_value.setEnabled(spatial)
        if not spatial:
            self.scale.setValue(0)  # fixed-size models have no texel scale to change
        heightmap = bool(info and info.kind == "heightmap")
        self.erosion.setEnabled(heightmap)
        if not heightmap:
            self.erosion.setCurrentIndex(0)  # textures are not eroded
        tileable = bool(info and info.tileable)
        self.seamless.setEnabled(not tileable)
        if tileable:
            self.seamless.setChecked(True)
            self.seamless.setToolTip("This model tiles by construction")
        else:
            self.seamless.setToolTip("Repair the wrap-around seam so the texture tiles")
        self.go.setEnabled(gen is not None)
        self.random.setEnabled(gen is not None)

    def texel_scale(self) -> float:
        """The chosen texel scale (1: as the model draws)."""
        return scale_of(self.scale.value())

    def set_texel_scale(self, scale: float) -> None:
        self.scale.setValue(position_of(min(max(scale, MIN_SCALE), MAX_SCALE)))

    def _show_scale(self, position: int) -> None:
        self.scale_value.setText(f"× {scale_of(position):.3g}")

    def normal_strength(self) -> float | None:
        """The chosen bumpiness, or None for the runtime's default."""
        value = float(self.strength.value())
        return value if value > 0 else None

    def set_busy(self, busy: bool) -> None:
        self.stop.setEnabled(busy)

    # --- view to request -----------------------------------------------------------------
    def spec(self) -> GenerateSpec:
        first, n = self.seed.value(), self.count.value()
        size = self.size.currentData()
        return GenerateSpec(
            seeds=tuple(range(first, first + n)),
            size=None if not size else (size, size),
            label=self.label.currentData(),
            seamless=self.seamless.isChecked(),
            scale=self.texel_scale() if self.scale.isEnabled() else 1.0,
            erosion=self.erosion.currentData() if self.erosion.isEnabled() else None,
        )

    def set_size(self, side: int) -> None:
        """Pick a size from the menu (0: the model's native size)."""
        index = self.size.findData(side)
        if index < 0:
            raise ValueError(f"size {side} is not in the size menu")
        self.size.setCurrentIndex(index)

    def _generate(self) -> None:
        self.generate_requested.emit(self.spec())

    def _randomise(self) -> None:
        self.seed.setValue(random_seed() % (self.seed.maximum() + 1))
        self._generate()
