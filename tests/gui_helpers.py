"""Fixtures shared by the GUI tests (imported by tests/test_gui_*.py).

Each window gets its own settings file and user model folder under tmp_path, so tests never
read or change the user's; every test waits for the pool's workers before Qt is torn down.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QThreadPool

import texgen.gui  # noqa: F401  (installs the binding work-around first)
from texgen.gui import workers
from texgen.gui.settings import Settings, file_settings


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    folder = tmp_path / "user-models"
    monkeypatch.setenv("TEXGEN_USER_MODELS", str(folder))
    return folder


@pytest.fixture
def settings(tmp_path):
    return Settings(file_settings(tmp_path / "settings.ini"))


def drain(qtbot, timeout_ms: int = 20_000) -> None:
    """Wait until no worker runs (and their queued signals are delivered)."""
    qtbot.waitUntil(lambda: workers.running() == 0, timeout=timeout_ms)
    QThreadPool.globalInstance().waitForDone(timeout_ms)
    qtbot.wait(10)


@pytest.fixture
def window(qtbot, settings, user_models):
    from texgen.gui.window import MainWindow  # noqa: PLC0415

    w = MainWindow(settings, device="cpu")
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w
    w.state.cancel_generation()
    workers.cancel_all()
    drain(qtbot)


def open_and_generate(qtbot, window, path, count: int = 4, size: int | None = 64) -> None:
    """Open a model and wait for the gallery to fill with `count` variations of `size`."""
    c = window.controls
    with qtbot.waitSignal(window.state.model_loaded, timeout=20_000):
        window.start(str(path))
    # Loading generates with the current controls; generate again with the test's settings.
    drain(qtbot)
    c.count.setValue(count)
    c.set_size(size if size is not None else 0)
    with qtbot.waitSignal(window.state.generation_finished, timeout=30_000):
        c.go.click()
    drain(qtbot)
    assert window.gallery.count() == count


def qimage_array(image) -> np.ndarray:
    """A QImage's pixels as an H x W x 3 (or H x W) uint8 array, whatever its format."""
    from PySide6.QtGui import QImage  # noqa: PLC0415

    grey = image.format() == QImage.Format.Format_Grayscale8
    img = image.convertToFormat(QImage.Format.Format_Grayscale8 if grey else QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, :w].copy() if grey else buf[:, : 3 * w].reshape(h, w, 3).copy()
