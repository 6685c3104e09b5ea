"""The trainer's command line: every user mistake is one `error:` line and exit code 2;
--dry-run, --list-presets; JSON progress and a clean stop on SIGTERM in a real child process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from train_helpers import cifar_archive, texture, texture_folder

from trainer.cli import train_main
from trainer.recipes import RECIPES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return texture_folder(tmp_path_factory.mktemp("textures"))


def _one_error_line(capsys, code: int) -> str:
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured.err
    return captured.err


@pytest.mark.parametrize(
    "args, says",
    [
        (["--preset", "nope", "--data", "{folder}"], "unknown recipe 'nope'"),
        (["--data", "{tmp}/missing"], "missing"),
        (["--data", "{tmp}/empty"], "empty"),
        (["--data", "{small}"], "crop"),
        (["--data", "cifar100:notaclass@{cifar}", "--crop", "32"], "notaclass"),
        (["--data", "{folder}", "--set", "nosuchkey=1"], "'nosuchkey' is not a setting"),
        (["--data", "{folder}", "--set", "lr_g=fast"], "lr_g='fast' is not a number"),
        (["--data", "{folder}", "--set", "algorithm=vae"], "algorithm 'vae' is not one of"),
        (["--data", "{folder}", "--set", "augment=sideways"], "augment 'sideways' is not one of all, flips, none"),
        (
            ["--data", "{folder}", "--set", "augment=all,brick:flips", "--steps", "1"],
            "names class(es) brick that the data set lacks: it has no classes",
        ),
        (["--data", "{folder}", "--set", "class_affine=true"], "class_affine needs classes (train with --conditional"),
        (["--data", "{folder}", "--set", "projection=unit"], "projection unit needs classes (train with --conditional"),
        (
            ["--data", "{folder}", "--conditional", "--set", "projection=cosine"],
            "projection 'cosine' is not one of sum, unit",
        ),
        (
            ["--preset", "lanham-wgan-32", "--data", "{folder}", "--conditional", "--set", "class_affine=true"],
            "class_affine is for the spatial architecture, not lanham",
        ),
        pytest.param(
            ["--data", "{folder}", "--device", "cuda", "--steps", "1"],
            "CUDA",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: --device cuda trains"),
        ),
        (["--data", "{folder}", "--conditional", "--steps", "1"], "sub-folder"),
        (["--data", "{oneclass}", "--conditional", "--steps", "1"], "at least 2 sub-folders"),
        (["--data", "cifar100:forest@{cifar}", "--conditional", "--crop", "32"], "2 classes"),
        (["--data", "{folder}", "--steps", "many"], "invalid int value"),
        (["--data", "{folder}", "--crop", "48"], "power of two"),
        (["--data", "{folder}", "--seed", "-1", "--steps", "1"], "seed is -1, expected 0 or more"),
        ([], "no training data"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(args, says, folder, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    small = tmp_path / "small"
    small.mkdir()
    Image.fromarray(texture("brick")[:20, :20]).save(small / "tiny.png")
    oneclass = tmp_path / "oneclass" / "brick"
    oneclass.mkdir(parents=True)
    Image.fromarray(texture("brick")[:100, :100]).save(oneclass / "b.png")
    cifar = cifar_archive(tmp_path / "cifar", per_class=2) if any("cifar" in a for a in args) else ""
    values = {"folder": folder, "tmp": tmp_path, "small": small, "cifar": cifar, "oneclass": oneclass.parent}
    argv = [a.format(**values) for a in args] + ["--out", str(tmp_path / "runs"), "--progress", "none"]
    err = _one_error_line(capsys, train_main(argv))
    assert says in err
    assert not (tmp_path / "runs").exists()  # nothing written for a refused run


def test_dry_run_prints_the_resolved_settings(folder, capsys, tmp_path):
    argv = ["--preset", "spatial-dcgan", "--data", str(folder), "--kind", "heightmap", "--steps", "7",
            "--set", "lr_g=3e-4", "--set", "conditional=no", "--dry-run", "--out", str(tmp_path / "runs")]  # fmt: skip
    assert train_main(argv) == 0
    resolved = json.loads(capsys.readouterr().out)
    assert resolved["augment"] == "all"
    for given, read in (
        ("false", "none"),
        ("flips", "flips"),
        ("Flips", "flips"),
        ("on", "all"),
        (" ALL, Brick : Flips", "all,Brick:flips"),
    ):
        assert train_main([*argv, "--set", f"augment={given}"]) == 0
        assert json.loads(capsys.readouterr().out)["augment"] == read
    assert resolved["preset"] == "spatial-dcgan" and resolved["steps"] == 7 and resolved["lr_g"] == 3e-4
    assert resolved["kind"] == "heightmap" and resolved["channels"] == 1 and resolved["conditional"] is False
    assert "6 images" in resolved["data_resolved"] or str(folder) in resolved["data_resolved"]
    assert not (tmp_path / "runs").exists()


def test_list_presets_describes_every_preset(capsys):
    assert train_main(["--list-presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(RECIPES)
    for line, (name, cfg) in zip(lines, RECIPES.items()):
        assert line.startswith(name) and cfg.description in line and cfg.description


@pytest.mark.slow
def test_json_progress_and_sigterm_stop_cleanly(folder, tmp_path):
    argv = [sys.executable, "-m", "trainer", "train", "--preset", "spatial-dcgan", "--data", str(folder),
            "--kind", "heightmap", "--steps", "100000", "--crop", "16", "--batch", "4", "--progress", "json",
            "--out", str(tmp_path / "runs"), "--set", "g_width=4", "--set", "d_width=4", "--set", "upsamples=2",
            "--set", "eval_samples=16", "--set", "log_seconds=0", "--set", "threads=1"]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    events = []
    try:
        for line in child.stdout:
            events.append(json.loads(line))  # every stdout line is one JSON object
            if events[-1]["event"] == "step" and events[-1]["step"] >= 3:
                child.send_signal(signal.SIGTERM)
                break
        events += [json.loads(line) for line in child.stdout]
        assert child.wait(timeout=60) == 0, child.stderr.read()
    finally:
        child.kill()
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and "error" not in kinds
    assert set(kinds) <= {"start", "step", "eval", "sample", "checkpoint", "done"}
    start, done = events[0], events[-1]
    assert start["total_steps"] == 100000 and start["minutes"] is None and start["config"]["kind"] == "heightmap"
    step = next(e for e in events if e["event"] == "step")
    assert set(step) == {"event", "step", "total_steps", "elapsed_s", "eta_s", "images_per_s", "losses"}
    assert set(step["losses"]) == {"d", "g"} and step["eta_s"] > 0
    assert done["stopped_early"] is True and done["step"] >= 3
    assert Path(done["onnx"]).is_file() and Path(done["run_dir"], "checkpoints", "latest.pt").is_file()
    # On a stop the weights are saved before the final evaluation, then again with its metrics.
    saved = [(e["step"], Path(e["path"]).name) for e in events if e["event"] == "checkpoint"]
    # latest.pt before the final evaluation and after it; best.pt from that (only) evaluation
    assert sorted(saved) == [(done["step"], "best.pt")] + [(done["step"], "latest.pt")] * 2
    assert "best" not in done  # the last evaluation is the lowest
    assert kinds.index("checkpoint") < kinds.index("eval")


@pytest.mark.slow
def test_a_stop_line_on_stdin_stops_cleanly(folder, tmp_path):
    """--stop-on-stdin: the GUI's Stop on Windows, where SIGTERM cannot reach a console process."""
    argv = [sys.executable, "-m", "trainer", "train", "--preset", "spatial-dcgan", "--data", str(folder),
            "--steps", "100000", "--crop", "16", "--batch", "4", "--progress", "json", "--stop-on-stdin",
            "--out", str(tmp_path / "runs"), "--set", "g_width=4", "--set", "d_width=4", "--set", "upsamples=2",
            "--set", "eval_samples=16", "--set", "log_seconds=0", "--set", "threads=1"]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path
    )
    events = []
    try:
        child.stdin.write("not a command\n")  # ignored: only "stop" stops
        child.stdin.flush()
        for line in child.stdout:
            events.append(json.loads(line))
            if events[-1]["event"] == "step" and events[-1]["step"] >= 3:
                child.stdin.write("stop\n")  # the GUI sends both, the line and (but on Windows) SIGTERM
                child.stdin.flush()
                if sys.platform != "win32":
                    child.terminate()
                break
        events += [json.loads(line) for line in child.stdout]
        assert child.wait(timeout=60) == 0, child.stderr.read()
    finally:
        child.kill()
    assert events[-1]["event"] == "done" and events[-1]["stopped_early"] is True
    assert Path(events[-1]["onnx"]).is_file()
    assert child.stderr.read().count("stopping: finishing the step") == 1  # said once, not once per request


