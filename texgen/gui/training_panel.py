"""The training panel: the form (images, recipe, duration) on the left; progress, time left,
loss and metric curves, the latest sample grid and the trainer's log on the right. Stop
checkpoints cleanly; when the run is done its model is copied into the user model folder
and announced (`model_added`), so the library shows it ready to generate from. When an earlier
evaluation read a lower SWD than the last, a button adds that checkpoint's model as well (a
`texgen export` child process of the run's checkpoints/best.pt), named after its step.

The run is a `texgen train` child process (`training_process.TrainingProcess`); this panel
only draws its events.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QProcess, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from texgen.assets import user_models_dir
from texgen.errors import ExportError
from texgen.atomic import atomic_path
from texgen.gui.chart import Chart
from texgen.gui.settings import Settings
from texgen.gui.training_form import TrainingForm
from texgen.gui.training_process import TrainerCommand, TrainingProcess, child_process, trainer_problem


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def checks_text(step: int, metrics: dict) -> str:
    """The latest evaluation's two ratios in words: each is judged against 1, not 'lower'."""
    parts = []
    m = metrics.get("memorisation_ratio")
    if isinstance(m, (int, float)):
        parts.append(
            f"memorisation ratio {m:.2f} ({'under 1: samples sit close to training images, may be copies' if m < 1 else 'at or above 1: not copies'})"
        )
    seam = metrics.get("seam_score")
    if isinstance(seam, (int, float)):
        parts.append(f"seam score {seam:.2f} (1: no seam)")
    return f"At step {step:,}: " + " · ".join(parts) if parts else ""


def install_model(onnx: str | Path, name: str, folder: Path | None = None) -> Path:
    """Copy a trained generator into the user model folder under a free name; returns it.

    Written to a temporary name and renamed (`atomic_path`), so the library never lists half a
    file; a full disk or a read-only folder raises ExportError naming the path and the fix.
    """
    folder = Path(folder) if folder is not None else user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "trained"
    target, n = folder / f"{stem}.onnx", 2
    while target.exists():
        target, n = folder / f"{stem}-{n}.onnx", n + 1
    with atomic_path(target) as tmp:
        shutil.copyfile(onnx, tmp)
    return target


