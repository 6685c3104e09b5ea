"""A light install (`pip install texgen`, without the `train` extra) generates, and its app opens;
`texgen train`, `texgen export` and the app's Train tab say in one line what to install.

A missing package is made by a meta path finder that refuses to import it, in a child process
(or, for the app, an injected check): the tests need no second environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import texgen.gui  # noqa: F401  (installs the binding work-around before any widget)
from texgen.cli import extras
from texgen.gui import training_panel
from texgen.gui.settings import Settings, file_settings
from texgen.gui.training_panel import TrainingPanel
from texgen.gui.training_process import TrainerCommand, trainer_problem

REPO = Path(__file__).resolve().parents[2]
INSTALL = 'pip install "texgen[train]" (or, from a checkout, pip install -e ".[train]")'
NO_TORCH = f"training needs PyTorch, which is not installed. install it: {INSTALL}"

# Python code run first in the child: imports of the listed top-level packages fail as they do
# where they are not installed (find_spec raises, `import` raises ModuleNotFoundError).
BLOCK = textwrap.dedent(
    """
    import sys
    class Absent:
        def __init__(self, names):
            self.names = names
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in self.names:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None
    sys.meta_path.insert(0, Absent(set(sys.argv[1].split(","))))
    sys.argv = sys.argv[1:]
    """
)


def without(absent: str, code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `code` in a child Python where the comma-separated packages `absent` cannot be imported."""
    env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-c", BLOCK + code, absent, *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)  # fmt: skip


CLI = "import texgen.cli; sys.exit(texgen.cli.main(sys.argv[1:]))"


