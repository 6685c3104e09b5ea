"""bench/bench_shape.py: the shape figures on the pictures of docs/ that looked wrong."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_shape", ROOT / "bench" / "bench_shape.py")
bs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bs)


def test_every_piece_is_one_whole_panel_of_its_picture_and_no_gap():
    for model, pieces in bs.PIECES.items():
        for label, *where in pieces:
            img = bs.piece(*where)
            _, _, side, _, zoom = where
            assert img.shape == (1, side // zoom, side // zoom) and side // zoom in (160, 256), (model, label)
            # The white gap between panels is a column of one value; a panel's columns all vary.
            assert img[0].std(axis=0).min() > 0.01, (model, label)
            assert -1.0 <= img.min() and img.max() <= 1.0


def test_the_two_pieces_of_one_picture_differ():
    left, right = bs.piece(*bs.PIECES["grass-texture"][0][1:]), bs.piece(*bs.PIECES["grass-texture"][1][1:])
    assert np.abs(left - right).mean() > 0.1


def test_a_missing_data_folder_names_the_scripts_that_make_it(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_shape.py"), str(tmp_path / "none")],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "prepare_data.py" in done.stderr and "prepare_colour_data.py" in done.stderr
