"""The trainer's command line, stopping and exporting: Ctrl-C (once: a clean stop; twice: an abort) in a real
`texgen train` child process, --scale reaching the data set, and `texgen export RUN` with no
--out writing the run's own model."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from train_helpers import Events, texture_folder, tiny

from texgen.cli import main as texgen_main
from texgen.model import load_generator
from trainer import loop
from trainer.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[2]

torch.set_num_threads(1)  # tiny networks on shared cores: threads only contend


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return texture_folder(tmp_path_factory.mktemp("textures"))  # six 256x256 images


def _texgen_train(folder: Path, tmp_path: Path, module: str = "texgen") -> subprocess.Popen:
    """`python -m texgen train` (the command users and the GUI run; `trainer` is the one torchrun
    runs) for a long tiny run, JSON progress."""
    argv = [sys.executable, "-m", module, "train", "--preset", "spatial-dcgan", "--data", str(folder),
            "--steps", "100000", "--crop", "16", "--batch", "4", "--progress", "json", "--device", "cpu",
            "--out", str(tmp_path / "runs"), "--set", "g_width=4", "--set", "d_width=4", "--set", "upsamples=2",
            "--set", "eval_samples=16", "--set", "log_seconds=0", "--set", "threads=1"]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)


def _read_until(child: subprocess.Popen, events: list[dict], done) -> None:
    """Read JSON progress lines into `events` until `done(event)` is true of the latest."""
    for line in child.stdout:
        events.append(json.loads(line))  # every stdout line is one JSON object
        if done(events[-1]):
            return
    pytest.fail(f"the run ended before the awaited event: {[e['event'] for e in events]}")


@contextlib.contextmanager
def _reaped(child: subprocess.Popen):
    """The child is killed on the way out, whatever the test found."""
    try:
        yield child
    finally:
        child.kill()


def _to_the_end(child: subprocess.Popen, events: list[dict]) -> tuple[int, str]:
    """The rest of the child's JSON events into `events`; its exit code and stderr."""
    events += [json.loads(line) for line in child.stdout]
    return child.wait(timeout=60), child.stderr.read()


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_like_sigterm(folder, tmp_path):
    child = _texgen_train(folder, tmp_path)
    events: list[dict] = []
    with _reaped(child):
        _read_until(child, events, lambda e: e["event"] == "step" and e["step"] >= 3)
        child.send_signal(signal.SIGINT)
        code, err = _to_the_end(child, events)
    assert code == 0, err
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and "error" not in kinds
    done = events[-1]
    assert done["stopped_early"] is True and done["step"] >= 3
    assert Path(done["onnx"]).is_file() and load_checkpoint(done["run_dir"])["step"] == done["step"]
    saved = [(e["step"], Path(e["path"]).name) for e in events if e["event"] == "checkpoint"]
    assert sorted(saved) == [(done["step"], "best.pt")] + [(done["step"], "latest.pt")] * 2
    assert err.count("stopping: finishing the step, then checkpoint and export (Ctrl-C again to abort)") == 1
    assert "Traceback" not in err and "interrupted" not in err


@pytest.mark.slow
@pytest.mark.parametrize("module", ["texgen", "trainer"])
def test_a_second_ctrl_c_aborts_with_exit_130(folder, tmp_path, module):
    """The first Ctrl-C stops cleanly (checkpoint, evaluation, export); a second one, sent once
    the stop's checkpoint is written, aborts the evaluation and export: no `done`, the exit
    code texgen gives an interrupted command (130), and every file written so far is whole.
    `python -m trainer` (torchrun's command) printed a KeyboardInterrupt traceback instead."""
    child = _texgen_train(folder, tmp_path, module)
    events: list[dict] = []
    with _reaped(child):
        _read_until(child, events, lambda e: e["event"] == "step" and e["step"] >= 2)
        child.send_signal(signal.SIGINT)
        _read_until(child, events, lambda e: e["event"] == "checkpoint")  # the stop's, before the final evaluation
        child.send_signal(signal.SIGINT)
        code, err = _to_the_end(child, events)
    kinds = [e["event"] for e in events]
    assert code == 130, (code, kinds, err)
    assert "done" not in kinds and "error" not in kinds
    assert err.count("stopping: finishing the step") == 1
    assert err.rstrip().endswith("interrupted: files written so far are complete") and "Traceback" not in err
    stop = next(e for e in events if e["event"] == "checkpoint")
    assert Path(stop["path"]).name == "latest.pt" and stop["step"] >= 2
    run = Path(events[0]["run_dir"])
    assert load_checkpoint(run)["step"] == stop["step"]
    assert not [p for p in run.rglob("*") if ".tmp" in p.name]  # no half-written file left


def test_scale_reaches_the_data_set(folder, tmp_path, capsys, monkeypatch):
    argv = ["train", "--preset", "spatial-dcgan", "--data", str(folder), "--crop", "16", "--steps", "1",
            "--device", "cpu", "--out", str(tmp_path / "runs"), "--progress", "none"]  # fmt: skip
    assert texgen_main([*argv, "--scale", "0.5", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["scale"] == 0.5

    class Opened(Exception):
        """Raised once the run has opened its data: nothing more is needed."""

    opened = []
    open_data = loop._open_data

    def spy(cfg, log):
        opened.append(open_data(cfg, log))
        raise Opened

    monkeypatch.setattr(loop, "_open_data", spy)
    for scale in ([], ["--scale", "0.5"]):
        with pytest.raises(Opened):
            texgen_main([*argv, *scale])
    full, half = opened
    assert [img.shape[1:] for img in full.images] == [(256, 256)] * 6
    assert [img.shape[1:] for img in half.images] == [(128, 128)] * 6
    assert "scaled x0.5" in half.description and "scaled" not in full.description
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_export_without_out_writes_the_run_model(folder, tmp_path, capsys, monkeypatch):
    """`texgen export RUN` (and `texgen export RUN/checkpoints/latest.pt`) with no --out writes
    generator.onnx and model-card.md in the run folder, as --help says, not in the working
    folder; the file loads and is the trained generator."""
    run = loop.train(tiny("spatial-dcgan", folder, tmp_path / "runs", channels=1, steps=2, n_critic=1), Events())
    (run / "generator.onnx").rename(tmp_path / "trained.onnx")
    (run / "model-card.md").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    trained = load_generator(tmp_path / "trained.onnx", device="cpu")
    z = np.random.default_rng(0).standard_normal((2, *trained.latent_shape(40, 40))).astype(np.float32)
    expected = trained.run(z)
    for source in (run, run / "checkpoints" / "latest.pt"):
        assert texgen_main(["export", str(source)]) == 0
        assert capsys.readouterr().out.strip() == str(run / "generator.onnx")
        assert (run / "model-card.md").read_text().startswith(f"# {run.name}\n")
        assert list(elsewhere.iterdir()) == []
        model = load_generator(run / "generator.onnx", device="cpu")
        assert model.info.name == run.name and model.info.training_steps == 2 and model.info.channels == 1
        assert model.info == dataclasses.replace(trained.info, created=model.info.created)
        np.testing.assert_array_equal(model.run(z), expected)  # the same weights, exported again
        (run / "generator.onnx").unlink()
        (run / "model-card.md").unlink()
