"""bench/bench_curve.py: a run's checkpoints measured beside the baselines, whole or held out."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import skimage.data
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_curve", ROOT / "bench" / "bench_curve.py")
bc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bc)
bq = sys.modules["bench_quality"]  # the module bench_curve imported


def _gravel(root: Path) -> Path:
    folder = root / "cc0-textures" / "gravel"
    folder.mkdir(parents=True)
    Image.fromarray(skimage.data.gravel()).save(folder / "gravel.png")
    return folder


def test_held_out_checkpoints_of_a_run_on_the_other_half_sit_beside_the_unseen_real_crops(tmp_path):
    """Two checkpoints of a run trained on the second half, measured against the first: the
    held-out baselines come first, then the checkpoints in step order, each with its figures."""
    from train_helpers import Events, tiny

    from trainer.loop import train

    data = tmp_path / "data"
    _gravel(data)
    written = bq.write_held_out(data, bq.TARGETS["stone-texture"], tmp_path / "held")
    cfg = tiny("spatial-dcgan", written[0].parent, tmp_path / "runs", channels=1, scale=0.5, steps=2, n_critic=1)
    run = train(cfg, Events())
    first = tmp_path / "copies" / "half-run" / "a.pt"
    first.parent.mkdir(parents=True)
    shutil.copy(run / "checkpoints" / "latest.pt", first)
    cfg = tiny("spatial-dcgan", written[0].parent, tmp_path / "runs", channels=1, scale=0.5, steps=3, n_critic=1)
    later = first.parent / "b.pt"  # copies of one run's checkpoint as it trains sit in a folder named after it
    shutil.copy(train(cfg, Events()) / "checkpoints" / "latest.pt", later)

    rows = bc.curve(data, bq.TARGETS["stone-texture"], [later, first], held_out=True,
                    n=32, draws=1, crops=(64,), projections=64)  # fmt: skip
    labels = list(rows)
    assert labels[:4] == ["real crops, same half", "real crops, other half",
                          "phase randomisation, from the other half", "image quilting, from the other half"]  # fmt: skip
    assert [rows[k]["step"] for k in labels[4:]] == [2, 3]  # training order, whatever order they were given in
    assert labels[4:] == ["half-run step 2", "half-run step 3"]
    for label in labels:
        assert rows[label]["figures"]["64"]["swd"] > 0
    # An untrained model is far from gravel; the unseen half is not.
    assert rows[labels[4]]["figures"]["64"]["swd"] > rows["real crops, other half"]["figures"]["64"]["swd"]
    # An untrained model's blobs are far from the stones' sizes (comp), as phase randomisation's are.
    for label in labels:
        assert rows[label]["figures"]["shape"]["crop"] == 64
    assert (
        rows[labels[4]]["figures"]["shape"]["components"]
        > rows["real crops, same half"]["figures"]["shape"]["components"]
    )
    table = bc.markdown(rows).splitlines()
    assert len(table) == 2 + len(rows) and table[-1].startswith(f"| {labels[-1]} | 3 |")
    assert table[0].endswith("| comp | peaks | runs |") and table[-1].count("|") == table[0].count("|")


def test_bad_requests_get_one_line_naming_the_fix(tmp_path):
    data = tmp_path / "data"
    _gravel(data)
    fake = tmp_path / "x.pt"
    fake.write_bytes(b"not a checkpoint")

    def run(*args):
        return subprocess.run([sys.executable, str(ROOT / "bench" / "bench_curve.py"), *map(str, args)],
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    for args, expected in [
        ((data, "terrain", fake, "--held-out"), "--held-out measures texture data"),
        ((data, "no-such-model", fake), "unknown model 'no-such-model'"),
        ((data, "stone-texture", tmp_path / "missing.pt"), "no checkpoint file"),
        ((tmp_path / "empty", "stone-texture", fake), "run assets/models/prepare_data.py first"),
    ]:
        done = run(*args)
        assert done.returncode != 0 and expected in done.stderr and "Traceback" not in done.stderr