def test_unusable_out_folder_is_one_error_line(tmp_path, capsys):
    """--out naming a file (or an unwritable place) is a user error, not a traceback: through
    `texgen train`'s own entry point, in this process (an exception would fail the test)."""
    from texgen.cli import main as texgen_main  # noqa: PLC0415

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    data = texture_folder(tmp_path / "imgs")
    code = texgen_main(["train", "--preset", "spatial-dcgan", "--data", str(data), "--steps", "1",
                        "--out", str(blocker), "--device", "cpu", "--progress", "none"])  # fmt: skip
    err = _one_error_line(capsys, code)
    assert err.startswith(f"error: cannot create the run folder under {blocker}")
    assert blocker.read_text() == "not a folder"


def _limited(max_bytes: int):
    """preexec_fn: the child may write no file larger than `max_bytes` (the kernel then fails the
    write with EFBIG, as a full disk fails it with ENOSPC), and is not killed for trying."""
    import resource  # noqa: PLC0415 (Unix only)

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return limit


def test_a_write_into_a_vanished_folder_names_the_file_not_its_temporary(tmp_path):
    from texgen.atomic import write_atomic  # noqa: PLC0415

    target = tmp_path / "gone" / "samples" / "step-000003.png"
    with pytest.raises(FileNotFoundError) as err:
        write_atomic(target, b"png", export_errors=False)
    assert err.value.filename == str(target) and "No such file" in str(err.value)
    assert not (tmp_path / "gone").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="file size limits are a Unix feature")
