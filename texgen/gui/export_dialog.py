"""The export dialog: engine preset, size, byte order, maps, folder, file names, which seeds
(or the frames of the interpolation between the two variations picked as A and B).

It only builds a `service.GenerateRequest` and runs `service.generate` on a worker with the
model the window already holds, so it writes byte for byte what `texgen generate` writes for
the same request; the equivalent command is shown under the form, to copy into a script.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from texgen.erosion import MAX_RAIN, MAX_RIVERS, MAX_THERMAL, Erosion
from texgen.maps import CONVENTIONS
from texgen.model import Generator
from texgen.export import MAPS, MATERIAL_ONLY, NAME_FIELDS
from texgen.presets import PRESETS, ExportPreset
from texgen.service import DEFAULT_PRESETS, GenerateRequest, GenerateResult, Progress, default_maps, generate
from texgen.commands import generate_command
from texgen.gui.settings import Settings
from texgen.gui.workers import Worker, run_in_pool

ANY_SIZES = (256, 512, 1024, 2048, 4096)
SELECTION, FAVOURITES, BATCH, FRAMES = "selection", "favourites", "batch", "frames"


def preset_sizes(preset: ExportPreset, generated: int | None) -> list[int]:
    """The sizes offered for a preset: its allowed ones, else its recommended and common ones."""
    if preset.sizes:
        return list(preset.sizes)
    sizes = set(preset.recommended_sizes) or set(ANY_SIZES)
    if not preset.recommended_sizes and generated:
        sizes.add(generated)
    return sorted(sizes)


class ExportDialog(QDialog):
    def __init__(
        self,
        gen: Generator,
        *,
        settings: Settings,
        selected_seeds: list[int] = (),
        favourite_seeds: list[int] = (),
        interpolation: tuple[int, int] | None = None,
        size: tuple[int, int] | None = None,
        label: str | int | None = None,
        seamless: bool = True,
        scale: float = 1.0,
        erosion: Erosion | None = None,
        normal_strength: float | None = None,
        device: str = "auto",
        first_seed: int = 0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Export · {gen.info.name}")
        self.gen, self.settings = gen, settings
        self.selected_seeds, self.favourite_seeds = list(selected_seeds), list(favourite_seeds)
        self.interpolation = interpolation  # (seed A, seed B) picked for interpolation, if any
        self.generated = size[0] if size and size[0] == size[1] else None
        self.label, self.seamless, self.strength, self.device = label, seamless, normal_strength, device
        self.scale = scale  # the window's texel scale: the files match the preview
        self.preview_erosion = erosion  # the window's erosion: the dialog starts with it, so the files match
        self.worker: Worker | None = None
        self.result: GenerateResult | None = None
        self.error: str | None = None
        self._build()
        self.batch_start.setValue(first_seed)  # a batch from the seed the window is at
        self._restore()

    # --- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.preset = QComboBox()
        for name, p in PRESETS.items():
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1, p.description, Qt.ItemDataRole.ToolTipRole)
        self.preset.currentIndexChanged.connect(self._preset_changed)
        form.addRow("Preset", self.preset)
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.about.setStyleSheet("color: #9aa0a8")
        form.addRow("", self.about)

        self.size = QComboBox()
        form.addRow("Size", self.size)
        self.byte_order = QComboBox()
        self.byte_order.addItem('little-endian (Unity "Windows")', "little")
        self.byte_order.addItem('big-endian (Unity "Mac")', "big")
        form.addRow("Byte order", self.byte_order)
        self.convention = QComboBox()
        for c in CONVENTIONS:
            self.convention.addItem(
                {"opengl": "OpenGL (Y+: Unity, Godot, Blender)", "directx": "DirectX (Y−: Unreal, Substance)"}[c], c
            )
        form.addRow("Normal map", self.convention)
        # Erosion (heightmaps): droplets per cell, talus and river iterations, as --erosion RAIN,THERMAL,RIVERS.
        self.rain = QDoubleSpinBox()
        self.rain.setRange(0.0, MAX_RAIN)
        self.rain.setSingleStep(0.25)
        self.rain.setDecimals(2)
        self.rain.setSpecialValueText("none")
        self.rain.setToolTip(
            "hydraulic erosion: raindrops per cell that carve gullies and carry sediment downhill "
            "(0.5 light, 1 clear; about 5 s a 512 px map per droplet per cell)"
        )
        self.thermal = QSpinBox()
        self.thermal.setRange(0, MAX_THERMAL)
        self.thermal.setSingleStep(10)
        self.thermal.setSpecialValueText("none")
        self.thermal.setToolTip("thermal erosion: iterations of scree sliding down slopes steeper than the map's mean")
        self.rivers = QSpinBox()
        self.rivers.setRange(0, MAX_RIVERS)
        self.rivers.setSingleStep(5)
        self.rivers.setSpecialValueText("none")
        self.rivers.setToolTip(
            "river erosion: iterations of stream-power incision that join the valleys into one drainage network "
            "(10 with thermal 1 drains like real terrain; about 1 s a 512 px map)"
        )
        erosion_row = QHBoxLayout()
        for text, w in (("rivers", self.rivers), ("rain", self.rain), ("thermal", self.thermal)):
            erosion_row.addWidget(QLabel(text))
            erosion_row.addWidget(w)
        erosion_row.addStretch(1)
        self.erosion_label = QLabel("Erosion")
        form.addRow(self.erosion_label, erosion_row)
        for w in (self.rivers, self.rain, self.thermal, self.erosion_label):
            w.setVisible(self.gen.info.kind == "heightmap")

        # Two rows: the maps of every kind, then the material maps (made by a material model,
        # derived from a colour texture's colour, none for a heightmap).
        maps_grid = QGridLayout()
        self.maps: dict[str, QCheckBox] = {}
        plain = [m for m in MAPS if m not in MATERIAL_ONLY]
        for row, names in enumerate((plain, [m for m in MAPS if m in MATERIAL_ONLY])):
            for col, m in enumerate(names):
                box = QCheckBox(m)
                box.toggled.connect(self._update_command)
                self.maps[m] = box
                maps_grid.addWidget(box, row, col)
        maps_grid.setColumnStretch(len(MATERIAL_ONLY), 1)
        form.addRow("Maps", maps_grid)

        self.folder = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form.addRow("Folder", folder_row)
        self.template = QLineEdit()
        self.template.setToolTip("Fields: " + " ".join("{" + f + "}" for f in NAME_FIELDS) + " (e.g. {seed:05d})")
        form.addRow("File names", self.template)

        what = QGridLayout()
        self.source = QButtonGroup(self)
        self.use_selection = QRadioButton(f"Selected variations ({len(self.selected_seeds)})")
        self.use_favourites = QRadioButton(f"Favourites ({len(self.favourite_seeds)})")
        self.use_batch = QRadioButton("A batch of")
        for i, (button, key) in enumerate(
            ((self.use_selection, SELECTION), (self.use_favourites, FAVOURITES), (self.use_batch, BATCH))
        ):
            button.setProperty("source", key)
            self.source.addButton(button, i)
        self.use_selection.setEnabled(bool(self.selected_seeds))
        self.use_favourites.setEnabled(bool(self.favourite_seeds))
        self.batch_count = QSpinBox()
        self.batch_count.setRange(1, 100_000)
        self.batch_count.setValue(16)
        self.batch_start = QSpinBox()
        self.batch_start.setRange(0, 2**31 - 1)
        what.addWidget(self.use_selection, 0, 0, 1, 4)
        what.addWidget(self.use_favourites, 1, 0, 1, 4)
        what.addWidget(self.use_batch, 2, 0)
        what.addWidget(self.batch_count, 2, 1)
        what.addWidget(QLabel("seeds from"), 2, 2)
        what.addWidget(self.batch_start, 2, 3)
        ends = (
            f"seed {self.interpolation[0]} → seed {self.interpolation[1]}:"
            if self.interpolation
            else "(pick A and B first)"
        )
        self.use_frames = QRadioButton(f"Interpolation {ends}")
        self.use_frames.setProperty("source", FRAMES)
        self.source.addButton(self.use_frames, 3)
        self.use_frames.setEnabled(self.interpolation is not None)
        self.frame_count = QSpinBox()
        self.frame_count.setRange(2, 10_000)
        self.frame_count.setValue(24)
        self.frame_count.setSuffix(" frames")
        self.frame_count.setEnabled(self.interpolation is not None)  # no path, no frames to count
        what.addWidget(self.use_frames, 3, 0, 1, 2)
        what.addWidget(self.frame_count, 3, 2, 1, 2)
        form.addRow("Export", what)
        self.skip_existing = QCheckBox("Skip seeds whose files already exist")
        form.addRow("", self.skip_existing)

        self.command = QLineEdit()
        self.command.setReadOnly(True)
        self.command.setToolTip("The same export from a terminal or a build script")
        form.addRow("Command", self.command)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("ready")
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.open_folder = QPushButton("Open folder")
        self.open_folder.setEnabled(False)
        self.open_folder.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder.text())))
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self._close_or_cancel)
        bottom = QHBoxLayout()
        bottom.addWidget(self.open_folder)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self.setMinimumWidth(620)

        for w in (self.size, self.byte_order, self.convention):
            w.currentIndexChanged.connect(self._update_command)
        for w in (self.folder, self.template):
            w.textChanged.connect(self._update_command)
        for w in (self.batch_count, self.batch_start, self.frame_count, self.rain, self.thermal, self.rivers):
            w.valueChanged.connect(self._update_command)
        self.source.idToggled.connect(lambda *_: self._update_command())
        self.skip_existing.toggled.connect(self._update_command)

    def _restore(self) -> None:
        s = self.settings
        kind = self.gen.info.kind
        name = s.text(f"export/preset_{kind}", DEFAULT_PRESETS[kind])
        index = self.preset.findData(name)
        self.preset.setCurrentIndex(index if index >= 0 else self.preset.findData(DEFAULT_PRESETS[kind]))
        self._preset_changed()
        self.folder.setText(s.text("export/folder", str(Path.home() / "textures")))
        self.template.setText(s.text("export/template", ""))
        self.rain.setValue(min(max(s.real("export/erosion_rain", 0.0), 0.0), MAX_RAIN))
        self.thermal.setValue(min(max(s.number("export/erosion_thermal", 0), 0), MAX_THERMAL))
        self.rivers.setValue(min(max(s.number("export/erosion_rivers", 0), 0), MAX_RIVERS))
        e = self.preview_erosion
        if e is not None and e.active:
            self.rain.setValue(e.rain)
            self.thermal.setValue(e.thermal)
            self.rivers.setValue(e.rivers)
        (
            self.use_selection
            if self.selected_seeds
            else self.use_favourites
            if self.favourite_seeds
            else self.use_batch
        ).setChecked(True)
        self._update_command()

    def _preset_changed(self) -> None:
        p = self.current_preset()
        kind = self.gen.info.kind
        self.about.setText(p.description)
        self.size.blockSignals(True)
        self.size.clear()
        for s in preset_sizes(p, self.generated):
            note = " (as generated)" if s == self.generated and not p.sizes else ""
            self.size.addItem(f"{s} × {s}{note}", s)
        want = self.generated if (self.generated and not p.sizes and not p.recommended_sizes) else p.default_size
        index = self.size.findData(want)
        self.size.setCurrentIndex(index if index >= 0 else 0)
        self.size.blockSignals(False)
        self.byte_order.setCurrentIndex(self.byte_order.findData(p.byte_order))
        self.byte_order.setEnabled(p.height_format == "raw16")
        self.convention.setCurrentIndex(self.convention.findData(p.normal_convention))
        defaults = set(self.default_maps(p))
        for m, box in self.maps.items():
            box.blockSignals(True)
            box.setChecked(m in defaults)
            box.blockSignals(False)
        # A heightmap has no colour and no material maps (the runtime refuses them): not offered.
        for m in ("albedo", *MATERIAL_ONLY):
            self.maps[m].setEnabled(kind != "heightmap")
        self.template.setPlaceholderText(p.name_template)
        self._update_command()
        QTimer.singleShot(0, self._fit_height)

    def _fit_height(self) -> None:
        """Grow to the height the new preset's wrapped description needs: Qt does not count a
        word-wrapped label in a dialog's minimum, so the rows below were squashed (unity-terrain's
        three lines left the batch spin boxes 12 px high)."""
        layout = self.layout()
        need = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() else layout.sizeHint().height()
        self.setMinimumHeight(need)  # nor can it be dragged shorter than its rows
        if self.height() < need:
            self.resize(self.width(), need)

    def resizeEvent(self, event) -> None:  # narrower: the description wraps to more lines
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            QTimer.singleShot(0, self._fit_height)

    # --- view to request -----------------------------------------------------------------
    def current_preset(self) -> ExportPreset:
        return PRESETS[self.preset.currentData()]

    def default_maps(self, preset: ExportPreset) -> tuple[str, ...]:
        """The maps `service.generate` writes with this preset when the request names none: the
        preset's for the model's kind, and for png every map a material model makes."""
        return default_maps(preset, self.gen.info)

    def source_key(self) -> str:
        return self.source.checkedButton().property("source") if self.source.checkedButton() else BATCH

    def seeds(self) -> list[int]:
        key = self.source_key()
        if key == FRAMES:
            return []
        if key == SELECTION:
            return list(self.selected_seeds)
        if key == FAVOURITES:
            return list(self.favourite_seeds)
        start = self.batch_start.value()
        return list(range(start, start + self.batch_count.value()))

    def request(self) -> GenerateRequest:
        """The request this form describes (what `texgen generate` would get)."""
        p = self.current_preset()
        kind = self.gen.info.kind
        side = self.size.currentData()
        maps = tuple(m for m, box in self.maps.items() if box.isChecked())
        order = self.byte_order.currentData() if p.height_format == "raw16" else None
        convention = self.convention.currentData()
        frames = self.source_key() == FRAMES
        erosion = (
            Erosion(rain=round(self.rain.value(), 2), thermal=self.thermal.value(), rivers=self.rivers.value())
            if kind == "heightmap"
            else None
        )
        return GenerateRequest(
            model=str(self.gen.path),
            seeds=self.seeds(),
            interpolate=self.interpolation if frames else None,
            frames=self.frame_count.value(),
            size=(side, side) if side else None,
            label=self.label,
            seamless=self.seamless,
            preset=p.name,
            maps=None if set(maps) == set(self.default_maps(p)) else maps,
            out_dir=Path(self.folder.text().strip() or "textures").expanduser(),
            name_template=self.template.text().strip() or None,
            device=self.device,
            skip_existing=self.skip_existing.isChecked(),
            normal_strength=self.strength,
            scale=self.scale,
            normal_convention=None if convention == p.normal_convention else convention,
            byte_order=None if order == p.byte_order else order,
            erosion=erosion if erosion is not None and erosion.active else None,
        )

    def _update_command(self, *_) -> None:
        try:
            self.command.setText(generate_command(self.request()))
        except Exception as exc:  # a half-filled form is not an error yet  # noqa: BLE001
            self.command.setText(f"({exc})")
        self.command.setCursorPosition(0)
        self.convention.setEnabled(self.maps["normal"].isChecked())

    # --- running -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self) -> None:
        """Export on a worker; progress, then a summary or the error, in the dialog."""
        if self.running:
            return
        req = self.request()
        if not any(box.isChecked() for box in self.maps.values()):
            self._failed("no maps chosen. Tick at least one of " + ", ".join(MAPS))
            return
        self._save()
        gen = self.gen
        self.result, self.error = None, None
        count = req.frames if req.interpolate is not None else len(req.seeds)
        self.progress.setRange(0, count)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m")
        self.status.setText(
            f"Exporting {count} {'frames' if req.interpolate is not None else 'images'} to {req.out_dir}…"
        )
        self.status.setStyleSheet("")
        self.export_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.worker = run_in_pool(
            lambda report, cancelled: generate(req, on_progress=report, should_cancel=cancelled, generators=[gen]),
            on_progress=self._progress,
            on_result=lambda result: self._done(result, req),
            on_failed=self._failed,
            on_cancelled=self._cancelled,
            owner=self,
            name="export",
        )

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.status.setText("Cancelling after the current image…")

    def _progress(self, p: Progress) -> None:
        self.progress.setMaximum(p.total)
        self.progress.setValue(p.done)
        if p.tile:  # a big image made in tiles: say it moves
            what = f"frame {p.frame}" if p.frame is not None else f"seed {p.seed}"
            self.status.setText(f"{p.model} {what}: tile {p.tile[0]} of {p.tile[1]}")

    def _finish(self) -> None:
        self.worker = None
        self.export_button.setEnabled(True)
        self.close_button.setText("Close")

    def _done(self, result: GenerateResult, req: GenerateRequest) -> None:
        """The summary of the export `req` asked for (not of the form as it is now: it may have been edited since)."""
        self._finish()
        self.result = result
        what = "frames" if req.interpolate is not None else "seeds"
        skipped = f", {len(result.skipped)} {what} skipped (files exist)" if result.skipped else ""
        notes = "".join(f"<br><span style='color:#9aa0a8'>note: {n}</span>" for n in result.notes)
        self.status.setText(
            f"Wrote {len(result.files)} files to {req.out_dir} in {result.seconds:.1f} s{skipped}.{notes}"
        )
        self.open_folder.setEnabled(True)

    def _failed(self, message: str) -> None:
        self._finish()
        self.error = message
        self.status.setText(f"Export failed: {message}")
        self.status.setStyleSheet("color: #ff8a80")

    def _cancelled(self) -> None:
        self._finish()
        self.status.setText("Export cancelled: the files written so far are complete.")

    def _close_or_cancel(self) -> None:
        if self.running:
            self.cancel()
        else:
            self.reject()

    def reject(self) -> None:
        if self.running:
            self.cancel()
            return
        super().reject()

    def _save(self) -> None:
        s = self.settings
        s.set(f"export/preset_{self.gen.info.kind}", self.preset.currentData())
        if self.gen.info.kind == "heightmap":
            s.set("export/erosion_rain", self.rain.value())
            s.set("export/erosion_thermal", self.thermal.value())
            s.set("export/erosion_rivers", self.rivers.value())
        s.set("export/folder", self.folder.text())
        s.set("export/template", self.template.text())

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text() or str(Path.home()))
        if folder:
            self.folder.setText(folder)
