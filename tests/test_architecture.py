"""The rooms of ARCHITECTURE.md, enforced: import-linter checks the contracts in pyproject.toml
(texgen core never imports torch, the trainer or Qt; the CLI never Qt or torch; the GUI never
torch or the trainer; the trainer never Qt), direct and indirect imports alike."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    return subprocess.run([exe, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_rooms_keep_to_their_imports():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_catches_a_forbidden_import(tmp_path):
    # A copy of the project in which the sampling module imports torch must fail the check.
    copy = tmp_path / "copy"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", "runs", "docs", "assets", "__pycache__", "*.egg-info"))
    sampling = copy / "texgen" / "sampling.py"
    sampling.write_text("import torch  # a room breaking the rules\n" + sampling.read_text())
    env_path = str(copy)
    result = subprocess.run([shutil.which("lint-imports") or "lint-imports", "--no-cache"], cwd=copy, capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ, "PYTHONPATH": env_path})
    assert result.returncode != 0
    assert "texgen.sampling -> torch" in result.stdout
