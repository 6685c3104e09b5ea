"""The rooms of docs/architecture.md, enforced: import-linter checks the contracts in pyproject.toml
(texgen core never imports torch, the trainer or Qt; the CLI never Qt or torch; the GUI never
torch or the trainer; the trainer never Qt), direct and indirect imports alike."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lint(cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """import-linter run by this Python (its `lint-imports` script need not be on PATH: a
    virtual environment that is not activated)."""
    cmd = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
           "sys.argv[0] = 'lint-imports'; lint_imports_command()", "--no-cache"]  # fmt: skip
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_rooms_keep_to_their_imports():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_catches_a_forbidden_import(tmp_path):
    # A copy of the project in which the sampling module imports torch must fail the check.
    copy = tmp_path / "copy"
    shutil.copytree(
        ROOT, copy, ignore=shutil.ignore_patterns(".git", "runs", "docs", "assets", "__pycache__", "*.egg-info")
    )
    sampling = copy / "texgen" / "sampling.py"
    sampling.write_text("import torch  # a room breaking the rules\n" + sampling.read_text())
    result = _lint(copy, env={**os.environ, "PYTHONPATH": str(copy)})
    assert result.returncode != 0
    assert "texgen.sampling -> torch" in result.stdout


def test_the_code_keeps_to_its_style():
    """ruff, configured in pyproject.toml: pyflakes, pycodestyle within 150 columns, and the
    rules the noqa comments name; and the formatter's layout (code within 120 columns)."""
    where = ["texgen", "trainer", "tests", "bench", "assets", "packaging"]
    check = subprocess.run([sys.executable, "-m", "ruff", "check", *where], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    layout = subprocess.run([sys.executable, "-m", "ruff", "format", "--check", *where], cwd=ROOT, capture_output=True,
                            text=True)  # fmt: skip
    assert layout.returncode == 0, layout.stdout + layout.stderr