@pytest.mark.slow
def test_a_write_that_fails_is_one_line_and_the_last_checkpoint_survives(folder, tmp_path):
    from trainer.checkpoint import load_checkpoint  # noqa: PLC0415

    argv = [sys.executable, "-m", "trainer", "train", "--preset", "spatial-dcgan", "--data", str(folder),
            "--crop", "16", "--batch", "4", "--progress", "none", "--out", str(tmp_path / "runs"),
            "--set", "g_width=4", "--set", "d_width=4", "--set", "upsamples=2", "--set", "eval_samples=16",
            "--set", "threads=1", "--set", "checkpoint_every=1"]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # The runs that can write are run in this process; only those under a file size limit,
    # which would bind the test runner too, are child processes.
    assert train_main([*argv[4:], "--steps", "2"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    latest = run / "checkpoints" / "latest.pt"
    assert latest.stat().st_size > 50_000 and load_checkpoint(run)["step"] == 2
    # Continued where a checkpoint cannot be written whole: the run stops with one line that
    # names the file and says what to do; the previous checkpoint is untouched, no temporary
    # file is left, and once there is room the run goes on from it.
    again = ["--resume", str(run), "--steps", "4", "--progress", "none"]
    cut = subprocess.run([sys.executable, "-m", "trainer", "train", *again], capture_output=True, text=True, env=env,
                         cwd=tmp_path, preexec_fn=_limited(50_000))  # fmt: skip
    assert cut.returncode == 2 and cut.stderr.count("\n") == 1, cut.stderr
    assert cut.stderr.startswith(f"error: training stopped: File too large: {latest}. free disk space")
    assert "--resume RUN_FOLDER" in cut.stderr
    assert load_checkpoint(run)["step"] == 2 and not [p for p in run.rglob("*") if ".tmp" in p.name]
    assert train_main(again) == 0
    assert load_checkpoint(run)["step"] == 4
    # An export that cannot be written whole: one line, no file.
    out = tmp_path / "exported" / "model.onnx"
    out.parent.mkdir()
    export = subprocess.run([sys.executable, "-m", "trainer", "export", str(run), "--out", str(out)], capture_output=True,
                            text=True, env=env, cwd=tmp_path, preexec_fn=_limited(20_000))  # fmt: skip
    assert export.returncode == 2 and export.stderr.count("\n") == 1, export.stderr
    assert export.stderr.startswith(f"error: cannot write {out} (File too large)")
    assert list(out.parent.iterdir()) == []
