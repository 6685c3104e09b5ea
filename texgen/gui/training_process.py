"""`texgen train` as a child process: start it, read its JSON progress lines, stop it cleanly.

The GUI never imports the trainer (nor torch): it runs `python -m texgen train ...
--progress json` with QProcess and turns each stdout line into an `event` signal (see
trainer/cli.py for the schema). Stderr is kept (its last lines explain a crash). The outcome
comes as `ended(outcome, message)`:

    done      the "done" event arrived (after a normal end or a Stop): message = the ONNX path
    error     the trainer reported a user error ("error" event, or an `error:` line on stderr
              and exit code 2 before it spoke JSON): message = its text
    killed    the user pressed Stop twice (Kill) and the process ended without "done"
    crashed   the process died or ended without "done": message = the end of its stderr
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from texgen.cli.extras import missing_extra

KILL_AFTER_MS = 120_000  # a Stop that has not ended the run by then becomes a kill
EXIT_USER_ERROR = 2  # `texgen train`'s exit code for a user error, said in one `error:` line


def trainer_problem() -> str | None:
    """Why `texgen train` cannot run from this app, in one line (PyTorch or matplotlib not
    installed: the `train` extra); None when it can. Asked without importing torch. A frozen
    app's trainer is a separate executable whose contents this process cannot see: None."""
    if getattr(sys, "frozen", False):
        return None
    importlib.invalidate_caches()  # a `pip install` since the app started counts
    problem = missing_extra("training")
    return None if problem is None else str(problem)


def default_trainer(command: str = "train") -> tuple[str, list[str]]:
    """`texgen train` (or `texgen export`) here: the console `texgen` beside a frozen app (a
    windowed executable's output may not reach us on Windows), else this Python."""
    if getattr(sys, "frozen", False):
        exe = "texgen.exe" if sys.platform == "win32" else "texgen"
        return str(Path(sys.executable).with_name(exe)), [command]
    return sys.executable, ["-m", "texgen", command]


def child_process(parent: QObject) -> QProcess:
    """A QProcess for a `texgen` child: UTF-8, unbuffered output (lines arrive as they are written)."""
    p = QProcess(parent)
    env = QProcessEnvironment.systemEnvironment()
    env.insert("PYTHONUNBUFFERED", "1")
    env.insert("PYTHONIOENCODING", "utf-8")
    p.setProcessEnvironment(env)
    return p


@dataclass
class TrainerCommand:
    """How to start the trainer (and its exporter, `texgen export`, with `export_prefix`);
    tests point them at stand-in scripts."""

    program: str = field(default_factory=lambda: default_trainer()[0])
    prefix: list[str] = field(default_factory=lambda: default_trainer()[1])
    export_prefix: list[str] = field(default_factory=lambda: default_trainer("export")[1])

    def arguments(self, args: list[str]) -> list[str]:
        return [*self.prefix, *args]

    def export_arguments(self, args: list[str]) -> list[str]:
        return [*self.export_prefix, *args]


class TrainingProcess(QObject):
    event = Signal(dict)
    log = Signal(str)
    ended = Signal(str, str)  # outcome, message

    def __init__(self, command: TrainerCommand | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.command = command or TrainerCommand()
        self.process: QProcess | None = None
        self.stderr_tail: deque[str] = deque(maxlen=30)
        self.last: dict[str, dict] = {}  # latest event of each kind
        self._out = b""
        self._err = b""
        self._stopping = False
        self._killed = False  # by the user (a second Stop), not by a crash
        self._kill_timer = QTimer(self, singleShot=True, interval=KILL_AFTER_MS, timeout=self.kill)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    @property
    def stopping(self) -> bool:
        """A stop was asked for and the run is finishing (a further stop kills it)."""
        return self.running and self._stopping

    def start(self, args: list[str]) -> None:
        if self.running:
            raise RuntimeError("a training run is already going")
        self.stderr_tail.clear()
        self.last.clear()
        self._out = self._err = b""
        self._stopping = self._killed = False
        p = child_process(self)
        p.readyReadStandardOutput.connect(self._read_out)
        p.readyReadStandardError.connect(self._read_err)
        p.finished.connect(self._finished)
        p.errorOccurred.connect(self._error)
        self.process = p
        full = self.command.arguments([*args, "--stop-on-stdin"])
        self.log.emit("$ " + " ".join([os.path.basename(self.command.program), *full]))
        p.start(self.command.program, full)

    def stop(self) -> None:
        """Ask the run to stop, on which the trainer checkpoints and exports: a line `stop` on
        its stdin (the one way that works on Windows, where terminate() only posts WM_CLOSE,
        which a console process never sees), and SIGTERM elsewhere."""
        if not self.running:
            return
        if self._stopping:
            self._killed = True
            self.kill()
            return
        self._stopping = True
        self.process.write(b"stop\n")
        if sys.platform != "win32":
            self.process.terminate()
        self._kill_timer.start()

    def kill(self) -> None:
        if self.running:
            self.process.kill()

    # --- reading -------------------------------------------------------------------------
    def _read_out(self) -> None:
        self._out += bytes(self.process.readAllStandardOutput())
        *lines, self._out = self._out.split(b"\n")
        for raw in lines:
            self._line(raw.decode("utf-8", "replace").strip())

    def _line(self, line: str) -> None:
        if not line:
            return
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            ev = None
        if isinstance(ev, dict) and isinstance(ev.get("event"), str):
            self.last[ev["event"]] = ev
            self.event.emit(ev)
        else:
            self.log.emit(line)

    def _read_err(self) -> None:
        self._err += bytes(self.process.readAllStandardError())
        *lines, self._err = self._err.split(b"\n")
        for raw in lines:
            text = raw.decode("utf-8", "replace").rstrip()
            if text:
                self.stderr_tail.append(text)
                self.log.emit(text)

    # --- the end -------------------------------------------------------------------------
    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        self._read_out()
        self._read_err()
        if self._out.strip():
            self._line(self._out.decode("utf-8", "replace").strip())
            self._out = b""
        if "done" in self.last:
            self.ended.emit("done", str(self.last["done"].get("onnx", "")))
        elif "error" in self.last:
            self.ended.emit("error", str(self.last["error"].get("message", "the trainer reported an error")))
        elif self._killed:
            self.ended.emit("killed", str(self.last.get("start", {}).get("run_dir", "")))
        elif code == EXIT_USER_ERROR and status == QProcess.ExitStatus.NormalExit and self._error_line():
            self.ended.emit("error", self._error_line())
        else:
            how = "was killed" if status == QProcess.ExitStatus.CrashExit else f"ended with exit code {code}"
            tail = "\n".join(list(self.stderr_tail)[-8:])
            self.ended.emit("crashed", f"the training process {how} before finishing" + (f":\n{tail}" if tail else ""))
        self.process = None

    def _error_line(self) -> str:
        """The `error: ...` line a `texgen` child writes last before exit code 2, without its prefix."""
        last = self.stderr_tail[-1] if self.stderr_tail else ""
        return last.removeprefix("error: ").strip() if last.startswith("error: ") else ""

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            program = self.command.program
            self.process = None
            self.ended.emit(
                "crashed", f"could not start the trainer ({program}): check that texgen is installed with its trainer"
            )
