"""The model library: bundled models, the user's model folder, and files opened by hand.

Listing is cheap (file names); a model is opened only when picked, on a worker. The card
under the list says what the loaded model makes and where it came from: kind, native size,
tileable, classes, training data and its licence, and the device it runs on.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from texgen.assets import ModelEntry, list_models, user_models_dir
from texgen.errors import TexgenError
from texgen.model import Generator, load_generator
from texgen.gui import imaging
from texgen.gui.workers import run_in_pool

_ROLE = Qt.ItemDataRole.UserRole
_SOURCE = Qt.ItemDataRole.UserRole + 1
SOURCE_LABELS = {"bundled": "bundled", "user": "my models", "opened": "opened"}


def is_model_file(path: str | Path) -> bool:
    return str(path).lower().endswith(".onnx")


def summary(gen: Generator) -> str:
    """One line for the list: what the model makes (`texgen models` prints the native size of a
    spatial model too, for scripts; here "any size" says what an artist can ask of it)."""
    info = gen.info
    # A spatial model makes any size ("32×32" read as a 32 px texture); a fixed one its own.
    parts = [info.kind]
    if info.kind == "material":
        parts.append(f"{len(imaging.material_maps(info.channel_names)) or info.channels} maps")
    parts.append("any size" if info.spatial else f"{info.native_width}×{info.native_height}")
    if info.tileable:
        parts.append("tileable")
    if info.classes:
        parts.append(f"{len(info.classes)} classes")
    return " · ".join(parts)


def describe(gen: Generator) -> str:
    """The model card as rich text."""
    info = gen.info
    e = html.escape
    rows = [
        ("Makes", f"{info.kind}, {info.channels} channel{'s' if info.channels > 1 else ''}"),
        *(
            [("Maps", imaging.describe_maps(info.channel_names, info.channel_spaces))]
            if info.kind == "material"
            else []
        ),
        (
            "Native size",
            f"{info.native_width} × {info.native_height}"
            + (f" (any multiple of {info.pixels_per_cell} px)" if info.spatial else ""),
        ),
        ("Tileable", "yes, by construction" if info.tileable else "no (seamless post-process)"),
    ]
    if info.classes:
        shown = ", ".join(info.classes[:12]) + (f", … ({len(info.classes)})" if len(info.classes) > 12 else "")
        rows.append(("Classes", shown))
    if info.algorithm:
        rows.append(("Training", info.algorithm + (f", {info.training_steps:,} steps" if info.training_steps else "")))
    rows.append(("Trained on", info.dataset or "unknown"))
    rows.append(("Data licence", info.data_license or "unknown"))
    if info.metrics:
        rows.append(
            (
                "Metrics",
                ", ".join(
                    f"{k} {v:.3g}" if isinstance(v, (int, float)) else f"{k} {v}"
                    for k, v in sorted(info.metrics.items())
                ),
            )
        )
    gpu = gen.device != "cpu"
    rows.append(("Runs on", f"{'GPU' if gpu else 'CPU'} ({gen.provider})"))
    for note in gen.runtime.notes:
        rows.append(("Note", note))
    if gen.guesses:
        rows.append(("Guessed", "; ".join(gen.guesses)))
    body = "".join(
        f"<tr><td style='color:#9aa0a8;padding-right:8px'>{e(k)}</td><td>{e(str(v))}</td></tr>" for k, v in rows
    )
    title = f"<b style='font-size:13pt'>{e(info.name)}</b>"
    about = f"<div style='color:#b8bcc4'>{e(info.description)}</div>" if info.description else ""
    return f"{title}{about}<table>{body}</table>"


class Library(QWidget):
    model_chosen = Signal(str)  # path to open

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setToolTip("Pick a model to open it · drop an .onnx file on the window to add one")
        self.list.setSpacing(2)
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemActivated.connect(self._chosen)
        self.list.itemClicked.connect(self._chosen)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.open_button = QPushButton("Open model…")
        self.open_button.setToolTip("Open a generator .onnx file")
        self.open_button.clicked.connect(self.browse)
        self.folder_button = QPushButton("My models folder")
        self.folder_button.setToolTip(f"Open {user_models_dir()}: .onnx files put there appear here")
        self.folder_button.clicked.connect(self._open_folder)
        self.card = QLabel("No model loaded")
        self.card.setWordWrap(True)
        self.card.setTextFormat(Qt.TextFormat.RichText)
        self.card.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.card.setMinimumHeight(120)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.folder_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.card, 3)
        self.start_folder = str(Path.home())
        self.opened: list[Path] = []
        self.current: str | None = None
        self.summaries: dict[str, str] = {}  # path -> one line, filled in the background
        self.refresh()

    # --- the list ------------------------------------------------------------------------
    def entries(self) -> list[ModelEntry]:
        found = list_models()
        known = {e.path.resolve() for e in found}
        extra = [ModelEntry(p.stem, p, "opened") for p in self.opened if p.resolve() not in known and p.exists()]
        return found + extra

    def refresh(self) -> None:
        self.list.clear()
        entries = self.entries()
        for entry in entries:
            item = QListWidgetItem()
            item.setData(_ROLE, str(entry.path))
            item.setData(_SOURCE, SOURCE_LABELS.get(entry.source, entry.source))
            item.setToolTip(str(entry.path))
            self.list.addItem(item)
            self._label(item)
        if not entries:
            item = QListWidgetItem("No models yet: Open model… or train one")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(item)
        self.mark_current(self.current)
        self._summarise([str(e.path) for e in entries if str(e.path) not in self.summaries])

    def _label(self, item: QListWidgetItem) -> None:
        path = item.data(_ROLE)
        line = self.summaries.get(path, "…")
        item.setText(f"{Path(path).stem}   ({item.data(_SOURCE)})\n{line}")

    def _summarise(self, paths: list[str]) -> None:
        """Open each listed model on a worker, as `texgen models` does, for its summary line."""
        if not paths:
            return

        def task(report, cancelled):
            for path in paths:
                if cancelled():
                    return
                try:
                    report((path, summary(load_generator(path, device="cpu"))))
                except TexgenError as exc:
                    report((path, f"unusable: {exc.problem}"))

        def got(result) -> None:
            path, line = result
            self.summaries[path] = line
            for i in range(self.list.count()):
                item = self.list.item(i)
                if item.data(_ROLE) == path:
                    self._label(item)

        run_in_pool(task, on_progress=got, owner=self, name="library")

    def add_file(self, path: str | Path) -> None:
        """Remember a file opened by hand (or dropped) in the list."""
        p = Path(path)
        if p not in self.opened:
            self.opened.append(p)
        self.refresh()

    def paths(self) -> list[str]:
        return [self.list.item(i).data(_ROLE) for i in range(self.list.count()) if self.list.item(i).data(_ROLE)]

    def mark_current(self, path: str | None) -> None:
        self.current = path
        for i in range(self.list.count()):
            item = self.list.item(i)
            data = item.data(_ROLE)
            f = item.font()
            f.setBold(bool(path and data and Path(data) == Path(path)))
            item.setFont(f)
            if f.bold():
                self.list.setCurrentItem(item)

    # --- the card ------------------------------------------------------------------------
    def show_loading(self, path: str) -> None:
        self.card.setText(f"<i>Opening {html.escape(Path(path).name)}…</i>")

    def show_model(self, gen: Generator) -> None:
        self.card.setText(describe(gen))
        path = str(gen.path)
        if path not in self.summaries:
            self.summaries[path] = summary(gen)
            self.refresh()
        self.mark_current(path)

    def show_error(self, message: str, still_open: Generator | None = None) -> None:
        """The error, above the card of the model that is still open (it stays in use: the
        card that only said "Could not open" left its user unsure what was loaded)."""
        error = f"<b style='color:#ff8a80'>Could not open the model</b><br>{html.escape(message)}"
        if still_open is not None:
            error += f"<hr><i>Still open:</i><br>{describe(still_open)}"
        self.card.setText(error)

    def _menu(self, pos) -> None:
        """Right-click: a model opened from a file (not bundled, not in the models folder) can
        be taken off the list; the file itself is left alone."""
        item = self.list.itemAt(pos)
        path = Path(item.data(_ROLE)) if item is not None and item.data(_ROLE) else None
        if path is None or not any(p == path for p in self.opened):
            return
        menu = QMenu(self)
        menu.addAction("Remove from list", lambda: self.remove_opened(path))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def remove_opened(self, path: Path) -> None:
        self.opened = [p for p in self.opened if p != path]
        self.summaries.pop(str(path), None)
        self.refresh()

    # --- actions -------------------------------------------------------------------------
    def _chosen(self, item: QListWidgetItem) -> None:
        path = item.data(_ROLE)
        if path and path != self.current:
            self.model_chosen.emit(path)

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a generator", self.start_folder, "ONNX generators (*.onnx);;All files (*)"
        )
        if path:
            self.start_folder = str(Path(path).parent)
            self.add_file(path)
            self.model_chosen.emit(path)

    def _open_folder(self) -> None:
        folder = user_models_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
