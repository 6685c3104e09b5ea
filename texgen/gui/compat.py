"""Work-arounds for faults in the Qt binding that would otherwise kill the app.

PySide6 6.12.0 on Python 3.11 drops one reference to `None` on every call of a Qt method
that returns nothing (`setPen`, `setValue`, `update`, ...). From Python 3.12 on `None` is
immortal and nothing happens; on 3.11 its count reaches zero after a few thousand calls and
the interpreter aborts ("Fatal Python error: none_dealloc: deallocating None"), seconds into
using the window. `guard_none_refcount` measures the leak and, only when it is there, gives
`None` the immortality it has on 3.12: a count so large that no session can exhaust it.
"""

from __future__ import annotations

import ctypes
import sys

_GUARDED = False


def leaks_none() -> bool:
    """True when Qt's void methods steal references to None in this process."""
    from PySide6.QtCore import QPointF  # noqa: PLC0415

    point = QPointF()
    before = sys.getrefcount(None)
    for _ in range(64):
        point.setX(0.0)
    return before - sys.getrefcount(None) >= 32


def guard_none_refcount() -> bool:
    """Make None effectively immortal when the binding leaks it; True when it did."""
    global _GUARDED
    if _GUARDED or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _GUARDED
    if leaks_none():
        # ob_refcnt is the first field of every CPython object (release builds).
        ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
        _GUARDED = True
    return _GUARDED
