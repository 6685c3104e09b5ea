"""The training form: where the images come from, what to make, which recipe, how long.

It only builds the `texgen train` arguments (`arguments()`) and shows the equivalent command;
the recipes come from `texgen train --list-recipes`, asked in the background (the trainer
loads torch, which takes seconds), with the default recipe listed until they arrive. For a
material, the maps the trainer will read from the folder are shown before it starts
(`material_preview.MaterialMaps`, read on a worker).
"""

from __future__ import annotations

import platform
import re
import shlex
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, Qt
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
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from texgen.assets import user_models_dir
from texgen.gui.material_preview import MaterialMaps
from texgen.gui.settings import Settings
from texgen.gui.training_process import TrainerCommand

DEFAULT_RECIPE = "spatial-wgan-gp"
GREY_TEXTURE = "texture-grey"  # the form's own item: --kind texture --set channels=1
_RECIPE_LINE = re.compile(r"^(\S+)\s+(.+)$")


def training_devices(system: str = sys.platform, machine: str | None = None) -> list[tuple[str, str]]:
    """(--device value, words) for the Device list. The app never imports torch, so it cannot ask
    which GPUs torch sees: Apple's GPU (mps) is offered on Apple-silicon Macs, where PyTorch's
    wheels have it; the trainer says in one line when a choice is not there after all."""
    machine = platform.machine() if machine is None else machine
    devices = [("auto", "GPU if available"), ("cpu", "CPU"), ("cuda", "CUDA GPU")]
    if system == "darwin" and machine == "arm64":
        devices.append(("mps", "Apple GPU (MPS)"))
    return devices


def parse_recipes(text: str) -> list[tuple[str, str]]:
    """(name, description) pairs from `texgen train --list-recipes`."""
    out = []
    for line in text.splitlines():
        m = _RECIPE_LINE.match(line.strip())
        if m:
            out.append((m.group(1), m.group(2).strip()))
    return out