def test_texgen_train_without_torch_says_what_to_install(tmp_path):
    done = without("torch", CLI, "train", "--data", str(tmp_path), "--steps", "1", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"error: {NO_TORCH}\n"


def test_the_apps_json_channel_gets_the_same_line(tmp_path):
    """The Train tab runs `texgen train ... --progress json` and shows the error event's message."""
    done = without("torch", CLI, "train", "--data", str(tmp_path), "--progress", "json", cwd=tmp_path)
    assert done.returncode == 2
    assert [json.loads(line) for line in done.stdout.splitlines()] == [{"event": "error", "message": NO_TORCH}]
    assert done.stderr == f"error: {NO_TORCH}\n"


def test_texgen_export_without_torch_says_what_to_install(tmp_path):
    done = without("torch", CLI, "export", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"error: exporting a run needs PyTorch, which is not installed. install it: {INSTALL}\n"


def test_training_without_matplotlib_is_refused_before_it_starts(tmp_path):
    """Else the run would die at its first sample grid, when the plot is drawn."""
    done = without("matplotlib", CLI, "train", "--data", str(tmp_path), "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"error: training needs matplotlib, which is not installed. install it: {INSTALL}\n"
    assert not (tmp_path / "runs").exists()


def test_help_needs_no_torch(tmp_path):
    done = without("torch", CLI, "train", "--help", cwd=tmp_path)
    assert done.returncode == 0 and "--device {auto,cpu,cuda,mps}" in done.stdout


def test_generating_and_the_app_need_neither_torch_nor_matplotlib(tmp_path, models):
    code = ("import texgen.cli, texgen.gui.window, texgen.gui.app; code = texgen.cli.main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules; sys.exit(code)")  # fmt: skip
    done = without("torch,matplotlib", code, "generate", "-m", str(models.spatial_rgb), "-n", "1", "--size", "32",
                   "-o", str(tmp_path / "out"), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "spatial-rgb_0_albedo.png").is_file()


def test_the_train_extra_holds_torch_and_matplotlib_and_the_test_extra_pulls_it_in():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = [dep.split(">")[0].split("=")[0].split(";")[0].strip() for dep in project["dependencies"]]
    assert "torch" not in names and "matplotlib" not in names
    assert project["optional-dependencies"]["train"] == ["torch>=2.2", "matplotlib>=3.8"]
    assert "texgen[train]" in project["optional-dependencies"]["test"]


def test_missing_extra_names_what_is_absent():
    def absent(*names):
        def find_spec(name):
            if name == "broken":
                raise ValueError("torch.__spec__ is None")
            return None if name in names else object()

        return find_spec

    assert extras.missing_extra(find_spec=absent()) is None
    both = extras.missing_extra(find_spec=absent("torch", "matplotlib"))
    assert str(both) == f"training needs PyTorch and matplotlib, which are not installed. install them: {INSTALL}"
    assert extras.missing_extra("exporting a run", extras.EXPORT_NEEDS, absent("matplotlib")) is None
    assert not extras.installed("broken", absent())


# --- the app's Train tab -----------------------------------------------------------------------


@pytest.fixture
def app_settings(tmp_path):
    return Settings(file_settings(tmp_path / "settings.ini"))


def test_the_train_tab_says_it_up_front_and_start_runs_nothing(qtbot, app_settings, tmp_path):
    """The check is asked again at Start: once the package is installed, Start runs."""
    started = tmp_path / "started"
    script = tmp_path / "trainer.py"
    script.write_text(f"import json, pathlib, sys\npathlib.Path({str(started)!r}).write_text('yes')\n"
                      "print(json.dumps({'event': 'error', 'message': 'no images'}), flush=True)\nsys.exit(2)\n")  # fmt: skip
    missing = [True]
    panel = TrainingPanel(app_settings, TrainerCommand(sys.executable, [str(script)]), tmp_path / "mine",
                          check=lambda: NO_TORCH if missing else None)  # fmt: skip
    qtbot.addWidget(panel)
    assert panel.status.text() == NO_TORCH and "ff8a80" in panel.status.styleSheet()
    panel.form.folder.setText(str(tmp_path))
    panel.start()
    qtbot.wait(300)
    assert not panel.running and not started.exists() and panel.status.text() == NO_TORCH
    missing.clear()
    with qtbot.waitSignal(panel.run.ended, timeout=20_000):
        panel.start()
    assert started.exists() and panel.outcome == ("error", "no images")


def test_the_real_train_tab_asks_for_the_trainers_packages(qtbot, app_settings, monkeypatch):
    monkeypatch.setattr(training_panel, "trainer_problem", lambda: NO_TORCH)
    panel = TrainingPanel(app_settings)  # the real trainer command: its packages are looked up
    qtbot.addWidget(panel)
    assert panel.status.text() == NO_TORCH


def test_trainer_problem_looks_torch_up_without_importing_it(monkeypatch):
    monkeypatch.setattr(extras, "installed", lambda module, find_spec=None: module != "torch")
    assert trainer_problem() == NO_TORCH
    monkeypatch.setattr(sys, "frozen", True, raising=False)  # the trainer is a separate executable
    assert trainer_problem() is None


def test_a_trainer_without_torch_ends_the_run_with_its_one_line(qtbot, app_settings, tmp_path):
    """The real `texgen train` in a child without torch, as the app starts it (the up-front check
    skipped): the panel shows the one line, not a crash."""
    command = TrainerCommand(sys.executable, ["-c", BLOCK + CLI, "torch", "train"])
    panel = TrainingPanel(app_settings, command, tmp_path / "mine")
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.run.ended, timeout=60_000):
        panel.start(["--data", str(tmp_path), "--progress", "json"])
    assert panel.outcome == ("error", NO_TORCH) and panel.status.text() == NO_TORCH


@pytest.mark.parametrize("code", [2, 1])
def test_an_error_line_before_any_json_is_the_message_only_with_exit_code_2(qtbot, app_settings, tmp_path, code):
    script = tmp_path / "trainer.py"
    script.write_text(f"import sys\nprint('error: {NO_TORCH}', file=sys.stderr)\nsys.exit({code})\n")
    panel = TrainingPanel(app_settings, TrainerCommand(sys.executable, [str(script)]), tmp_path / "mine")
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.run.ended, timeout=20_000):
        panel.start(["--progress", "json"])
    if code == 2:
        assert panel.outcome == ("error", NO_TORCH)
    else:  # a bug's exit: reported as a crash, with the end of its output
        assert panel.outcome[0] == "crashed" and "exit code 1" in panel.outcome[1]