class TrainingPanel(QWidget):
    model_added = Signal(str)  # path of the new model in the user model folder
    message = Signal(str)

    def __init__(self, settings: Settings, command: TrainerCommand | None = None, models_dir: Path | None = None,
                 parent: QWidget | None = None, check: Callable[[], str | None] | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        # Why the trainer cannot run here (its packages are not installed), asked again at each
        # Start: the real trainer's packages are looked up; a stand-in command's are not.
        self.check = check or (trainer_problem if command is None else (lambda: None))
        self.settings = settings
        self.models_dir = models_dir
        self.run = TrainingProcess(command, self)
        self.run.event.connect(self._on_event)
        self.run.log.connect(self._on_log)
        self.run.ended.connect(self._on_ended)
        self.outcome: tuple[str, str] | None = None
        self.installed: Path | None = None
        self.total_steps: int | None = None
        self.warning = ""  # a trainer warning (collapse) shown beside the progress
        self.minutes: float | None = None
        self.best: dict | None = None  # the done event's "best": step, swd, path of best.pt
        self.exporter: QProcess | None = None  # `texgen export` of best.pt, while it runs
        self.form = TrainingForm(settings, self.run.command)
        self.form.start_button.clicked.connect(lambda: self.start())
        self.form.stop_button.clicked.connect(self.stop)
        self.form.setMinimumWidth(320)
        self.form.setMaximumWidth(600)  # room for the recipe names and placeholders on a wide screen
        self._build()
        problem = self.check()
        if problem:  # said before anything is filled in, not after
            self._show_problem(problem)

    def _build(self) -> None:
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("not started")
        self.status = QLabel("Choose your images and a recipe, then Start.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.best_button = QPushButton()
        self.best_button.setToolTip(
            "Export the checkpoint with the lowest SWD (checkpoints/best.pt) and add it to "
            "your library beside the run's final model, to compare the two"
        )
        self.best_button.clicked.connect(self.add_best)
        self.best_button.hide()
        # Offered when the GPU ran out of memory: the trainer names a batch estimated to fit.
        self.retry_button = QPushButton()
        self.retry_button.setToolTip(
            "Set batch= in the form's Settings to the batch the trainer estimated to fit, and start again"
        )
        self.retry_button.clicked.connect(self.retry_with_smaller_batch)
        self.retry_button.hide()
        self.retry_batch: int | None = None
        # The trainer's loss names, as a reader of the chart knows the two networks.
        self.loss_chart = Chart(
            "Losses", labels={"d": "critic", "g": "generator", "wasserstein": "Wasserstein", "gp": "penalty"}
        )
        # SWD (tens to hundreds) on its own axis; the two ratios (about 1, read differently)
        # as words below, not flattened to a line under it.
        self.metric_chart = Chart("SWD to your images (lower is closer)")
        self.checks = QLabel("")
        self.checks.setWordWrap(True)
        self.checks.setStyleSheet("color: #aab")
        self.samples = QLabel("Sample grids appear here as training goes")
        self.samples.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.samples.setMinimumSize(220, 160)
        self.samples.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.samples.setStyleSheet("background:#1e2024; color:#888; border:1px solid #333")
        self._sample_image: QImage | None = None
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(2000)
        self.log_view.setPlaceholderText("trainer output")

        charts = QHBoxLayout()
        charts.addWidget(self.loss_chart)
        charts.addWidget(self.metric_chart)
        right = QVBoxLayout()
        right.addWidget(self.progress)
        right.addWidget(self.status)
        right.addWidget(self.best_button, 0, Qt.AlignmentFlag.AlignLeft)
        right.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignLeft)
        right.addLayout(charts, 3)
        right.addWidget(self.checks)
        right.addWidget(QLabel("Latest samples"))
        right.addWidget(self.samples, 3)
        right.addWidget(self.log_view, 1)
        right_widget = QWidget()
        right_widget.setLayout(right)

        # On a short screen the form scrolls (a material's map pictures make it taller) rather
        # than holding the window taller than the screen.
        column = QScrollArea()
        column.setWidget(self.form)
        column.setWidgetResizable(True)
        column.setFrameShape(QFrame.Shape.NoFrame)
        column.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = column.verticalScrollBar().sizeHint().width()
        column.setMinimumWidth(self.form.minimumWidth() + bar)
        column.setMaximumWidth(self.form.maximumWidth() + bar)
        split = QSplitter()
        split.addWidget(column)
        split.addWidget(right_widget)
        split.setStretchFactor(1, 1)
        split.setSizes([420, 1000])  # room for the recipes' plain-words names
        layout = QHBoxLayout(self)
        layout.addWidget(split)

    def shutdown(self) -> None:
        self.form.shutdown()
        p = self.exporter
        if p is not None and p.state() != QProcess.ProcessState.NotRunning:
            self.exporter = None  # its end is no news to a closing window
            p.kill()
            p.waitForFinished(2000)

    @property
    def exporting(self) -> bool:
        """The lowest-SWD checkpoint's model is being exported (`texgen export`)."""
        return self.exporter is not None and self.exporter.state() != QProcess.ProcessState.NotRunning

    # --- running -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.run.running

    def start(self, args: list[str] | None = None) -> None:
        if self.running or self.exporter is not None:
            return
        problem = self.check()
        if problem:
            self._show_problem(problem)
            return
        if args is None:
            problem = self.form.problem()
            if problem:
                self._show_problem(problem)
                return
            args = self.form.arguments()
            self.form.save()
        self.outcome, self.installed, self.best = None, None, None
        self.best_button.hide()
        self.retry_button.hide()
        self.total_steps, self.minutes = None, None
        self.warning = ""
        self.loss_chart.clear()
        self.metric_chart.clear()
        self.checks.clear()
        self.log_view.clear()
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self._set_status("Starting the trainer (loading PyTorch)…")
        self.form.start_button.setEnabled(False)
        self.form.stop_button.setEnabled(True)
        self.form.stop_button.setText("Stop")
        self.run.start(args)

    def stop(self) -> None:
        if self.running:
            if self.form.stop_button.text() == "Stop":
                self._set_status("Stopping: finishing the step, saving a checkpoint and exporting the model…")
                self.form.stop_button.setText("Kill")
                self.form.stop_button.setToolTip("End the process now (no export)")
            self.run.stop()

    def _on_event(self, ev: dict) -> None:
        kind = ev.get("event")
        if kind == "start":
            self.total_steps, self.minutes = ev.get("total_steps"), ev.get("minutes")
            every = (ev.get("config") or {}).get("eval_every")
            self.metric_chart.placeholder = (
                f"quality is measured every {every:,} steps and at the end"
                if every
                else "quality is measured at the end"
            )
            self.metric_chart.update()
            self._set_status(f"Training in {ev.get('run_dir', '')}")
            self.progress.setFormat("step 0")
        elif kind == "step":
            self._on_step(ev)
        elif kind == "eval":
            metrics = ev.get("metrics") or {}
            if isinstance(metrics.get("swd"), (int, float)):
                self.metric_chart.add_point("swd", ev.get("step", 0), metrics["swd"])
            self.checks.setText(checks_text(int(ev.get("step", 0)), metrics))
        elif kind == "sample":
            self._show_sample(ev.get("path", ""))
        elif kind == "checkpoint":
            self.log_view.appendPlainText(f"checkpoint at step {ev.get('step')}: {ev.get('path')}")
        elif kind == "warning":
            self.warning = str(ev.get("message", ""))
            self.log_view.appendPlainText("warning: " + self.warning)
            self.message.emit(self.warning.split(":")[0])
        elif kind == "note":
            self.log_view.appendPlainText("note: " + str(ev.get("message", "")))
        elif kind == "done":
            self.progress.setValue(self.progress.maximum())
            if ev.get("healthy") is False:  # the last check of the exported model: kept in amber
                self.warning = "the exported model is not healthy: " + "; ".join(
                    p.split(";")[0] for p in ev.get("problems", [])
                )
                self.log_view.appendPlainText("warning: " + self.warning)
                self.message.emit(self.warning.split(":")[0])

    def _on_step(self, ev: dict) -> None:
        step = int(ev.get("step", 0))
        total = ev.get("total_steps") or self.total_steps
        elapsed = float(ev.get("elapsed_s") or 0.0)
        eta = ev.get("eta_s")
        # A run ends at its step count or its time budget, whichever comes first.
        fractions = [step / total] if total else []
        if self.minutes:
            fractions.append(elapsed / (self.minutes * 60))
        fraction = max(fractions, default=0.0)
        self.progress.setValue(int(1000 * min(1.0, max(0.0, fraction))))
        # Said by whichever limit ends the run: "step 1,373 / 1,000,000 · 80%" read as a sum gone wrong.
        by_time = self.minutes and (not total or elapsed / (self.minutes * 60) >= step / total)
        limit = f"of {self.minutes:g} min" if by_time else f"of {total:,} steps" if total else ""
        self.progress.setFormat(f"step {step:,}  ·  {100 * fraction:.0f}% {limit}".rstrip())
        rate = ev.get("images_per_s")
        rate_text = f"  ·  {rate:.0f} images/s" if isinstance(rate, (int, float)) else ""
        self._set_status(f"{format_duration(elapsed)} elapsed  ·  {format_duration(eta)} left{rate_text}")
        if self.warning:  # kept in sight, in amber, until the next run
            self.status.setText(self.status.text() + "\n" + self.warning)
            self.status.setStyleSheet("color: #ffb74d")
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
        self.samples.setPixmap(
            QPixmap.fromImage(self._sample_image).scaled(
                size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_sample()

    def _on_log(self, line: str) -> None:
        self.log_view.appendPlainText(line)

    def _on_ended(self, outcome: str, message: str) -> None:
        self.outcome = (outcome, message)
        self.form.start_button.setEnabled(True)
        self.form.stop_button.setEnabled(False)
        self.form.stop_button.setText("Stop")
        if outcome == "done":
            done = self.run.last.get("done", {})
            try:
                # A continued run keeps its own name (the form's Name field is off, and may hold
                # another run's); else the name given, else the run folder's without its number.
                given = "" if self.form.resume.text().strip() else self.form.name.text().strip()
                name = given or re.sub(r"^\d{5}-", "", Path(done.get("run_dir") or message).name)
                self.installed = install_model(message, name, self.models_dir)
            except (OSError, ExportError) as exc:
                why = exc.strerror if isinstance(exc, OSError) else str(exc)
                self._show_problem(
                    f"the model was trained ({message}) but could not be copied to your models: {why}. Open it with Open model…"
                )
                return
            early = " (stopped early)" if done.get("stopped_early") else ""
            self.progress.setFormat("done")
            status = f"Done{early}: model {self.installed.stem} is in your library, ready to generate from."
            best = done.get("best")
            if isinstance(best, dict) and {"step", "swd", "path"} <= best.keys():
                # An earlier evaluation read lower than the last: say where its weights are, and
                # offer its model beside the final one (a lower SWD is not always a better look).
                self.best = best
                line = (
                    f"step {best['step']} read a lower SWD ({best['swd']:.1f}) than the end; its weights are "
                    f"{best['path']} (`texgen export {best['path']}` makes its model)"
                )
                self.log_view.appendPlainText(line)
                status += (
                    f" Step {best['step']} read a lower SWD ({best['swd']:.1f}) than the end: add it too, "
                    "then compare the two by eye."
                )
                self.best_button.setText(f"Add step {best['step']} to the library")
                self.best_button.setEnabled(True)
                self.best_button.show()
            self._set_status(status)
            if done.get("healthy") is False and self.warning:  # in amber under the status, as during the run
                self.status.setText(self.status.text() + "\n" + self.warning)
                self.status.setStyleSheet("color: #ffb74d")
            self.model_added.emit(str(self.installed))
            self.message.emit(f"new model {self.installed.stem} added to the library")
        elif outcome == "error":
            self.progress.setFormat("failed")
            self._show_problem(message)
            fits = re.search(r"--batch (\d+) \(estimated to fit\)", message)
            if fits:  # out of GPU memory: offer the batch the trainer estimated
                self.retry_batch = int(fits.group(1))
                self.retry_button.setText(f"Train again with batch {self.retry_batch}")
                self.retry_button.show()
        elif outcome == "killed":  # asked for: not a failure, but nothing was exported
            self.progress.setFormat("killed")
            where = f" in {message}" if message else ""
            self._set_status(
                f"Killed at your request before the end: no model was exported. The checkpoints{where} "
                "are whole; pick the run in Continue run to go on from the last one."
            )
        else:
            self.progress.setFormat("crashed")
            self._show_problem(message)

    # --- the lowest-SWD checkpoint ------------------------------------------------------------
    def add_best(self) -> None:
        """Export best.pt with `texgen export` (a child process: the GUI never imports torch),
        then copy its model into the library as `<run's model>-step<N>`."""
        if self.best is None or self.exporter is not None or self.running:
            return
        p = child_process(self)
        p.finished.connect(self._best_exported)
        p.errorOccurred.connect(self._best_failed_to_start)
        self.exporter = p
        self.best_button.setEnabled(False)
        self.form.start_button.setEnabled(False)
        self._set_status(f"Exporting the model of step {self.best['step']}…")
        command = self.run.command
        p.start(command.program, command.export_arguments([str(self.best["path"])]))

    def _best_exported(self, code: int, status: QProcess.ExitStatus) -> None:
        p, self.exporter = self.exporter, None
        if p is None:
            return
        out = [
            line.strip()
            for line in bytes(p.readAllStandardOutput()).decode("utf-8", "replace").splitlines()
            if line.strip()
        ]
        err = [line for line in bytes(p.readAllStandardError()).decode("utf-8", "replace").splitlines() if line.strip()]
        p.deleteLater()
        self._best_done(out[-1] if code == 0 and status == QProcess.ExitStatus.NormalExit and out else None, err)

    def _best_failed_to_start(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.exporter is not None:
            self.exporter.deleteLater()
            self.exporter = None
            self._best_done(
                None, [f"could not start {self.run.command.program}: check that texgen is installed with its trainer"]
            )

    def _best_done(self, onnx: str | None, err: list[str]) -> None:
        self.form.start_button.setEnabled(True)
        best = self.best
        if best is None:
            return
        if onnx is None:
            why = err[-1].removeprefix("error: ") if err else "the exporter ended without a model"
            self.best_button.setEnabled(True)
            self._show_problem(f"could not export the model of step {best['step']}: {why}")
            return
        name = f"{self.installed.stem if self.installed else 'trained'}-step{best['step']}"
        try:
            added = install_model(onnx, name, self.models_dir)
        except (OSError, ExportError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            self.best_button.setEnabled(True)
            self._show_problem(
                f"the model of step {best['step']} was exported ({onnx}) but could not be copied to your models: {why}"
            )
            return
        self.best_button.hide()
        self.log_view.appendPlainText(f"step {best['step']}'s model: {onnx}, added to the library as {added.stem}")
        self._set_status(
            f"Model {added.stem} (step {best['step']}, SWD {best['swd']:.1f}) is in your library beside "
            f"{self.installed.stem if self.installed else 'the final model'}: compare the two."
        )
        self.model_added.emit(str(added))
        self.message.emit(f"new model {added.stem} added to the library")

    def retry_with_smaller_batch(self) -> None:
        """The form's settings with batch= the offered batch (any other batch= replaced), then Start."""
        if self.retry_batch is None or self.running:
            return
        kept = [pair for pair in self.form.overrides.text().split() if not pair.startswith("batch=")]
        self.form.overrides.setText(" ".join([*kept, f"batch={self.retry_batch}"]))
        self.start()

    def _show_problem(self, message: str) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("color: #ff8a80")
        self.message.emit(message.splitlines()[0])

    def _set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("")
