"""The main window: library on the left, preview and gallery in the middle, controls and
interpolation on the right, training on its own tab; errors in the status bar.

It wires widgets to the `AppState` and holds no logic of its own: generating goes through
`sampling.sample`, exporting through `service.generate`, training through `texgen train`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from texgen import __version__
from texgen.assets import DEFAULT_MODELS, list_models
from texgen.service import normal_strength_for
from texgen.gui import imaging
from texgen.gui.controls import Controls
from texgen.gui.details import VariationDetails
from texgen.gui.export_dialog import ExportDialog
from texgen.gui.gallery import Gallery
from texgen.gui.interpolation import InterpolationPanel
from texgen.gui.library import Library, is_model_file
from texgen.gui.lit_view import LitView
from texgen.gui.preview import Preview
from texgen.gui.relief_view import ReliefView
from texgen.gui.settings import Settings
from texgen.gui.state import AppState, Variation
from texgen.gui.training_panel import TrainingPanel
from texgen.gui.training_process import TrainerCommand
from texgen.gui.viewbar import ViewBar


def default_size(screen: QSize) -> QSize:
    """1400 x 860 on a screen that has room for it, else nearly all of the screen's
    free area (a 1366 x 768 laptop, a 1024 px display); never below the window's
    minimum, which Qt enforces on its own."""
    return QSize(min(1400, screen.width() * 95 // 100), min(860, screen.height() * 92 // 100))


class MainWindow(QMainWindow):
    def __init__(
        self, settings: Settings | None = None, device: str = "auto", trainer: TrainerCommand | None = None
    ) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.state = AppState(device, self)
        self.shown: Variation | None = None  # what the preview shows
        self.view_mode = imaging.COLOUR
        self.export_dialog: ExportDialog | None = None
        self.model_note: str | None = None  # a plain word on the model, kept beside later messages
        self.setWindowTitle("texgen")
        self.setAcceptDrops(True)
        self._build(trainer)
        self._connect()
        self._restore()

    # --- layout --------------------------------------------------------------------------
    def _build(self, trainer: TrainerCommand | None) -> None:
        self.library = Library()
        self.controls = Controls()
        self.gallery = Gallery()
        self.preview = Preview()
        self.relief = ReliefView()
        self.lit = LitView()
        self.interpolation = InterpolationPanel()
        self.details = VariationDetails()
        self.training = TrainingPanel(self.settings, trainer)
        self._close_when_trained = False  # a close waits for a stopped run to checkpoint and export
        self._close_when_exported = False  # ... and for the export of a run's lowest-SWD checkpoint

        self.viewbar = ViewBar()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.preview)
        self.stack.addWidget(self.relief)
        self.stack.addWidget(self.lit)
        centre_top = QWidget()
        v = QVBoxLayout(centre_top)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.viewbar)
        v.addWidget(self.stack, 1)
        self.centre = QSplitter(Qt.Orientation.Vertical)
        self.centre.addWidget(centre_top)
        self.centre.addWidget(self.gallery)
        self.centre.setStretchFactor(0, 3)
        self.centre.setStretchFactor(1, 1)

        right = QWidget()
        r = QVBoxLayout(right)
        r.setContentsMargins(0, 0, 0, 0)
        box = QGroupBox("Generate")
        QVBoxLayout(box).addWidget(self.controls)
        r.addWidget(box)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write engine-ready files for the selection or a batch of seeds (Ctrl+E)")
        self.export_button.clicked.connect(self.open_export)
        self.export_button.setMinimumHeight(34)
        r.addWidget(self.export_button)
        box = QGroupBox("Interpolate A → B")
        QVBoxLayout(box).addWidget(self.interpolation)
        r.addWidget(box)
        box = QGroupBox("Shown")
        QVBoxLayout(box).addWidget(self.details)
        r.addWidget(box)
        r.addStretch(1)
        # On a small screen the column scrolls instead of squeezing its fields.
        column = QScrollArea()
        column.setWidget(right)
        column.setWidgetResizable(True)
        column.setFrameShape(QFrame.Shape.NoFrame)
        column.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = column.verticalScrollBar().sizeHint().width()
        column.setMinimumWidth(max(290, right.minimumSizeHint().width()) + bar + 2)
        column.setMaximumWidth(400 + bar)

        self.split = QSplitter()
        self.library.setMinimumWidth(220)
        self.split.addWidget(self.library)
        self.split.addWidget(self.centre)
        self.split.addWidget(column)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([270, 800, 320])

        self.tabs = QTabWidget()
        self.tabs.tabBar().setFocusPolicy(
            Qt.FocusPolicy.NoFocus
        )  # arrows browse the gallery, not the tabs (Ctrl+Tab switches)
        page = QWidget()
        QVBoxLayout(page).addWidget(self.split)
        self.tabs.addTab(page, "Generate")
        self.tabs.addTab(self.training, "Train")
        self.setCentralWidget(self.tabs)

        self.status_text = QLabel()
        self.status_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pixel = QLabel()
        self.pixel.setMinimumWidth(280)
        self.busy = QProgressBar()
        self.busy.setMaximumWidth(160)
        self.busy.setTextVisible(True)
        self.busy.setFormat("%v / %m")
        self.busy.hide()
        self.device_label = QLabel("")
        sb = self.statusBar()
        sb.addWidget(self.status_text, 1)
        sb.addPermanentWidget(self.pixel)
        sb.addPermanentWidget(self.busy)
        sb.addPermanentWidget(self.device_label)
        self._menus()
        self._set_view_modes("texture")

    def _menus(self) -> None:
        file = self.menuBar().addMenu("&File")
        act = QAction("&Open model…", self, shortcut=QKeySequence.StandardKey.Open, triggered=self.library.browse)
        file.addAction(act)
        self.export_action = QAction("&Export…", self, shortcut="Ctrl+E", triggered=self.open_export)
        file.addAction(self.export_action)
        file.addSeparator()
        file.addAction(
            QAction("&Quit", self, shortcut="Ctrl+Q", triggered=self.close)
        )  # StandardKey.Quit is empty on Windows
        view = self.menuBar().addMenu("&View")
        for n in (1, 2, 3):
            a = QAction(f"Tile {n}×{n}", self, shortcut=f"Ctrl+{n}")
            a.triggered.connect(lambda _=False, n=n: self.set_tiles(n))
            view.addAction(a)
        view.addAction(QAction("&Fit", self, shortcut="Ctrl+0", triggered=self.preview.fit))
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(QAction("&About texgen", self, triggered=self._about))

    def _connect(self) -> None:
        s, c = self.state, self.controls
        self.library.model_chosen.connect(self.load_model)
        s.model_loading.connect(self._on_loading)
        s.model_loaded.connect(self._on_loaded)
        s.model_failed.connect(self._on_load_failed)
        c.generate_requested.connect(self.generate)
        c.cancel_requested.connect(s.cancel_generation)
        c.cancel_requested.connect(self._on_cancelled)
        c.strength_changed.connect(lambda _: self._refresh_view())
        s.generation_started.connect(self._on_generation_started)
        s.variation_added.connect(self.gallery.add_variation)
        s.generation_progress.connect(lambda done, total: self.busy.setValue(done))
        s.generation_finished.connect(self._generation_done)
        s.generation_failed.connect(self._on_generation_failed)
        s.cleared.connect(self.gallery.clear)
        s.cleared.connect(self.interpolation.reset)
        s.view_ready.connect(self._on_view_ready)
        s.interpolated.connect(self._show)
        s.message.connect(self.show_message)
        self.gallery.current_changed.connect(lambda v: v is not None and self._show(v))
        self.gallery.favourite_toggled.connect(s.set_favourite)
        self.gallery.picked.connect(self.interpolation.pick)
        self.gallery.export_requested.connect(self.open_export)
        self.interpolation.position_changed.connect(s.interpolate)
        self.viewbar.tiles_chosen.connect(self.set_tiles)
        self.viewbar.mode_chosen.connect(self.set_view_mode)
        self.viewbar.fit_requested.connect(self.preview.fit)
        self.preview.hovered.connect(self._on_hover)
        self.preview.left.connect(lambda: self.pixel.setText(""))
        self.preview.zoom_changed.connect(self.viewbar.show_zoom)
        self.training.model_added.connect(self._on_trained)
        self.training.message.connect(self.show_message)

    # --- settings ------------------------------------------------------------------------
    def _restore(self) -> None:
        s = self.settings
        geometry, layout = s.blob("window/geometry"), s.blob("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(default_size(self.screen().availableGeometry().size()))
        if layout is not None:
            self.restoreState(layout)
        for key, splitter in (("window/split", self.split), ("window/centre", self.centre)):
            saved = s.blob(key)
            if saved is not None:
                splitter.restoreState(saved)
        self.controls.count.setValue(s.number("generate/count", 8))
        self.controls.seed.setValue(s.number("generate/seed", 0))
        self.controls.strength.setValue(s.real("generate/normal_strength", 0.0))
        self.set_tiles(s.number("view/tiles", 1))
        self.library.start_folder = s.folder("models")
        for p in s.text("library/opened", "").split("\n"):
            if p and Path(p).exists():
                self.library.opened.append(Path(p))
        self.library.refresh()

    def save_settings(self) -> None:
        s = self.settings
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        s.set("window/split", self.split.saveState())
        s.set("window/centre", self.centre.saveState())
        s.set("generate/count", self.controls.count.value())
        s.set("generate/seed", self.controls.seed.value())
        s.set("generate/normal_strength", self.controls.strength.value())
        s.set("view/tiles", self.preview.tiles)
        s.set("library/opened", "\n".join(str(p) for p in self.library.opened))
        s.set_folder("models", self.library.start_folder)
        if self.state.generator is not None:
            s.set("model/last", str(self.state.generator.path))
        s.sync()

    def start(self, model: str | None = None) -> None:
        """Open `model`, else the last one used, else the first bundled default."""
        if model:
            self.load_model(model)
            return
        last = self.settings.text("model/last", "")
        if last and Path(last).exists():
            self.load_model(last)
            return
        entries = list_models()
        preferred = [e for e in entries if e.name in DEFAULT_MODELS] or entries
        if preferred:
            self.load_model(str(preferred[0].path))
        else:
            self.show_message(
                "No models installed yet: open an .onnx file (File > Open model…) or train one on the Train tab"
            )

    # --- model ---------------------------------------------------------------------------
    def load_model(self, path: str) -> None:
        if is_model_file(path) and Path(path).exists():
            known = {str(p) for p in self.library.paths()}
            if str(path) not in known:
                self.library.add_file(path)
        self.state.load_model(path)

    def _on_loading(self, path: str) -> None:
        self.library.show_loading(path)
        self.show_message(f"Opening {Path(path).name}…")

    def _on_loaded(self, gen) -> None:
        info = gen.info
        self.library.show_model(gen)
        self.controls.set_model(gen)
        names = info.channel_names if info.kind == "material" else ()
        self._set_view_modes(info.kind, names)
        self.device_label.setText("CPU" if gen.device == "cpu" else f"GPU · {gen.device}")  # "CPU · cpu" said it twice
        self.device_label.setToolTip(gen.provider)
        self.setWindowTitle(f"texgen · {info.name}")
        self.settings.set("model/last", str(gen.path))
        self.show_message(
            f"{info.name}: {info.kind}, native {info.native_width}×{info.native_height}, running on {gen.device}"
        )
        self.model_note = imaging.layout_note(names, info.channels)
        if self.model_note:  # said plainly: its pictures are still made
            self.show_message(f"{info.name}: {self.model_note}")
        self.preview.set_image(None)
        self.relief.set_image(None)
        self.lit.show_image(None)
        self.generate(self.controls.spec())

    def _on_load_failed(self, message: str) -> None:
        self.library.show_error(message, still_open=self.state.generator)
        self.show_message(message, error=True)
        if self.state.generator is not None:
            self.library.mark_current(str(self.state.generator.path))

    def _on_trained(self, path: str) -> None:
        self.library.refresh()
        if self.training.best_button.isHidden():
            self.tabs.setCurrentIndex(0)  # to the new model, opened below
        # else the Train tab stays in front: it offers the run's lowest-SWD step beside its end,
        # and going to Generate hid that offer as the run finished
        self.load_model(path)

    # --- generating ----------------------------------------------------------------------
    def generate(self, spec) -> None:
        self.state.generate(spec)

    def _on_generation_started(self, total: int) -> None:
        self.shown = None
        self.details.show_variation(None, None)
        self.busy.setRange(0, total)
        self.busy.setValue(0)
        self.busy.show()
        self.controls.set_busy(True)
        self.show_message(f"Generating {total} variation{'s' if total > 1 else ''}…")

    def _generation_done(self, seconds: float | None) -> None:
        self.busy.hide()
        self.controls.set_busy(False)
        if seconds is not None and self.state.variations:
            n = len(self.state.variations)
            self.show_message(
                f"{n} variation{'s' if n > 1 else ''} in {seconds:.1f} s · arrows to browse, F favourite, A/B to interpolate"
                + (f" · {self.model_note}" if self.model_note else "")
            )
            focus = self.focusWidget()  # the window's own: None while another window is active
            if focus is self.controls.go or focus is self.tabs.tabBar():
                self.gallery.setFocus()  # so the keys the message names work at once

    def _on_cancelled(self) -> None:
        self._generation_done(None)
        n = len(self.state.variations)
        self.show_message(f"Generation cancelled: {n} variation{'s' if n != 1 else ''} kept")

    def _on_generation_failed(self, message: str) -> None:
        self._generation_done(None)
        self.show_message(message, error=True)

    # --- preview -------------------------------------------------------------------------
    def _set_view_modes(self, kind: str, names: tuple[str, ...] = ()) -> None:
        modes = imaging.views_for(kind, names)
        if self.view_mode not in modes:
            # The same picture under its other name (a texture's colour is a material's albedo).
            same = {imaging.COLOUR: imaging.ALBEDO, imaging.ALBEDO: imaging.COLOUR, imaging.GREY: imaging.HEIGHT}
            self.view_mode = same.get(self.view_mode) if same.get(self.view_mode) in modes else modes[0]
        self.viewbar.set_modes(modes, self.view_mode)
        self.stack.setCurrentWidget(self._page(self.view_mode))

    def _page(self, mode: str) -> QWidget:
        """The widget that draws a view mode: the relief and the lit preview their own."""
        return {imaging.RELIEF: self.relief, imaging.LIT: self.lit}.get(mode, self.preview)

    def view_settings(self) -> imaging.ViewSettings:
        strength = self.controls.normal_strength()
        if strength is None:  # auto: what an export without --normal-strength uses
            kind = self.state.generator.info.kind if self.state.generator else "texture"
            size = self.shown.img.shape[:2] if self.shown is not None else (512, 512)
            strength = normal_strength_for(kind, size)
        return imaging.ViewSettings(self.view_mode, strength)

    def set_view_mode(self, mode: str) -> None:
        self.view_mode = mode
        self.viewbar.show_mode(mode)
        self.stack.setCurrentWidget(self._page(mode))
        self._refresh_view()

    def set_tiles(self, n: int) -> None:
        self.preview.set_tiles(n)
        self.viewbar.show_tiles(n)

    def _show(self, v: Variation) -> None:
        self.shown = v
        spec = self.state.spec
        self.details.show_variation(
            self.state.generator,
            v,
            spec.seamless if spec else True,
            spec.scale if spec else 1.0,
            spec.erosion if spec else None,
        )
        self._refresh_view()

    def _refresh_view(self) -> None:
        v = self.shown
        if v is None:
            return
        if self.view_mode == imaging.RELIEF:
            self.relief.set_image(v.img)
        elif self.view_mode == imaging.LIT:
            settings = self.view_settings()
            self.lit.show_image(v.img, v.names, bool(v.sample.tileable), key=v.key, strength=settings.strength)
        else:
            self.state.request_view(v, self.view_settings())

    def _on_view_ready(self, v: Variation, view, image) -> None:
        if v is self.shown and view == self.view_settings():
            self.preview.set_image(image)

    def _on_hover(self, x: int, y: int) -> None:
        if self.shown is not None:
            self.pixel.setText(imaging.describe_pixel(self.shown.img, x, y, self.shown.names))

    # --- export --------------------------------------------------------------------------
    def open_export(self) -> ExportDialog | None:
        gen = self.state.generator
        if gen is None:
            self.show_message("no model is loaded: open one before exporting", error=True)
            return None
        shown = self.export_dialog
        if shown is not None and shown.isVisible():
            if shown.running:  # Ctrl+E during an export: that dialog, not a second one beside it
                shown.raise_()
                shown.activateWindow()
                return shown
            shown.close()  # else a fresh one, with today's selection, seed and size
        spec = self.state.spec
        selected = [v.seed for v in self.gallery.selected_variations() if v.seed is not None]
        favourites = [v.seed for v in self.state.favourites() if v.seed is not None]
        size = None
        if self.state.variations:
            img = self.state.variations[0].img
            size = (img.shape[0], img.shape[1])
        dialog = ExportDialog(
            gen,
            settings=self.settings,
            selected_seeds=selected,
            favourite_seeds=favourites,
            size=size,
            interpolation=self.interpolation.seeds(),
            label=gen.info.classes[spec.label] if spec and spec.label is not None else None,
            seamless=spec.seamless if spec else True,
            scale=spec.scale if spec else 1.0,
            erosion=spec.erosion if spec else None,
            normal_strength=self.controls.normal_strength(),
            device=self.state.device,
            first_seed=self.controls.seed.value(),
            parent=self,
        )
        self.export_dialog = dialog
        dialog.show()
        return dialog

    # --- messages, drops, closing ---------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.status_text.setText(text)
        self.status_text.setToolTip(text)
        self.status_text.setStyleSheet("color: #ff8a80" if error else "")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if any(is_model_file(u.toLocalFile()) for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if is_model_file(u.toLocalFile())]
        if paths:
            event.acceptProposedAction()
            self.load_model(paths[0])

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About texgen",
            f"<b>texgen {__version__}</b><p>Texture and heightmap generator for game developers.</p>",
        )

    def ask_to_stop_training(self) -> QMessageBox.StandardButton:
        return QMessageBox.question(
            self, "Training is running", "Stop the training run (it saves a checkpoint and exports the model) and quit?"
        )

    def _close_after_training(self, *_) -> None:
        self.training.run.ended.disconnect(self._close_after_training)
        self.close()

    def closeEvent(self, event) -> None:
        if self.training.running:
            # The trainer checkpoints and exports after a stop; closing now would destroy the
            # QProcess and kill it first. So the window stays, responsive, and closes itself
            # when the run has ended (a second close kills the run at once).
            if self._close_when_trained:
                event.ignore()
                self.training.stop()  # the second Stop: Kill
                return
            answer = self.ask_to_stop_training()
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        if self.training.running:  # still running after the question: stop it, close at its end
            event.ignore()
            self._close_when_trained = True
            self.training.run.ended.connect(self._close_after_training)
            if not self.training.run.stopping:  # already stopped with Stop: a second stop would kill it
                self.training.stop()
            self.show_message(
                "Finishing the training run (checkpoint, then export): the window closes when it is done; "
                "close it again to end the run now"
            )
            return
        if self.training.exporting:  # the lowest-SWD checkpoint's export: seconds; let it finish whole
            event.ignore()
            if not self._close_when_exported:
                self._close_when_exported = True
                self.training.exporter.finished.connect(lambda *_: self.close())
                self.show_message("Finishing the export of the checkpoint's model: the window closes when it is done")
            return
        self.state.cancel_generation()
        self.training.shutdown()
        self.save_settings()
        super().closeEvent(event)
