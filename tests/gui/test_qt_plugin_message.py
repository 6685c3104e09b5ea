"""`texgen gui` on a Linux desktop without libxcb-cursor0 says which package to install, in one line,
instead of Qt's abort ("could not load the Qt platform plugin xcb"); offscreen and Wayland are
never held up by the check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from texgen.gui.app import XCB_CURSOR_MISSING, platform_problem

REPO = Path(__file__).resolve().parents[2]
MESSAGE = ("the desktop app needs the system library libxcb-cursor0 (Debian, Ubuntu: sudo apt install "
           "libxcb-cursor0; Fedora: sudo dnf install xcb-util-cursor)")  # fmt: skip


def absent(name: str) -> None:
    return None


def never(name: str) -> str:
    raise AssertionError(f"looked for {name} where Qt would not load xcb")


@pytest.mark.parametrize("env", [{}, {"QT_QPA_PLATFORM": "xcb"}, {"QT_QPA_PLATFORM": "xcb:dpi=96"},
                                 {"XDG_SESSION_TYPE": "x11"}])  # fmt: skip
def test_where_qt_would_load_xcb_a_missing_libxcb_cursor_is_named(env):
    assert XCB_CURSOR_MISSING == MESSAGE
    assert platform_problem(env, "linux", absent) == MESSAGE
    assert platform_problem(env, "linux", lambda name: f"lib{name}.so.0") is None


@pytest.mark.parametrize("env, system", [
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),
    ({"QT_QPA_PLATFORM": "wayland"}, "linux"),
    ({"XDG_SESSION_TYPE": "wayland"}, "linux"),  # Qt tries its wayland plugin first
    ({}, "darwin"),
    ({}, "win32"),
])  # fmt: skip
def test_other_platforms_are_not_checked(env, system):
    assert platform_problem(env, system, never) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt loads xcb on Linux only")
def test_texgen_gui_says_it_and_exits_2_before_qt_starts(tmp_path):
    """The real entry point, with the library finder answering "absent": one line, exit code 2."""
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "XDG_SESSION_TYPE")}
    env["PYTHONPATH"] = str(REPO)
    code = ("import sys, texgen.cli, texgen.gui.app as app; app.find_system_library = lambda name: None; "
            "sys.exit(texgen.cli.main(sys.argv[1:]))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code, "gui", "--settings", str(tmp_path / "s.ini"), "--quit-after-start"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip
    assert (done.returncode, done.stderr, done.stdout) == (2, f"error: {MESSAGE}\n", "")
