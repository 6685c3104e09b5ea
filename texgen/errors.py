"""User-facing errors.

Every mistake a user can make (a bad model file, a bad size, an unwritable folder) raises a
`TexgenError` whose message names the problem and the fix. The CLI prints it as one line and
exits non-zero; the GUI shows it in the status bar. Anything else is a bug and may traceback.
"""

from __future__ import annotations


class TexgenError(Exception):
    """A problem the user can fix. `str(err)` is one line: what is wrong, then what to do."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem.rstrip(". ")
        self.fix = fix.strip()
        super().__init__(f"{self.problem}. {self.fix}" if self.fix else self.problem)


class ModelError(TexgenError):
    """The model file is missing, unreadable, or not a generator texgen can run."""


class RequestError(TexgenError):
    """A request value (seed range, size, class, preset, count) is invalid."""


class ExportError(TexgenError):
    """An output cannot be written (folder not writable, disk full, format cannot take the size)."""


class CancelledError(TexgenError):
    """The user cancelled a long operation; files written so far are complete."""

    def __init__(self) -> None:
        super().__init__("cancelled")


# An interrupted command (a second Ctrl-C) says this and exits 130, as shells expect of SIGINT:
# `texgen ...` and `python -m trainer ...` (torchrun's command) alike.
EXIT_INTERRUPTED = 130
INTERRUPTED = "interrupted: files written so far are complete"
