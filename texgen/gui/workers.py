"""Slow work off the GUI thread: QRunnable workers on QThreadPool, results back as signals.

A `Worker` runs `fn(report, cancelled)` on a pool thread. `report(x)` sends a progress value
to the GUI thread; `cancelled()` turns true after `Worker.cancel()`. The outcome comes back
as exactly one of `result(value)` or `failed(message)`, then `finished()`. A `TexgenError`
becomes its own one-line message (what is wrong, what to do); anything else is a bug, shown
as one line too so the window stays usable, with the traceback on stderr for the report.

The signal object is created on the GUI thread, so its signals are delivered there (queued)
whatever thread emits them. Workers are kept in a set until their `finished` signal has been
delivered on the GUI thread: dropped any earlier, the signal object could be collected while
its queued signals still wait ("Signal source has been deleted"), or the QRunnable while Qt
still runs it.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from texgen.errors import CancelledError, TexgenError

Report = Callable[[Any], None]
Cancelled = Callable[[], bool]
Task = Callable[[Report, Cancelled], Any]


class WorkerSignals(QObject):
    progress = Signal(object)
    result = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()


_RUNNING: set["Worker"] = set()
_LOCK = threading.Lock()


def describe_error(exc: BaseException) -> str:
    """One line for the status bar: a TexgenError's own text, else the type and message."""
    if isinstance(exc, TexgenError):
        return str(exc)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"unexpected error: {type(exc).__name__}{': ' + first[:300] if first else ''} (please report it)"


class Worker(QRunnable):
    """One piece of slow work. Connect to `signals` before `start()`."""

    def __init__(self, fn: Task, name: str = "") -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it (see _RUNNING)
        self.fn = fn
        self.name = name
        self.signals = WorkerSignals()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def start(self, pool: QThreadPool | None = None) -> "Worker":
        with _LOCK:
            _RUNNING.add(self)
        # Connected last, so it runs after the caller's slots for `finished`.
        self.signals.finished.connect(self._release)
        (pool or QThreadPool.globalInstance()).start(self)
        return self

    def _release(self) -> None:  # on the GUI thread, once every signal has been delivered
        # Not now: this runs inside the emission of `finished`, and dropping the last
        # reference here would delete the signal object while PySide still walks its slots.
        QTimer.singleShot(0, self._forget)

    def _forget(self) -> None:
        with _LOCK:
            _RUNNING.discard(self)

    def run(self) -> None:  # on a pool thread
        try:
            self._run()
        except RuntimeError as exc:  # the window closed under a running task: its signals are gone
            if "Signal source has been deleted" not in str(exc):
                raise

    def _run(self) -> None:
        try:
            value = self.fn(self.signals.progress.emit, self._cancel.is_set)
        except CancelledError:
            self.signals.cancelled.emit()
        except Exception as exc:  # the window must survive anything a worker does
            if isinstance(exc, RuntimeError) and "Signal source has been deleted" in str(exc):
                raise  # nobody to tell: see run()
            if not isinstance(exc, TexgenError):
                traceback.print_exc()
            self.signals.failed.emit(describe_error(exc))
        else:
            if self._cancel.is_set():
                self.signals.cancelled.emit()
            else:
                self.signals.result.emit(value)
        finally:
            self.signals.finished.emit()


def run_in_pool(
    fn: Task,
    *,
    on_result: Callable[[Any], None] | None = None,
    on_failed: Callable[[str], None] | None = None,
    on_progress: Callable[[Any], None] | None = None,
    on_finished: Callable[[], None] | None = None,
    on_cancelled: Callable[[], None] | None = None,
    owner: QObject | None = None,
    name: str = "",
) -> Worker:
    """Start `fn` on the global pool with the given slots connected; returns the worker.

    owner: the QObject the slots belong to. Once Qt has deleted it (a closed window), its
    slots are no longer called and the work is cancelled: a late result must not reach
    widgets that are gone.
    """
    w = Worker(fn, name)
    for signal, slot in (
        (w.signals.result, on_result),
        (w.signals.failed, on_failed),
        (w.signals.progress, on_progress),
        (w.signals.finished, on_finished),
        (w.signals.cancelled, on_cancelled),
    ):
        if slot is not None:
            signal.connect(slot if owner is None else _guarded(slot, owner, w))
    return w.start()


def _guarded(slot: Callable, owner: QObject, worker: Worker) -> Callable:
    def call(*args):
        if shiboken6.isValid(owner):
            slot(*args)
        else:
            worker.cancel()

    return call


def running() -> int:
    """How many workers have not finished, signals delivered (for tests and a clean shutdown)."""
    with _LOCK:
        return len(_RUNNING)


def cancel_all() -> None:
    with _LOCK:
        workers = list(_RUNNING)
    for w in workers:
        w.cancel()


class Latest(QObject):
    """Runs one job at a time and, while it runs, keeps only the newest request.

    For live controls (the interpolation slider, the relief's rotation): a drag asks for
    dozens of renders; the user wants the one under the mouse now, not a queue.
    """

    result = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._busy = False
        self._pending: Task | None = None

    @property
    def busy(self) -> bool:
        return self._busy

    def submit(self, fn: Task) -> None:
        if self._busy:
            self._pending = fn
            return
        self._busy = True
        run_in_pool(
            fn,
            on_result=self.result.emit,
            on_failed=self.failed.emit,
            on_finished=self._next,
            owner=self,
            name="latest",
        )

    def _next(self) -> None:
        self._busy = False
        fn, self._pending = self._pending, None
        if fn is not None:
            self.submit(fn)
