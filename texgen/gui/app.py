"""Starting the desktop app: arguments, the QApplication and its dark theme, the window.

`texgen gui [MODEL] [--device D] [--settings FILE]` (also `texgen-gui`, `python -m texgen.gui`).
The window shows at once; the model opens on a worker after the first paint, so start-up does
not wait for onnxruntime.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import sys
import time
import traceback
from typing import Callable, Mapping

from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from texgen import __version__
from texgen.assets import assets_root
from texgen.gui.settings import Settings, file_settings


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="texgen gui", description="Open the texgen desktop app.")
    p.add_argument("model", nargs="?", help="a model name or .onnx file to open (default: the last one used)")
    p.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda", "directml", "coreml"),
        help="where models run (default: GPU when one starts, else CPU)",
    )
    p.add_argument("--settings", metavar="FILE", help="keep settings in this INI file instead of the user's")
    p.add_argument("--quit-after-start", action="store_true", help=argparse.SUPPRESS)  # start-up timing
    p.add_argument("--version", action="version", version=f"texgen {__version__}")
    return p.parse_args(argv)


EXIT_USAGE = 2
XCB_CURSOR_MISSING = (
    "the desktop app needs the system library libxcb-cursor0 (Debian, Ubuntu: sudo apt install "
    "libxcb-cursor0; Fedora: sudo dnf install xcb-util-cursor)"
)


def find_system_library(name: str) -> str | None:
    """A shared library by its short name ("xcb-cursor") as the loader would find it: the
    system's cache, else loading `lib<name>.so.0` (found on LD_LIBRARY_PATH too, where a
    frozen app keeps the libraries it bundles)."""
    found = ctypes.util.find_library(name)
    if found:
        return found
    try:
        ctypes.CDLL(f"lib{name}.so.0")
    except OSError:
        return None
    return f"lib{name}.so.0"


def platform_problem(env: Mapping[str, str] = os.environ, system: str = sys.platform,
                     find_library: Callable[[str], str | None] | None = None) -> str | None:  # fmt: skip
    """Why Qt could not open a window here, in one line; None when nothing is known against it.

    Qt aborts the whole process (qFatal: "could not load the Qt platform plugin xcb") when its
    X11 plugin lacks a system library, so this is asked before the QApplication exists. The
    known case: Qt 6.5 and later need libxcb-cursor, which desktops without Qt apps may lack.
    Only where Qt would pick xcb: Linux, QT_QPA_PLATFORM unset or xcb, and not a Wayland
    session (where Qt tries its wayland plugin first); offscreen and wayland are never held up."""
    if not system.startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        if chosen.split(":")[0] != "xcb":  # offscreen, wayland, a list that starts elsewhere, ...
            return None
    elif env.get("XDG_SESSION_TYPE", "") == "wayland":
        return None
    if (find_library or find_system_library)("xcb-cursor") is None:
        return XCB_CURSOR_MISSING
    return None


def dark_palette() -> QPalette:
    """A neutral dark theme: textures are judged against grey, not against white."""
    pal = QPalette()
    base, window, text = QColor(34, 36, 40), QColor(45, 47, 52), QColor(222, 224, 228)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: window,
        QPalette.ColorRole.ToolTipBase: QColor(60, 62, 68),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(56, 59, 65),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Highlight: QColor(61, 126, 204),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(100, 170, 255),
        QPalette.ColorRole.PlaceholderText: QColor(128, 132, 140),
    }
    for role, colour in roles.items():
        pal.setColor(role, colour)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 123, 130))
    return pal


# Checked tool buttons (view mode, tiling) must read as "on" at a glance.
STYLE_SHEET = """
QToolButton { padding: 3px 9px; border: 1px solid #4a4d55; border-radius: 3px; background: #383b41; }
QToolButton:hover { background: #454850; }
QToolButton:checked { background: #3d7ecc; border-color: #5a95dc; color: white; }
QToolButton:disabled { color: #70737a; background: #313338; }
QGroupBox { font-weight: bold; border: 1px solid #44474e; border-radius: 4px; margin-top: 10px; padding-top: 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; }
"""


def style_app(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLE_SHEET)
    app.setApplicationName("texgen")
    app.setOrganizationName("texgen")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("texgen")  # matches packaging/texgen.desktop (taskbar grouping, icon)
    root = assets_root()
    if root is not None and (root / "icons" / "texgen.png").is_file():
        app.setWindowIcon(QIcon(str(root / "icons" / "texgen.png")))


def install_excepthook(window) -> None:
    """A bug in a slot is reported in the status bar (and on stderr), never a dead window."""
    from texgen.gui.workers import describe_error  # noqa: PLC0415

    def hook(kind, exc, tb):
        traceback.print_exception(kind, exc, tb)
        try:
            window.show_message(describe_error(exc), error=True)
        except RuntimeError:  # the window is already gone
            pass

    sys.excepthook = hook


def open_requested(window, model: str | None) -> None:
    """Open the model given on the command line (a path, or an installed model's name), else
    the last one used or the default. An unknown name is said in red and nothing else is
    opened: a default model's load and first batch would replace the message at once, and
    the user would not know that their model was not found."""
    if model and not model.lower().endswith(".onnx"):
        from texgen.assets import resolve_model  # noqa: PLC0415
        from texgen.errors import TexgenError  # noqa: PLC0415

        try:
            model = str(resolve_model(model))
        except TexgenError as exc:
            window.show_message(
                f"{exc.problem}: pick a model in the list, or open one with File > Open model…", error=True
            )
            return
    window.start(model)


def run(argv: list[str]) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    if QApplication.instance() is None:
        problem = platform_problem()
        if problem:  # Qt would abort with a message that names no package to install
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_USAGE
    app = QApplication.instance() or QApplication(sys.argv[:1] or ["texgen"])
    style_app(app)
    from texgen.gui.window import MainWindow  # noqa: PLC0415 (after the QApplication exists)

    settings = Settings(file_settings(args.settings)) if args.settings else Settings()
    window = MainWindow(settings, device=args.device)
    window.show()
    install_excepthook(window)
    QTimer.singleShot(0, lambda: open_requested(window, args.model))
    if args.quit_after_start:

        def report() -> None:
            print(f"window shown in {time.perf_counter() - started:.2f} s", flush=True)
            window.close()
            app.quit()

        QTimer.singleShot(0, report)
    code = app.exec()
    QThreadPool.globalInstance().waitForDone(5000)
    return code
