"""`texgen train` off a terminal writes plain progress lines as it goes (`--progress log`, the
default when stdout is a file); `--device mps` picks Apple's GPU, or says in one line that it is
not there. No test runs anything on an MPS device: none is needed, and none is here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from train_helpers import texture_folder

from texgen.errors import RequestError
from trainer import cli, state
from trainer.cli import _Log, step_line, train_main
from trainer.config import TrainConfig, check_config
from trainer.distributed import Dist

REPO = Path(__file__).resolve().parents[2]
TINY = ["--recipe", "spatial-dcgan", "--crop", "16", "--batch", "4", "--set", "g_width=4", "--set", "d_width=4",
        "--set", "upsamples=2", "--set", "eval_samples=16", "--set", "threads=1"]  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return texture_folder(tmp_path_factory.mktemp("textures"))


def _step(step: int, elapsed: float, total: int | None = 100, eta: float | None = 50.0) -> dict:
    return {"event": "step", "step": step, "total_steps": total, "elapsed_s": elapsed, "eta_s": eta,
            "images_per_s": 312.4, "losses": {"d": -0.5123, "g": 0.2333, "gp": None}}  # fmt: skip


# --- --progress log ----------------------------------------------------------------------------


def test_log_lines_come_at_the_first_step_then_once_per_interval_and_at_the_end(capsys):
    log = _Log(interval=30, echo_warnings=True)
    log({"event": "start", "run_dir": "runs/00001-x", "total_steps": 100, "minutes": None, "config": {}})
    for step, elapsed in ((1, 0.4), (2, 10.0), (3, 29.0), (4, 30.5), (5, 40.0), (6, 59.0)):
        log(_step(step, elapsed))
    log({"event": "warning", "step": 6, "message": "the generator has collapsed at step 6"})
    log({"event": "done", "step": 6, "run_dir": "runs/00001-x", "onnx": "g.onnx", "stopped_early": True})
    lines = capsys.readouterr().out.splitlines()
    steps = [line.split()[1] for line in lines if line.startswith("step ")]
    # The first step at once; 30 s of training later the next; the last unprinted one at the end.
    assert steps == ["1/100", "4/100", "6/100"]
    assert lines[0] == "run folder: runs/00001-x"
    assert lines[-2:] == ["step 6/100  312 images/s  d -0.512 g 0.233 gp -  elapsed 0:00:59  left 0:00:50",
                          "finished at step 6 (stopped early)"]  # fmt: skip
    assert "warning: the generator has collapsed at step 6" in lines


def test_an_evaluation_follows_the_losses_of_its_step(capsys):
    log = _Log(interval=30)
    log(_step(1, 0.1))
    log(_step(20, 5.0))
    log({"event": "eval", "step": 20, "metrics": {"swd": 41.23, "swd_32": 1.0, "seam_score": 1.004}})
    assert capsys.readouterr().out.splitlines()[1:] == [
        "step 20/100  312 images/s  d -0.512 g 0.233 gp -  elapsed 0:00:05  left 0:00:50",
        "step 20: swd 41.2, seam_score 1",
    ]


def test_warnings_are_not_repeated_where_stderr_is_the_same_file(tmp_path):
    """`> log 2>&1` and nohup.out: the loop's own `warning:` line on stderr is already there."""
    with open(tmp_path / "log", "w") as f:
        code = ("import sys; from trainer.cli import _Log; log = _Log(); "
                "log({'event': 'warning', 'step': 3, 'message': 'flat'}); print(log.echo_warnings)")  # fmt: skip
        subprocess.run([sys.executable, "-c", code], stdout=f, stderr=subprocess.STDOUT, check=True, cwd=REPO)
        subprocess.run([sys.executable, "-c", code], stdout=f, stderr=subprocess.DEVNULL, check=True, cwd=REPO)
    assert (tmp_path / "log").read_text().splitlines() == ["False", "warning: flat", "True"]


def test_a_step_line_without_a_step_budget_or_an_estimate():
    line = step_line({"event": "step", "step": 7, "total_steps": None, "elapsed_s": 3725.2, "eta_s": None,
                      "images_per_s": 1234.5, "losses": {"d": 1.0}})  # fmt: skip
    assert line == "step 7  1.23e+03 images/s  d 1  elapsed 1:02:05"


def test_the_interval_is_30_seconds_unless_given():
    assert cli.LOG_SECONDS == 30 and _Log().interval == 30 and _Log(interval=5).interval == 5


