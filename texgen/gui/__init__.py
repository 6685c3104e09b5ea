"""The texgen desktop app (PySide6). `main` is the `texgen gui` / `texgen-gui` entry point.

Everything it does goes through the runtime (`texgen.sampling`, `texgen.service`) or, for
training, a `texgen train` child process: no torch, no trainer import, no logic of its own.
"""

from __future__ import annotations

import sys

from texgen.gui.compat import guard_none_refcount

guard_none_refcount()  # before any other Qt call: see compat.py


def main(argv: list[str] | None = None) -> int:
    """Open the app; returns its exit code."""
    from texgen.gui.app import run  # noqa: PLC0415

    return run(sys.argv[1:] if argv is None else list(argv))
