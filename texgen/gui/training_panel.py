"""The training panel: pick a folder (or CIFAR-100 classes), a preset in plain words and a
duration; watch progress, time left, loss and metric curves and the latest samples; Stop
checkpoints cleanly; when the run is done its model lands in the library.

The run is a `texgen train` child process (`training_process.TrainingProcess`); this panel
only builds its arguments and draws its events.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

from PySide6.QtCore import QProcess, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from texgen.assets import user_models_dir
from texgen.gui.chart import Chart
from texgen.gui.settings import Settings
from texgen.gui.training_process import TrainerCommand, TrainingProcess

# Shown until `texgen train --list-presets` answers (it loads torch: a few seconds).
DEFAULT_PRESET = "spatial-wgan-gp"
_PRESET_LINE = re.compile(r"^(\S+)\s+(.+)$")


def parse_presets(text: str) -> list[tuple[str, str]]:
    """(name, description) pairs from `texgen train --list-presets`."""
    out = []
    for line in text.splitlines():
        m = _PRESET_LINE.match(line.strip())
        if m:
            out.append((m.group(1), m.group(2).strip()))
    return out


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def install_model(onnx: str | Path, name: str, folder: Path | None = None) -> Path:
    """Copy a trained generator into the user model folder under a free name; returns it.

    Written to a temporary name and renamed, so the library never lists half a file.
    """
    folder = Path(folder) if folder is not None else user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "trained"
    target, n = folder / f"{stem}.onnx", 2
    while target.exists():
        target, n = folder / f"{stem}-{n}.onnx", n + 1
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(onnx, tmp)
    os.replace(tmp, target)
    return target


class TrainingPanel(QWidget):
    model_added = Signal(str)  # path of the new model in the user model folder
    message = Signal(str)

    def __init__(self, settings: Settings, command: TrainerCommand | None = None, models_dir: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.models_dir = models_dir
        self.run = TrainingProcess(command, self)
        self.run.event.connect(self._on_event)
        self.run.log.connect(self._on_log)
        self.run.ended.connect(self._on_ended)
        self.outcome: tuple[str, str] | None = None
        self.installed: Path | None = None
        self.total_steps: int | None = None
        self.minutes: float | None = None
        self._presets_process: QProcess | None = None
        self._build()
        self._restore()

    # --- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        source = QGroupBox("Train on")
        grid = QGridLayout(source)
        self.from_folder = QRadioButton("My image folder")
        self.from_cifar = QRadioButton("CIFAR-100 classes")
        group = QButtonGroup(self)
        group.addButton(self.from_folder)
        group.addButton(self.from_cifar)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("a folder of photos or heightmaps (sub-folders = classes)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_folder)
        self.cifar_classes = QLineEdit("forest")
        self.cifar_classes.setToolTip("Fine or coarse class names or numbers, comma separated: forest,sea or 33")
        self.cifar_archive = QLineEdit()
        self.cifar_archive.setPlaceholderText("cifar-100-python.tar.gz (optional if already cached)")
        browse_archive = QPushButton("Browse…")
        browse_archive.clicked.connect(self._browse_archive)
        grid.addWidget(self.from_folder, 0, 0, 1, 3)
        grid.addWidget(self.folder, 1, 0, 1, 2)
        grid.addWidget(browse, 1, 2)
        grid.addWidget(self.from_cifar, 2, 0, 1, 3)
        grid.addWidget(QLabel("Classes"), 3, 0)
        grid.addWidget(self.cifar_classes, 3, 1, 1, 2)
        grid.addWidget(self.cifar_archive, 4, 0, 1, 2)
        grid.addWidget(browse_archive, 4, 2)
        self.from_folder.setChecked(True)

        setup = QGroupBox("Model")
        form = QFormLayout(setup)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.kind = QComboBox()
        self.kind.addItem("Texture (colour)", "texture")
        self.kind.addItem("Heightmap (grey, 16-bit)", "heightmap")
        form.addRow("Makes", self.kind)
        self.preset = QComboBox()
        self.preset.addItem(DEFAULT_PRESET, DEFAULT_PRESET)
        self.preset.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset.setMinimumContentsLength(24)
        form.addRow("Recipe", self.preset)
        self.conditional = QCheckBox("One class per sub-folder (conditional)")
        form.addRow("", self.conditional)
        self.minutes_box = QDoubleSpinBox()
        self.minutes_box.setRange(0, 10_000)
        self.minutes_box.setDecimals(0)
        self.minutes_box.setSuffix(" min")
        self.minutes_box.setSpecialValueText("no time limit")
        self.minutes_box.setValue(30)
        self.steps_box = QSpinBox()
        self.steps_box.setRange(0, 10_000_000)
        self.steps_box.setSpecialValueText("recipe's steps")
        self.steps_box.setSingleStep(500)
        duration = QHBoxLayout()
        duration.addWidget(self.minutes_box)
        duration.addWidget(QLabel("or"))
        duration.addWidget(self.steps_box)
        form.addRow("Train for", duration)
        self.name = QLineEdit()
        self.name.setPlaceholderText("model name (default: recipe and data)")
        form.addRow("Name", self.name)
        self.device = QComboBox()
        for d, text in (("auto", "GPU if available"), ("cpu", "CPU"), ("cuda", "CUDA GPU")):
            self.device.addItem(text, d)
        form.addRow("Device", self.device)
        self.runs_folder = QLineEdit(str(user_models_dir().parent / "runs"))
        form.addRow("Runs folder", self.runs_folder)

        self.start_button = QPushButton("Start training")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current step: checkpoint, then export the model")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 2)
        buttons.addWidget(self.stop_button, 1)
        self.command = QLineEdit()
        self.command.setReadOnly(True)
        self.command.setToolTip("The same run from a terminal")

        left = QVBoxLayout()
        left.addWidget(source)
        left.addWidget(setup)
        left.addLayout(buttons)
        left.addWidget(QLabel("Command"))
        left.addWidget(self.command)
        left.addStretch(1)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setMinimumWidth(320)
        left_widget.setMaximumWidth(460)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("not started")
        self.status = QLabel("Choose your images and a recipe, then Start.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.loss_chart = Chart("Losses")
        self.metric_chart = Chart("Quality (lower is better)")
        self.samples = QLabel("Sample grids appear here as training goes")
        self.samples.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.samples.setMinimumSize(220, 220)
        self.samples.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.samples.setStyleSheet("background:#1e2024; color:#888; border:1px solid #333")
        self._sample_image: QImage | None = None
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(2000)
        self.log_view.setPlaceholderText("trainer output")

        charts = QVBoxLayout()
        charts.addWidget(self.loss_chart)
        charts.addWidget(self.metric_chart)
        middle = QHBoxLayout()
        middle.addLayout(charts, 3)
        middle.addWidget(self.samples, 2)
        right = QVBoxLayout()
        right.addWidget(self.progress)
        right.addWidget(self.status)
        right.addLayout(middle, 4)
        right.addWidget(self.log_view, 1)
        right_widget = QWidget()
        right_widget.setLayout(right)

        split = QSplitter()
        split.addWidget(left_widget)
        split.addWidget(right_widget)
        split.setStretchFactor(1, 1)
        layout = QHBoxLayout(self)
        layout.addWidget(split)

        for w in (self.folder, self.cifar_classes, self.cifar_archive, self.name, self.runs_folder):
            w.textChanged.connect(self._update_command)
        for w in (self.kind, self.preset, self.device):
            w.currentIndexChanged.connect(self._update_command)
        for w in (self.from_folder, self.conditional):
            w.toggled.connect(self._update_command)
        self.minutes_box.valueChanged.connect(self._update_command)
        self.steps_box.valueChanged.connect(self._update_command)

    def _restore(self) -> None:
        s = self.settings
        self.folder.setText(s.text("train/folder", ""))
        self.cifar_archive.setText(s.text("train/cifar_archive", ""))
        self.cifar_classes.setText(s.text("train/cifar_classes", "forest"))
        if s.text("train/source", "folder") == "cifar":
            self.from_cifar.setChecked(True)
        self.kind.setCurrentIndex(max(0, self.kind.findData(s.text("train/kind", "texture"))))
        self.minutes_box.setValue(s.real("train/minutes", 30.0))
        self.runs_folder.setText(s.text("train/runs", self.runs_folder.text()))
        self._update_command()

    def _save(self) -> None:
        s = self.settings
        s.set("train/folder", self.folder.text())
        s.set("train/cifar_archive", self.cifar_archive.text())
        s.set("train/cifar_classes", self.cifar_classes.text())
        s.set("train/source", "cifar" if self.from_cifar.isChecked() else "folder")
        s.set("train/kind", self.kind.currentData())
        s.set("train/preset", self.preset.currentData())
        s.set("train/minutes", self.minutes_box.value())
        s.set("train/runs", self.runs_folder.text())

    # --- presets -------------------------------------------------------------------------
    def load_presets(self) -> None:
        """Ask the trainer for its recipes, in the background (it loads torch)."""
        if self._presets_process is not None:
            return
        p = QProcess(self)
        p.finished.connect(lambda code, status: self._presets_listed(p, code))
        p.errorOccurred.connect(lambda err: None)
        self._presets_process = p
        p.start(self.run.command.program, self.run.command.arguments(["--list-presets"]))

    def _presets_listed(self, p: QProcess, code: int) -> None:
        text = bytes(p.readAllStandardOutput()).decode("utf-8", "replace")
        presets = parse_presets(text) if code == 0 else []
        if presets:
            self.set_presets(presets)

    def set_presets(self, presets: list[tuple[str, str]]) -> None:
        want = self.preset.currentData() or self.settings.text("train/preset", DEFAULT_PRESET)
        self.preset.blockSignals(True)
        self.preset.clear()
        for name, description in presets:
            self.preset.addItem(f"{description}  [{name}]", name)
            self.preset.setItemData(self.preset.count() - 1, f"{name}: {description}", Qt.ItemDataRole.ToolTipRole)
        index = self.preset.findData(want)
        self.preset.setCurrentIndex(index if index >= 0 else max(0, self.preset.findData(DEFAULT_PRESET)))
        self.preset.blockSignals(False)
        self._update_command()

    def showEvent(self, event) -> None:
        self.load_presets()
        super().showEvent(event)

    # --- view to arguments ---------------------------------------------------------------
    def data_spec(self) -> str:
        if self.from_cifar.isChecked():
            classes = self.cifar_classes.text().replace(" ", "") or "forest"
            archive = self.cifar_archive.text().strip()
            return f"cifar100:{classes}" + (f"@{archive}" if archive else "")
        return self.folder.text().strip()

    def arguments(self) -> list[str]:
        """The `texgen train` arguments this form describes."""
        args = ["--preset", self.preset.currentData() or DEFAULT_PRESET, "--data", self.data_spec(), "--kind", self.kind.currentData()]
        if self.conditional.isChecked():
            args.append("--conditional")
        if self.minutes_box.value() > 0:
            args += ["--minutes", f"{self.minutes_box.value():g}"]
        if self.steps_box.value() > 0:
            args += ["--steps", str(self.steps_box.value())]
        if self.name.text().strip():
            args += ["--name", self.name.text().strip()]
        if self.device.currentData() != "auto":
            args += ["--device", self.device.currentData()]
        if self.runs_folder.text().strip():
            args += ["--out", self.runs_folder.text().strip()]
        return args + ["--progress", "json"]

    def _update_command(self, *_) -> None:
        self.command.setText(shlex.join(["texgen", "train", *self.arguments()[:-2]]))

    # --- running -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.run.running

    def start(self, args: list[str] | None = None) -> None:
        if self.running:
            return
        if args is None:
            if not self.data_spec():
                self._show_problem("no training images chosen. Pick an image folder, or CIFAR-100 classes")
                return
            if self.from_folder.isChecked() and not Path(self.data_spec()).expanduser().exists():
                self._show_problem(f"folder {self.data_spec()} does not exist. Pick an existing image folder")
                return
            args = self.arguments()
            self._save()
        self.outcome, self.installed = None, None
        self.total_steps, self.minutes = None, None
        self.loss_chart.clear()
        self.metric_chart.clear()
        self.log_view.clear()
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self._set_status("Starting the trainer (loading PyTorch)…")
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.stop_button.setText("Stop")
        self.run.start(args)

    def stop(self) -> None:
        if self.running:
            if self.stop_button.text() == "Stop":
                self._set_status("Stopping: finishing the step, saving a checkpoint and exporting the model…")
                self.stop_button.setText("Kill")
                self.stop_button.setToolTip("End the process now (no export)")
            self.run.stop()

    def _on_event(self, ev: dict) -> None:
        kind = ev.get("event")
        if kind == "start":
            self.total_steps, self.minutes = ev.get("total_steps"), ev.get("minutes")
            self._set_status(f"Training in {ev.get('run_dir', '')}")
            self.progress.setFormat("step 0")
        elif kind == "step":
            self._on_step(ev)
        elif kind == "eval":
            for k, v in (ev.get("metrics") or {}).items():
                if k in ("swd", "seam_score", "memorisation_ratio") and isinstance(v, (int, float)):
                    self.metric_chart.add_point(k, ev.get("step", 0), v)
        elif kind == "sample":
            self._show_sample(ev.get("path", ""))
        elif kind == "checkpoint":
            self.log_view.appendPlainText(f"checkpoint at step {ev.get('step')}: {ev.get('path')}")
        elif kind == "done":
            self.progress.setValue(self.progress.maximum())

    def _on_step(self, ev: dict) -> None:
        step = int(ev.get("step", 0))
        total = ev.get("total_steps") or self.total_steps
        elapsed = float(ev.get("elapsed_s") or 0.0)
        eta = ev.get("eta_s")
        if total:
            fraction = step / total
        elif self.minutes:
            fraction = elapsed / (self.minutes * 60)
        else:
            fraction = 0.0
        self.progress.setValue(int(1000 * min(1.0, max(0.0, fraction))))
        self.progress.setFormat(f"step {step:,}" + (f" / {total:,}" if total else "") + f"  ·  {100 * fraction:.0f}%")
        rate = ev.get("images_per_s")
        rate_text = f"  ·  {rate:.0f} images/s" if isinstance(rate, (int, float)) else ""
        self._set_status(f"{format_duration(elapsed)} elapsed  ·  {format_duration(eta)} left{rate_text}")
        for k, v in (ev.get("losses") or {}).items():
            if isinstance(v, (int, float)):
                self.loss_chart.add_point(k, step, v)

    def _show_sample(self, path: str) -> None:
        image = QImage(path)
        if image.isNull():
            return
        self._sample_image = image
        self._fit_sample()

    def _fit_sample(self) -> None:
        if self._sample_image is None:
            return
        size = self.samples.size()
        self.samples.setPixmap(QPixmap.fromImage(self._sample_image).scaled(size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_sample()

    def _on_log(self, line: str) -> None:
        self.log_view.appendPlainText(line)

    def _on_ended(self, outcome: str, message: str) -> None:
        self.outcome = (outcome, message)
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stop")
        if outcome == "done":
            done = self.run.last.get("done", {})
            try:
                name = self.name.text().strip() or Path(done.get("run_dir") or message).name
                self.installed = install_model(message, name, self.models_dir)
            except OSError as exc:
                self._show_problem(f"the model was trained ({message}) but could not be copied to your models: {exc.strerror}. Open it with Open model…")
                return
            early = " (stopped early)" if done.get("stopped_early") else ""
            self.progress.setFormat("done")
            self._set_status(f"Done{early}: model {self.installed.stem} is in your library, ready to generate from.")
            self.model_added.emit(str(self.installed))
            self.message.emit(f"new model {self.installed.stem} added to the library")
        elif outcome == "error":
            self.progress.setFormat("failed")
            self._show_problem(message)
        else:
            self.progress.setFormat("crashed")
            self._show_problem(message)

    def _show_problem(self, message: str) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("color: #ff8a80")
        self.message.emit(message.splitlines()[0])

    def _set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("")

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Training images", self.folder.text() or self.settings.folder("train"))
        if folder:
            self.folder.setText(folder)
            self.from_folder.setChecked(True)
            self.settings.set_folder("train", folder)

    def _browse_archive(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "CIFAR-100 archive", self.settings.folder("cifar"), "CIFAR-100 (*.tar.gz);;All files (*)")
        if path:
            self.cifar_archive.setText(path)
            self.from_cifar.setChecked(True)