class TrainingForm(QWidget):
    def __init__(self, settings: Settings, command: TrainerCommand, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.trainer = command
        self._recipes_process: QProcess | None = None
        self._build()
        self._restore()

    def _build(self) -> None:
        source = self.source_box = QGroupBox("Train on")
        grid = QGridLayout(source)
        self.from_folder = QRadioButton("My image folder")
        self.from_cifar = QRadioButton("CIFAR-100 classes")
        group = QButtonGroup(self)
        group.addButton(self.from_folder)
        group.addButton(self.from_cifar)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("a folder of photos, heightmaps or material map sets (sub-folders = classes)")
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
        # Typing in a source's fields chooses that source (as its Browse… button does): the
        # fields of the other one stayed live and edits to them silently did nothing.
        self.folder.textEdited.connect(lambda _: self.from_folder.setChecked(True))
        for field in (self.cifar_classes, self.cifar_archive):
            field.textEdited.connect(lambda _: self.from_cifar.setChecked(True))

        setup = QGroupBox("Model")
        form = QFormLayout(setup)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.kind = QComboBox()
        self.kind.addItem("Texture (colour)", "texture")
        self.kind.addItem("Texture (grey)", GREY_TEXTURE)  # as the bundled stone and grass: one channel
        self.kind.addItem("Heightmap (grey, 16-bit)", "heightmap")
        self.kind.addItem("Material (maps)", "material")  # albedo, normal, height, roughness, AO (metallic)
        self.kind.setItemData(
            self.kind.count() - 1,
            "Every map at once (albedo, height, roughness, AO; normal and metallic when the data has them),\n"
            "from map sets (ambientCG, Poly Haven names) or colour photos (their maps derived)",
            Qt.ItemDataRole.ToolTipRole,
        )
        form.addRow("Makes", self.kind)
        self.recipe = QComboBox()
        self.recipe.addItem(DEFAULT_RECIPE, DEFAULT_RECIPE)
        self.recipe.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.recipe.setMinimumContentsLength(24)
        form.addRow("Recipe", self.recipe)
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
        for d, text in training_devices():
            self.device.addItem(text, d)
        form.addRow("Device", self.device)
        self.runs_folder = QLineEdit(str(user_models_dir().parent / "runs"))
        form.addRow("Runs folder", self.runs_folder)
        self.overrides = QLineEdit()
        self.overrides.setPlaceholderText("e.g. lr_g=1e-4 diffaug=translation")
        self.overrides.setToolTip(
            "Any training setting as key=value, separated by spaces (texgen train --set);\n"
            "the command below shows the result and `texgen train --dry-run` lists every key"
        )
        form.addRow("Settings", self.overrides)
        self.resume = QLineEdit()
        self.resume.setPlaceholderText("empty: a new run; or a run folder to continue")
        self.resume.setToolTip(
            "Continue a run exactly where its last checkpoint left it (texgen train --resume):\n"
            "its data, recipe and name come from the run; duration, device and settings from here.\n"
            "Train for counts the whole run, the time and steps already done included"
        )
        browse_run = QPushButton("Browse…")
        browse_run.clicked.connect(self._browse_run)
        resume_row = QHBoxLayout()
        resume_row.addWidget(self.resume, 1)
        resume_row.addWidget(browse_run)
        form.addRow("Continue run", resume_row)

        self.start_button = QPushButton("Start training")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current step: checkpoint, then export the model")
        self.stop_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 2)
        buttons.addWidget(self.stop_button, 1)
        self.command = QLineEdit()
        self.command.setReadOnly(True)
        self.command.setToolTip("The same run from a terminal")

        left = QVBoxLayout(self)
        left.setContentsMargins(0, 0, 0, 0)
        self.material_maps = MaterialMaps()
        left.addWidget(source)
        left.addWidget(setup)
        left.addWidget(self.material_maps)
        left.addLayout(buttons)
        left.addWidget(QLabel("Command"))
        left.addWidget(self.command)
        left.addStretch(1)

        for w in (
            self.folder,
            self.cifar_classes,
            self.cifar_archive,
            self.name,
            self.runs_folder,
            self.overrides,
            self.resume,
        ):
            w.textChanged.connect(self._update_command)
        for w in (self.kind, self.recipe, self.device):
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
        self.overrides.setText(s.text("train/overrides", ""))
        self._update_command()

    def save(self) -> None:
        s = self.settings
        s.set("train/folder", self.folder.text())
        s.set("train/cifar_archive", self.cifar_archive.text())
        s.set("train/cifar_classes", self.cifar_classes.text())
        s.set("train/source", "cifar" if self.from_cifar.isChecked() else "folder")
        s.set("train/kind", self.kind.currentData())
        s.set("train/preset", self.recipe.currentData())
        s.set("train/minutes", self.minutes_box.value())
        s.set("train/runs", self.runs_folder.text())
        s.set("train/overrides", self.overrides.text())

    # --- recipes -------------------------------------------------------------------------
    def load_recipes(self) -> None:
        """Ask the trainer for its recipes, in the background (it loads torch)."""
        if self._recipes_process is not None:
            return
        p = QProcess(self)
        p.finished.connect(lambda code, status: self._recipes_listed(p, code))
        p.errorOccurred.connect(lambda err: None)
        self._recipes_process = p
        p.start(self.trainer.program, self.trainer.arguments(["--list-recipes"]))

    def _recipes_listed(self, p: QProcess, code: int) -> None:
        try:
            text = bytes(p.readAllStandardOutput()).decode("utf-8", "replace")
        except RuntimeError:  # the app is closing and Qt already deleted the process
            return
        recipes = parse_recipes(text) if code == 0 else []
        if recipes:
            self.set_recipes(recipes)

    def set_recipes(self, recipes: list[tuple[str, str]]) -> None:
        want = self.recipe.currentData() or self.settings.text("train/preset", DEFAULT_RECIPE)
        self.recipe.blockSignals(True)
        self.recipe.clear()
        for name, description in recipes:
            self.recipe.addItem(f"{name}: {description}", name)  # the name first: two descriptions may start alike
            self.recipe.setItemData(self.recipe.count() - 1, f"{name}: {description}", Qt.ItemDataRole.ToolTipRole)
        index = self.recipe.findData(want)
        self.recipe.setCurrentIndex(index if index >= 0 else max(0, self.recipe.findData(DEFAULT_RECIPE)))
        self.recipe.blockSignals(False)
        self._update_command()

    def shutdown(self) -> None:
        """Before the app quits: end the recipe listing (a training run is stopped apart)."""
        p = self._recipes_process
        if p is not None and p.state() != QProcess.ProcessState.NotRunning:
            p.kill()
            p.waitForFinished(2000)

    def showEvent(self, event) -> None:
        self.load_recipes()
        super().showEvent(event)

    # --- view to arguments ---------------------------------------------------------------
    def data_spec(self) -> str:
        if self.from_cifar.isChecked():
            classes = self.cifar_classes.text().replace(" ", "") or "forest"
            archive = self.cifar_archive.text().strip()
            return f"cifar100:{classes}" + (f"@{archive}" if archive else "")
        return self.folder.text().strip()

    def settings_pairs(self) -> list[str]:
        """The Settings field's key=value pairs (shell quoting allowed); ValueError if unbalanced."""
        return shlex.split(self.overrides.text())

    def arguments(self) -> list[str]:
        """The `texgen train` arguments this form describes."""
        resume = self.resume.text().strip()
        if resume:  # the run brings its data, recipe, name and folder
            args = ["--resume", resume]
        else:
            kind = self.kind.currentData()
            args = ["--recipe", self.recipe.currentData() or DEFAULT_RECIPE, "--data", self.data_spec(),
                    "--kind", "texture" if kind == GREY_TEXTURE else kind]  # fmt: skip
            if self.conditional.isChecked():
                args.append("--conditional")
            if kind == GREY_TEXTURE:  # before the Settings field's pairs, which may still say otherwise
                args += ["--set", "channels=1"]
        if self.minutes_box.value() > 0:
            args += ["--minutes", f"{self.minutes_box.value():g}"]
        if self.steps_box.value() > 0:
            args += ["--steps", str(self.steps_box.value())]
        if not resume and self.name.text().strip():
            args += ["--name", self.name.text().strip()]
        if self.device.currentData() != "auto":
            args += ["--device", self.device.currentData()]
        if not resume and self.runs_folder.text().strip():
            args += ["--out", self.runs_folder.text().strip()]
        try:
            pairs = self.settings_pairs()
        except ValueError:
            pairs = []  # problem() says what is wrong before anything starts
        for pair in pairs:
            args += ["--set", pair]
        return args + ["--progress", "json"]

    def problem(self) -> str | None:
        """What stops a run from starting, in words; None when the form is complete."""
        try:
            pairs = self.settings_pairs()
        except ValueError:
            return "the settings have an unclosed quote. Close it, or remove the quote"
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip() or not value:
                return f"setting {pair!r} is not key=value. Write settings as key=value, e.g. lr_g=1e-4"
        resume = self.resume.text().strip()
        if resume:
            run = Path(resume).expanduser()
            if not run.exists():
                return f"run folder {resume} does not exist. Pick a run folder to continue, or clear the field"
            if run.is_dir() and not (run / "checkpoints" / "latest.pt").is_file():
                return f"{resume} has no checkpoints/latest.pt. Pick a run folder made by texgen train"
            return None
        if not self.data_spec():
            return "no training images chosen. Pick an image folder, or CIFAR-100 classes"
        if self.from_folder.isChecked() and not Path(self.data_spec()).expanduser().exists():
            return f"folder {self.data_spec()} does not exist. Pick an existing image folder"
        return None

    def _update_command(self, *_) -> None:
        new_run = not self.resume.text().strip()  # a continued run keeps its own data and recipe
        for w in (self.source_box, self.kind, self.recipe, self.conditional, self.name, self.runs_folder):
            w.setEnabled(new_run)
        material = new_run and self.kind.currentData() == "material" and self.from_folder.isChecked()
        self.material_maps.setVisible(material)
        if material:
            self.material_maps.show_folder(self.folder.text())
        self.command.setText(shlex.join(["texgen", "train", *self.arguments()[:-2]]))
        self.command.setCursorPosition(0)

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Training images", self.folder.text() or self.settings.folder("train")
        )
        if folder:
            self.folder.setText(folder)
            self.from_folder.setChecked(True)
            self.settings.set_folder("train", folder)

    def _browse_run(self) -> None:
        start = self.resume.text() or self.runs_folder.text() or self.settings.folder("runs")
        folder = QFileDialog.getExistingDirectory(self, "Run to continue", start)
        if folder:
            self.resume.setText(folder)

    def _browse_archive(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "CIFAR-100 archive", self.settings.folder("cifar"), "CIFAR-100 (*.tar.gz);;All files (*)"
        )
        if path:
            self.cifar_archive.setText(path)
            self.from_cifar.setChecked(True)
