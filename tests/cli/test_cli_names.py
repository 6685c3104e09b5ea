"""What `generate` says of and does with its output folder and file names (the failures issue)."""

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


def test_a_batch_that_fails_before_its_first_file_leaves_no_folder_it_made(models, tmp_path):
    # The NaN model passes every check made before the folder, and fails at its first image.
    proc = subprocess.run([sys.executable, "-m", "texgen", "generate", "-m", str(models.nan), "--seeds", "1",
                           "-o", "new/out", "--device", "cpu", "--no-seamless"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)  # fmt: skip
    assert proc.returncode != 0 and "NaN" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()  # a folder the user made stays, empty as it was
    subprocess.run([sys.executable, "-m", "texgen", "generate", "-m", str(models.nan), "--seeds", "1", "-o", "kept", "--no-seamless",
                    "--device", "cpu"], capture_output=True, text=True, cwd=tmp_path, timeout=120)  # fmt: skip
    assert (tmp_path / "kept").is_dir() and list((tmp_path / "kept").iterdir()) == []
