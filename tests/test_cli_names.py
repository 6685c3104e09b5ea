"""A file-name template that `generate` has to rewrite says so (the failures issue)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _generate(models, tmp_path: Path, name: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "texgen", "generate", "-m", str(models.spatial_rgb), "--seeds", "3",
                           "--size", "32", "--name", name, "-o", "out", "--device", "cpu"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)  # fmt: skip


def test_a_template_that_climbs_out_of_the_folder_is_rewritten_inside_it_with_a_note(models, tmp_path):
    proc = _generate(models, tmp_path, "../x-{seed}")
    assert proc.returncode == 0, proc.stderr
    assert "note: file name template '../x-{seed}' holds path separators" in proc.stderr and "_x-3.png" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["_x-3.png", "_x-3.png.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing written beside it


def test_a_plain_template_gets_no_note(models, tmp_path):
    proc = _generate(models, tmp_path, "{model}-{seed}")
    assert proc.returncode == 0 and "note:" not in proc.stderr, proc.stderr