def test_a_run_writing_to_a_file_logs_progress_before_it_ends(folder, tmp_path):
    """The issue's bar: `texgen train ... > log` holds progress lines within its first minute, while
    the run goes on (here a run of 100000 steps, stopped once its first line is read)."""
    log = tmp_path / "log"
    argv = [sys.executable, "-m", "texgen", "train", *TINY, "--data", str(folder), "--steps", "100000",
            "--out", str(tmp_path / "runs")]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PYTHONUNBUFFERED", None)  # the lines must be flushed by the printer, not by the environment
    with open(log, "w") as out:
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None and "step 1/100000" not in log.read_text():
            time.sleep(0.1)
        seen = log.read_text()
        assert child.poll() is None, child.stderr.read()  # still training
        assert "run folder: " in seen and "step 1/100000  " in seen and " images/s  d " in seen
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=60) == 0, child.stderr.read()
    finally:
        child.kill()
    lines = log.read_text().splitlines()
    assert lines[-1].startswith("done: ") and lines[-1].endswith("generator.onnx")
    assert any(line.startswith("finished at step ") and line.endswith("(stopped early)") for line in lines)


@pytest.mark.parametrize("mode", ["log", "none"])
def test_progress_log_and_none(mode, folder, tmp_path, capsys):
    argv = [*TINY, "--data", str(folder), "--steps", "2", "--out", str(tmp_path / "runs"), "--progress", mode]
    assert train_main(argv) == 0
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line.startswith("step ")]
    if mode == "none":
        assert out.splitlines() == [f"done: {next((tmp_path / 'runs').iterdir()) / 'generator.onnx'}"]
    else:
        assert [s.split()[1] for s in steps if "images/s" in s] == ["1/2", "2/2"]
        assert "finished at step 2" in out


# --- --device mps ------------------------------------------------------------------------------


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS: --device mps trains")
def test_device_mps_where_there_is_none_is_one_error_line(folder, tmp_path):
    argv = [sys.executable, "-m", "texgen", "train", "--device", "mps", "--data", str(folder), "--steps", "1",
            "--out", str(tmp_path / "runs")]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)),
                          cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: --device mps needs an Apple-silicon Mac")
    assert "use --device cpu" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()


@pytest.fixture
def mps_only(monkeypatch):
    """A Mac as torch sees it: no CUDA, MPS available."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)


def test_auto_picks_mps_where_there_is_no_cuda(mps_only):
    assert state.pick_device("auto", Dist()) == torch.device("mps")
    assert state.pick_device("mps", Dist()) == torch.device("mps")
    assert state.pick_device("cpu", Dist()) == torch.device("cpu")


def test_under_torchrun_auto_stays_on_the_cpu_and_mps_is_refused(mps_only):
    """The processes talk over gloo, which takes no MPS tensors."""
    several = Dist(rank=0, world=2)
    assert state.pick_device("auto", several) == torch.device("cpu")
    with pytest.raises(RequestError, match="not under torchrun"):
        state.pick_device("mps", several)


def test_auto_picks_the_cpu_where_there_is_neither(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert state.pick_device("auto", Dist()) == torch.device("cpu")
    with pytest.raises(RequestError, match="--device mps needs an Apple-silicon Mac") as err:
        state.pick_device("mps", Dist())
    assert str(err.value).endswith("use --device cpu (or auto)")


def test_mps_trains_in_float32_and_the_config_takes_it():
    mps = torch.device("mps")  # a device object only: nothing is allocated on it
    assert [state.pick_amp(mode, mps) for mode in ("auto", "bf16", "fp16", "off")] == [None] * 4
    check_config(TrainConfig(data="x", device="mps"))
    with pytest.raises(RequestError, match="device 'metal' is not one of auto, cpu, cuda, mps"):
        check_config(TrainConfig(data="x", device="metal"))


def test_the_train_tab_offers_mps_on_apple_silicon_only():
    """The app never imports torch: Apple's GPU is offered where PyTorch's wheels have MPS."""
    from texgen.gui.training_form import training_devices  # noqa: PLC0415

    def values(system: str, machine: str) -> list[str]:
        return [value for value, _ in training_devices(system, machine)]

    assert values("darwin", "arm64") == ["auto", "cpu", "cuda", "mps"]
    assert (
        values("darwin", "x86_64") == values("linux", "aarch64") == values("win32", "AMD64") == ["auto", "cpu", "cuda"]
    )
