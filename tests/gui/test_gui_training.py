"""The training panel drives a `texgen train` child process and draws its progress.

A stand-in trainer (a small Python script speaking the trainer's JSON progress schema, see
trainer/cli.py) checks the panel's side of the protocol quickly; one test runs a real tiny
training run of `python -m texgen train` end to end.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from gui_helpers import settings, user_models  # noqa: F401
from texgen.errors import ExportError
from texgen.gui.training_form import parse_recipes
from texgen.gui.training_panel import TrainingPanel, format_duration, install_model
from texgen.gui.training_process import TrainerCommand
from texgen.model import load_generator

FAKE = textwrap.dedent(
    """
    import json, signal, sys, threading, time, shutil
    from pathlib import Path
    args = sys.argv[1:]
    mode, run_dir, model = args[0], Path(args[1]), args[2]
    rest = args[3:]
    if "--list-recipes" in rest:
        print("spatial-wgan-gp        tileable texture or heightmap, any size (spatial WGAN-GP, best quality)")
        print("lanham-wgan-32         course WGAN 32x32 (Lanham), weight clipping: the course's texture example")
        sys.exit(0)
    def emit(**ev):
        print(json.dumps(ev), flush=True)
    stop = []
    if mode in ("deaf", "stubborn"):  # a console process on Windows: no SIGTERM ever reaches it
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *a: stop.append("signal"))
    if "--stop-on-stdin" in rest and mode != "stubborn":  # stubborn: stuck, deaf to the stop line too
        def watch():
            for line in sys.stdin:
                if line.strip() == "stop":
                    stop.append("stdin")
        threading.Thread(target=watch, daemon=True).start()
    run_dir.mkdir(parents=True, exist_ok=True)
    emit(event="start", run_dir=str(run_dir), total_steps=40, minutes=None, config={"args": rest})
    print("loading 2 images", file=sys.stderr, flush=True)
    print("a plain line on stdout", flush=True)
    if mode == "crash":
        emit(event="step", step=1, total_steps=40, elapsed_s=0.1, eta_s=4.0, images_per_s=10.0, losses={"d": 1.0, "g": 0.5})
        print("Traceback (most recent call last):\\nRuntimeError: boom in the critic", file=sys.stderr, flush=True)
        sys.exit(1)
    if mode == "error":
        emit(event="error", message="folder /nowhere does not exist. Pick a folder of images")
        sys.exit(2)
    if mode == "oom":
        (Path(str(run_dir) + "-args.txt")).write_text(" ".join(rest))
        emit(event="error", message="the GPU ran out of memory at step 3 with a batch of 64 (this process's peak 70.1 "
             "of 79.6 GiB). train with --batch 32 (estimated to fit), a smaller --crop, or narrower networks")
        sys.exit(2)
    step = 0
    for step in range(1, 41):
        if stop:
            break
        emit(event="step", step=step, total_steps=40, elapsed_s=step * 0.01, eta_s=(40 - step) * 0.01,
             images_per_s=320.0, losses={"d": -1.0 / step, "g": 0.5 + step * 0.01, "wasserstein": 2.0 / step, "gp": 0.1})
        if mode == "collapse" and step == 10:
            emit(event="warning", step=step, message="the generator has collapsed at step 10: every sample is one flat colour")
        if step % 10 == 0:
            grid = run_dir / f"samples-{step:06d}.png"
            shutil.copyfile(run_dir.parent / "grid.png", grid)
            emit(event="sample", step=step, path=str(grid))
            emit(event="eval", step=step, metrics={"swd": 10.0 / step, "seam_score": 1.0})
        if mode in ("slow", "deaf"):  # from step 3 on, waits for the stop (20 s at most): a busy
            time.sleep(0.05)          # machine cannot make it finish before the test stops it
            end = time.monotonic() + 20
            while step >= 3 and not stop and time.monotonic() < end:
                time.sleep(0.02)
        if mode == "stubborn":
            time.sleep(0.5)
    emit(event="checkpoint", step=step, path=str(run_dir / "checkpoint.pt"))
    onnx = run_dir / "generator.onnx"
    shutil.copyfile(model, onnx)
    best = {"best": {"step": 20, "swd": 0.5, "path": str(run_dir / "best.pt")}} if mode == "best" else {}
    emit(event="done", step=step, run_dir=str(run_dir), onnx=str(onnx), stopped_early=bool(stop), stopped_by=stop, **best)
    """
)


# A stand-in `texgen export CHECKPOINT`: writes generator-best.onnx beside the checkpoint
# and prints its path, as the real one does; or fails as the real one does (stderr, exit 2).
FAKE_EXPORT = textwrap.dedent(
    """
    import shutil, sys
    from pathlib import Path
    mode, model, checkpoint = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    if mode == "error":
        print(f"error: {checkpoint} does not exist. Give a run folder or a .pt checkpoint", file=sys.stderr)
        sys.exit(2)
    out = checkpoint.parent / "generator best.onnx"  # a space: the path is one line, not one word
    shutil.copyfile(model, out)
    print(out)
    """
)


@pytest.fixture
def fake(tmp_path, models):
    script = tmp_path / "fake_trainer.py"
    script.write_text(FAKE)
    exporter = tmp_path / "fake_export.py"
    exporter.write_text(FAKE_EXPORT)
    grid = np.zeros((70, 70, 3), np.uint8)
    grid[::2] = 200
    Image.fromarray(grid).save(tmp_path / "grid.png")

    def command(mode: str, export: str = "ok") -> TrainerCommand:
        return TrainerCommand(
            sys.executable,
            [str(script), mode, str(tmp_path / "run"), str(models.spatial_rgb)],
            [str(exporter), export, str(models.spatial_rgb)],
        )

    return command


def make_panel(qtbot, settings, command, models_dir):
    panel = TrainingPanel(settings, command, models_dir=models_dir)
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    return panel


def test_panel_runs_the_trainer_and_installs_the_model(qtbot, settings, fake, tmp_path):
    panel = make_panel(qtbot, settings, fake("ok"), tmp_path / "mine")
    images = tmp_path / "images"
    images.mkdir()
    panel.form.folder.setText(str(images))
    panel.form.name.setText("my gravel")
    assert panel.form.arguments()[:4] == ["--recipe", "spatial-wgan-gp", "--data", str(images)]
    assert panel.form.arguments()[-2:] == ["--progress", "json"] and "--name" in panel.form.arguments()
    with qtbot.waitSignal(panel.model_added, timeout=20_000) as blocker:
        panel.start()
    assert panel.outcome[0] == "done"
    installed = Path(blocker.args[0])
    assert installed == tmp_path / "mine" / "my-gravel.onnx" and installed.exists()
    assert load_generator(installed, device="cpu").info.kind == "texture"
    # Progress, curves, the sample grid and the log all arrived.
    assert panel.progress.value() == panel.progress.maximum()
    assert len(panel.loss_chart.series["d"]) == 40 and set(panel.loss_chart.series) == {"d", "g", "wasserstein", "gp"}
    assert [panel.loss_chart.labels.get(n, n) for n in ("d", "g")] == ["critic", "generator"]  # the legend's words
    assert [p[0] for p in panel.metric_chart.series["swd"]] == [10, 20, 30, 40]
    # The ratios, read against 1 rather than "lower is better", are words beside the SWD curve.
    assert set(panel.metric_chart.series) == {"swd"}
    assert panel.checks.text() == "At step 40: seam score 1.00 (1: no seam)"
    assert panel.samples.pixmap() is not None and not panel.samples.pixmap().isNull()
    log = panel.log_view.toPlainText()
    assert "loading 2 images" in log and "a plain line on stdout" in log
    assert "in your library" in panel.status.text()
    assert panel.form.start_button.isEnabled() and not panel.form.stop_button.isEnabled()


@pytest.mark.parametrize("mode", ["slow", "deaf"])
def test_stop_asks_for_a_clean_end(qtbot, settings, fake, tmp_path, mode):
    """Stop reaches the trainer on stdin too: "deaf" ignores SIGTERM, as a Windows console does."""
    panel = make_panel(qtbot, settings, fake(mode), tmp_path / "mine")
    with qtbot.waitSignal(
        panel.run.event, timeout=20_000, check_params_cb=lambda ev: ev["event"] == "step" and ev["step"] >= 3
    ):
        panel.start(["--recipe", "x"])
    assert panel.running
    with qtbot.waitSignal(panel.run.ended, timeout=20_000) as blocker:
        panel.stop()
    assert blocker.args[0] == "done"
    assert panel.run.last["done"]["stopped_early"] is True and panel.run.last["done"]["step"] < 40
    assert "stdin" in panel.run.last["done"]["stopped_by"]
    if mode == "slow":
        assert "signal" in panel.run.last["done"]["stopped_by"]
    assert "stopped early" in panel.status.text()


def test_kill_after_stop_is_reported_as_asked_for_not_as_a_crash(qtbot, settings, fake, tmp_path):
    panel = make_panel(qtbot, settings, fake("stubborn"), tmp_path / "mine")
    with qtbot.waitSignal(panel.run.event, timeout=20_000, check_params_cb=lambda ev: ev["event"] == "step"):
        panel.start(["--recipe", "x"])
    panel.stop()
    assert panel.form.stop_button.text() == "Kill" and panel.running
    with qtbot.waitSignal(panel.run.ended, timeout=20_000) as blocker:
        panel.stop()
    assert blocker.args == ["killed", str(tmp_path / "run")]
    assert panel.progress.format() == "killed"
    assert panel.status.text().startswith("Killed at your request before the end: no model was exported")
    assert str(tmp_path / "run") in panel.status.text() and "ff8a80" not in panel.status.styleSheet()
    assert panel.form.start_button.isEnabled() and panel.installed is None


def test_a_crash_is_reported_in_the_panel(qtbot, settings, fake, tmp_path):
    panel = make_panel(qtbot, settings, fake("crash"), tmp_path / "mine")
    with qtbot.waitSignal(panel.run.ended, timeout=20_000) as blocker:
        panel.start(["--recipe", "x"])
    assert blocker.args[0] == "crashed"
    assert "exit code 1" in panel.status.text() and "boom in the critic" in panel.status.text()
    assert panel.form.start_button.isEnabled() and panel.outcome[0] == "crashed"
    assert not (tmp_path / "mine").exists()


def test_a_trainer_error_is_shown_as_its_message(qtbot, settings, fake, tmp_path):
    panel = make_panel(qtbot, settings, fake("error"), tmp_path / "mine")
    with qtbot.waitSignal(panel.run.ended, timeout=20_000):
        panel.start(["--recipe", "x"])
    assert panel.outcome == ("error", "folder /nowhere does not exist. Pick a folder of images")
    assert "Pick a folder" in panel.status.text()


def test_out_of_gpu_memory_offers_the_batch_the_trainer_estimated(qtbot, settings, fake, tmp_path):
    panel = make_panel(qtbot, settings, fake("oom"), tmp_path / "mine")
    panel.form.folder.setText(str(tmp_path))
    panel.form.overrides.setText("lr_g=1e-4 batch=64")
    with qtbot.waitSignal(panel.run.ended, timeout=20_000):
        panel.start()
    assert panel.outcome[0] == "error" and "ran out of memory" in panel.status.text()
    assert panel.retry_button.isVisibleTo(panel) and panel.retry_button.text() == "Train again with batch 32"
    with qtbot.waitSignal(panel.run.ended, timeout=20_000):
        panel.retry_button.click()
    assert panel.form.overrides.text() == "lr_g=1e-4 batch=32"
    args = (tmp_path / "run-args.txt").read_text().split()
    assert args[args.index("batch=32") - 1] == "--set" and "batch=64" not in args
    assert panel.retry_button.isVisibleTo(panel)  # offered again: the fake fails every time


def test_a_missing_trainer_program_is_reported(qtbot, settings, tmp_path):
    panel = make_panel(qtbot, settings, TrainerCommand(str(tmp_path / "no-such-python"), []), tmp_path / "mine")
    with qtbot.waitSignal(panel.run.ended, timeout=10_000) as blocker:
        panel.start(["--recipe", "x"])
    assert blocker.args[0] == "crashed" and "could not start" in panel.status.text()


def test_the_form_checks_the_folder_before_starting(qtbot, settings, fake, tmp_path):
    panel = make_panel(qtbot, settings, fake("ok"), tmp_path / "mine")
    panel.form.folder.setText(str(tmp_path / "missing"))
    panel.start()
    assert not panel.running and "does not exist" in panel.status.text()
    panel.form.from_cifar.setChecked(True)
    panel.form.cifar_classes.setText("forest, sea")
    panel.form.cifar_archive.setText("/data/cifar-100-python.tar.gz")
    assert panel.form.data_spec() == "cifar100:forest,sea@/data/cifar-100-python.tar.gz"


def test_recipes_are_listed_by_the_trainer(qtbot, settings, fake, tmp_path):
    panel = make_panel(qtbot, settings, fake("ok"), tmp_path / "mine")
    panel.form.load_recipes()
    qtbot.waitUntil(lambda: panel.form.recipe.count() == 2, timeout=10_000)
    assert panel.form.recipe.currentData() == "spatial-wgan-gp"
    assert panel.form.recipe.currentText().startswith("spatial-wgan-gp: tileable texture")


def test_checks_text_reads_each_ratio_against_1():
    from texgen.gui.training_panel import checks_text  # noqa: PLC0415

    assert checks_text(500, {"swd": 20.0, "memorisation_ratio": 0.97, "seam_score": 1.004}) == (
        "At step 500: memorisation ratio 0.97 (under 1: samples sit close to training images, may be copies)"
        " · seam score 1.00 (1: no seam)"
    )
    assert "at or above 1: not copies" in checks_text(1, {"memorisation_ratio": 1.0})
    assert checks_text(1, {"swd": 3.0}) == ""


def test_helpers():
    assert parse_recipes("a   first one\nb second\n\n") == [("a", "first one"), ("b", "second")]
    assert format_duration(None) == "–" and format_duration(59) == "59 s"
    assert format_duration(125) == "2 min 05 s" and format_duration(7322) == "2 h 02 min"


def test_install_model_never_overwrites(tmp_path):
    src = tmp_path / "generator.onnx"
    src.write_bytes(b"x" * 100)
    a = install_model(src, "my model/../x", tmp_path / "models")
    b = install_model(src, "my model/../x", tmp_path / "models")
    assert a.parent == b.parent == tmp_path / "models" and a != b
    assert a.read_bytes() == b.read_bytes() == src.read_bytes()
    assert not list((tmp_path / "models").glob(".*tmp"))


def test_install_model_that_fails_halfway_leaves_no_file(tmp_path, monkeypatch):
    import errno  # noqa: PLC0415
    import shutil  # noqa: PLC0415

    def full_disk(src, dst):
        Path(dst).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    src = tmp_path / "generator.onnx"
    src.write_bytes(b"x" * 100)
    monkeypatch.setattr(shutil, "copyfile", full_disk)
    with pytest.raises(ExportError, match="the disk is full") as err:
        install_model(src, "full", tmp_path / "models")
    assert "free disk space" in str(err.value)
    assert not list((tmp_path / "models").iterdir())


@pytest.mark.slow
def test_a_real_tiny_training_run_lands_in_the_library(qtbot, settings, user_models, tmp_path, models):
    """`python -m texgen train` for two steps of a very small spatial WGAN-GP, from the panel."""
    from skimage import data  # noqa: PLC0415

    from gui_helpers import drain  # noqa: PLC0415
    from texgen.gui.window import MainWindow  # noqa: PLC0415

    images = tmp_path / "photos"
    images.mkdir()
    Image.fromarray(data.gravel()[:64, :64]).save(images / "gravel.png")
    Image.fromarray(data.brick()[:64, :64]).save(images / "brick.png")
    window = MainWindow(settings, device="cpu")
    qtbot.addWidget(window)
    panel = window.training
    panel.form.folder.setText(str(images))
    panel.form.minutes_box.setValue(0)
    panel.form.steps_box.setValue(2)
    panel.form.name.setText("tiny gravel")
    panel.form.runs_folder.setText(str(tmp_path / "runs"))
    args = panel.form.arguments()
    assert (
        args[-2:] == ["--progress", "json"]
        and ["--steps", "2"] == args[args.index("--steps") : args.index("--steps") + 2]
    )
    small = ["--batch", "4", "--crop", "16"] + [
        x for kv in ("g_width=8", "d_width=8", "upsamples=2", "eval_samples=8", "n_critic=1") for x in ("--set", kv)
    ]
    try:
        # A slow machine (or one busy training) takes minutes to import torch, train and export.
        with qtbot.waitSignal(window.state.model_loaded, timeout=300_000):
            panel.start(args[:-2] + small + args[-2:])
    finally:
        if panel.running:  # a failure must not leave the run going: closing would ask to stop it
            panel.run.kill()
            panel.run.process.waitForFinished(10_000)
    assert panel.outcome[0] == "done", panel.log_view.toPlainText()
    installed = user_models / "tiny-gravel.onnx"
    assert installed.exists() and window.state.generator.path == installed
    assert str(installed) in window.library.paths()
    assert window.state.generator.info.tileable and window.state.generator.info.training_steps == 2
    assert panel.loss_chart.series["d"] and panel.samples.pixmap() is not None
    # The lowest-SWD checkpoint's model comes from a real `texgen export` child process (here
    # of latest.pt: which step of a 2-step run reads lower is down to chance).
    checkpoint = Path(panel.run.last["done"]["run_dir"]) / "checkpoints" / "latest.pt"
    panel.best = {"step": 2, "swd": 1.0, "path": str(checkpoint)}
    with qtbot.waitSignal(panel.model_added, timeout=300_000) as blocker:
        panel.add_best()
    assert Path(blocker.args[0]) == user_models / "tiny-gravel-step2.onnx", panel.status.text()
    assert load_generator(user_models / "tiny-gravel-step2.onnx", device="cpu").info.training_steps == 2
    window.state.cancel_generation()
    drain(qtbot)


def test_an_earlier_lower_swd_is_named_and_its_model_can_be_added(qtbot, settings, fake, tmp_path):
    panel = make_panel(qtbot, settings, fake("best"), tmp_path / "mine")
    with qtbot.waitSignal(panel.model_added, timeout=20_000):
        panel.start(["--recipe", "x"])
    best = str(tmp_path / "run" / "best.pt")
    assert "Step 20 read a lower SWD (0.5) than the end" in panel.status.text()
    log = panel.log_view.toPlainText()
    assert f"its weights are {best}" in log and f"texgen export {best}" in log
    assert panel.best_button.isVisibleTo(panel) and panel.best_button.text() == "Add step 20 to the library"
    # The button exports best.pt and adds its model beside the run's, named after the step.
    with qtbot.waitSignal(panel.model_added, timeout=20_000) as blocker:
        qtbot.mouseClick(panel.best_button, Qt.MouseButton.LeftButton)
        assert not panel.best_button.isEnabled() and not panel.form.start_button.isEnabled()
    added = Path(blocker.args[0])
    assert added == tmp_path / "mine" / "run-step20.onnx" and (tmp_path / "mine" / "run.onnx").exists()
    assert load_generator(added, device="cpu").info.kind == "texture"
    assert "run-step20" in panel.status.text() and not panel.best_button.isVisibleTo(panel)
    assert panel.form.start_button.isEnabled() and panel.exporter is None
    # A new run hides what the last one offered.
    with qtbot.waitSignal(panel.model_added, timeout=20_000):
        panel.start(["--recipe", "x"])
    assert panel.best_button.isVisibleTo(panel) and panel.best["step"] == 20
    panel.start(["--recipe", "x"])
    assert not panel.best_button.isVisibleTo(panel) and panel.best is None
    with qtbot.waitSignal(panel.run.ended, timeout=20_000):
        pass
    # A run whose last evaluation was its lowest says nothing of it and offers nothing.
    plain = make_panel(qtbot, settings, fake("ok"), tmp_path / "mine2")
    with qtbot.waitSignal(plain.model_added, timeout=20_000):
        plain.start(["--recipe", "x"])
    assert "lower SWD" not in plain.status.text() and "in your library" in plain.status.text()
    assert not plain.best_button.isVisibleTo(plain)


def test_a_failed_export_of_the_best_checkpoint_is_shown_and_can_be_retried(qtbot, settings, fake, tmp_path):
    panel = make_panel(qtbot, settings, fake("best", export="error"), tmp_path / "mine")
    with qtbot.waitSignal(panel.model_added, timeout=20_000):
        panel.start(["--recipe", "x"])
    qtbot.mouseClick(panel.best_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.exporter is None, timeout=20_000)
    best = tmp_path / "run" / "best.pt"
    assert (
        panel.status.text()
        == f"could not export the model of step 20: {best} does not exist. Give a run folder or a .pt checkpoint"
    )
    assert "ff8a80" in panel.status.styleSheet()
    assert (
        panel.best_button.isEnabled() and panel.best_button.isVisibleTo(panel) and panel.form.start_button.isEnabled()
    )
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["run.onnx"]


def test_a_trainer_warning_stays_in_sight(qtbot, settings, fake, tmp_path):
    panel = make_panel(qtbot, settings, fake("collapse"), tmp_path / "mine")
    with qtbot.waitSignal(panel.run.ended, timeout=20_000):
        panel.start(["--recipe", "x"])
    assert "warning: the generator has collapsed at step 10" in panel.log_view.toPlainText()
    panel._on_step({"step": 41, "total_steps": 40, "elapsed_s": 1.0, "eta_s": 0.0, "losses": {}})
    assert "collapsed at step 10" in panel.status.text() and "ffb74d" in panel.status.styleSheet()
    panel.start(["--recipe", "x"])  # a new run starts clean
    assert panel.warning == ""
    with qtbot.waitSignal(panel.run.ended, timeout=20_000):
        pass


def test_settings_and_continuing_a_run_become_trainer_arguments(qtbot, settings, fake, tmp_path):
    panel = make_panel(qtbot, settings, fake("ok"), tmp_path / "mine")
    form = panel.form
    form.folder.setText(str(tmp_path))
    form.overrides.setText("lr_g=1e-4  diffaug='color,translation'")
    args = form.arguments()
    assert args[args.index("--set") :] == [
        "--set",
        "lr_g=1e-4",
        "--set",
        "diffaug=color,translation",
        "--progress",
        "json",
    ]
    assert "--set lr_g=1e-4 --set diffaug=color,translation" in form.command.text()
    # A setting that is not key=value, or an unclosed quote, stops the run before it starts.
    for text, words in (("lr_g", "is not key=value"), ("lr_g=", "is not key=value"), ("name='x", "unclosed quote")):
        form.overrides.setText(text)
        panel.start()
        assert not panel.running and words in panel.status.text()
    form.overrides.setText("n_critic=2")
    form.save()
    assert settings.text("train/overrides") == "n_critic=2"
    # Continuing a run: the run brings its data, recipe, name and folder.
    form.resume.setText(str(tmp_path / "nowhere"))
    panel.start()
    assert not panel.running and "does not exist" in panel.status.text()
    run = tmp_path / "runs" / "00002-gravel"
    run.mkdir(parents=True)
    form.resume.setText(str(run))
    panel.start()
    assert not panel.running and "has no checkpoints/latest.pt" in panel.status.text()
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "latest.pt").write_bytes(b"")
    form.steps_box.setValue(4000)
    form.name.setText("ignored")
    assert form.problem() is None
    assert form.arguments() == [
        "--resume",
        str(run),
        "--minutes",
        "30",
        "--steps",
        "4000",
        "--set",
        "n_critic=2",
        "--progress",
        "json",
    ]
    assert not form.recipe.isEnabled() and not form.source_box.isEnabled() and not form.name.isEnabled()
    form.resume.clear()
    assert form.recipe.isEnabled() and form.arguments()[:2] == ["--recipe", "spatial-wgan-gp"]


@pytest.mark.parametrize("mode", ["slow", "stubborn"])
def test_closing_during_a_run_waits_for_it_without_freezing_the_window(
    qtbot, settings, user_models, fake, tmp_path, mode, monkeypatch
):
    """Closing asks, stops the run and closes once it has ended, the window painting and
    answering meanwhile (it blocked in waitForFinished for up to two minutes); closing again
    ends a run that does not stop (the stubborn trainer ignores both stop requests)."""
    from PySide6.QtWidgets import QMessageBox  # noqa: PLC0415

    from texgen.gui.window import MainWindow  # noqa: PLC0415

    window = MainWindow(settings, device="cpu", trainer=fake(mode))
    qtbot.addWidget(window)
    window.show()
    asked = []
    monkeypatch.setattr(window, "ask_to_stop_training", lambda: asked.append(1) or QMessageBox.StandardButton.Yes)
    panel = window.training
    with qtbot.waitSignal(
        panel.run.event, timeout=20_000, check_params_cb=lambda ev: ev["event"] == "step" and ev["step"] >= 2
    ):
        panel.start(["--recipe", "x"])
    assert not window.close()  # not yet: the run is finishing
    assert window.isVisible() and asked == [1] and "the window closes when it is done" in window.status_text.text()
    if mode == "stubborn":
        assert not window.close() and asked == [1]  # the second close ends the run, without asking again
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)
    assert panel.outcome[0] == ("done" if mode == "slow" else "killed")
    if mode == "slow":
        assert panel.run.last["done"]["stopped_early"] is True and panel.installed is not None


def test_a_continued_run_is_added_under_its_own_name(qtbot, settings, models, tmp_path):
    """The Name field is off while continuing a run and may still hold another run's name:
    the model is added under the run's own name (its folder's, without the number)."""
    script = tmp_path / "fake_trainer.py"
    script.write_text(FAKE)
    run = tmp_path / "runs" / "00007-my-gravel"
    (run / "checkpoints").mkdir(parents=True)
    Image.fromarray(np.zeros((70, 70, 3), np.uint8)).save(run.parent / "grid.png")  # the stand-in's sample grid
    (run / "checkpoints" / "latest.pt").write_bytes(b"")
    panel = make_panel(
        qtbot,
        settings,
        TrainerCommand(sys.executable, [str(script), "ok", str(run), str(models.spatial_rgb)]),
        tmp_path / "mine",
    )
    panel.form.name.setText("another run's name")
    panel.form.resume.setText(str(run))
    with qtbot.waitSignal(panel.model_added, timeout=20_000) as blocker:
        panel.start()
        assert panel.running, panel.status.text()
    assert Path(blocker.args[0]) == tmp_path / "mine" / "my-gravel.onnx"


def test_closing_after_stop_or_as_the_run_ends_or_during_an_export(
    qtbot, settings, user_models, fake, tmp_path, monkeypatch
):
    """Closing after Stop waits for the clean end (a second stop would kill the run); a run
    that ends while the question is open lets the window close; and a lowest-SWD export in
    progress finishes whole before the window closes."""
    from PySide6.QtWidgets import QMessageBox  # noqa: PLC0415

    from texgen.gui.window import MainWindow  # noqa: PLC0415

    def make(mode: str) -> MainWindow:
        w = MainWindow(settings, device="cpu", trainer=fake(mode))
        qtbot.addWidget(w)
        w.show()
        return w

    # 1. Stop first, then close: the run still ends cleanly, with its model.
    window = make("slow")
    monkeypatch.setattr(window, "ask_to_stop_training", lambda: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(window.training.run.event, timeout=20_000, check_params_cb=lambda ev: ev["event"] == "step"):
        window.training.start(["--recipe", "x"])
    window.training.stop()
    assert not window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)
    assert window.training.outcome[0] == "done"

    # 2. The run ends while the question is open: Yes closes at once.
    window = make("ok")

    def answer_after_the_end():
        qtbot.waitUntil(lambda: not window.training.running, timeout=20_000)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(window, "ask_to_stop_training", answer_after_the_end)
    window.training.start(["--recipe", "x"])
    assert window.training.running
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)

    # 3. An export of the lowest-SWD checkpoint finishes before the window closes.
    window = make("best")
    with qtbot.waitSignal(window.training.model_added, timeout=20_000):
        window.training.start(["--recipe", "x"])
    window.training.add_best()
    assert window.training.exporting and not window.close()
    assert "Finishing the export" in window.status_text.text()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)
    assert len(list(user_models.glob("run*-step20.onnx"))) == 1  # beside run.onnx, run-2.onnx, ... of the runs above


def test_a_grey_texture_trains_one_channel(qtbot, settings, fake, tmp_path, capsys):
    """ "Makes" offered colour textures and heightmaps only, so grey photographs (the bundled
    stone and grass are grey) trained three-channel models with colour noise in them."""
    import json  # noqa: PLC0415

    from trainer.cli import train_main  # noqa: PLC0415

    panel = make_panel(qtbot, settings, fake("ok"), tmp_path / "mine")
    form = panel.form
    images = tmp_path / "gravel"
    images.mkdir()
    Image.fromarray(np.zeros((64, 64), np.uint8) + 90).save(images / "g.png")
    form.folder.setText(str(images))
    form.kind.setCurrentIndex(form.kind.findText("Texture (grey)"))
    form.overrides.setText("lr_g=1e-4")
    args = form.arguments()
    assert args[args.index("--kind") + 1] == "texture"
    sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    assert sets == ["channels=1", "lr_g=1e-4"]  # the user's settings last: they may still say otherwise
    assert train_main([*args, "--dry-run", "--out", str(tmp_path / "runs")]) == 0
    resolved = json.loads(capsys.readouterr().out)
    assert (resolved["kind"], resolved["channels"]) == ("texture", 1)
    form.save()
    assert settings.text("train/kind") == "texture-grey"


def test_progress_names_the_limit_that_ends_the_run(qtbot, settings, fake, tmp_path):
    """ "step 1,373 / 1,000,000 · 80%" read as arithmetic gone wrong: the 80 % was of the 24-minute
    budget. The bar now says which limit its percentage is of."""
    panel = make_panel(qtbot, settings, fake("ok"), tmp_path / "mine")
    panel.minutes, panel.total_steps = 24, 1_000_000
    panel._on_step({"event": "step", "step": 1373, "total_steps": 1_000_000, "elapsed_s": 19.2 * 60})
    assert panel.progress.format() == "step 1,373  ·  80% of 24 min"
    panel.minutes = None
    panel._on_step({"event": "step", "step": 10, "total_steps": 40, "elapsed_s": 3.0})
    assert panel.progress.format() == "step 10  ·  25% of 40 steps"


def test_typing_in_a_sources_fields_chooses_that_source(qtbot, settings, fake, tmp_path):
    panel = make_panel(qtbot, settings, fake("ok"), tmp_path / "mine")
    form = panel.form
    assert form.from_folder.isChecked()
    qtbot.keyClicks(form.cifar_classes, ",sea")
    assert form.from_cifar.isChecked() and form.arguments()[form.arguments().index("--data") + 1].startswith(
        "cifar100:forest,sea"
    )
    qtbot.keyClicks(form.folder, str(tmp_path))
    assert form.from_folder.isChecked() and form.arguments()[form.arguments().index("--data") + 1] == str(tmp_path)


@pytest.mark.parametrize("mode", ["ok", "best"])
def test_a_finished_run_opens_its_model_and_keeps_a_best_step_offer_in_sight(
    qtbot, settings, user_models, fake, tmp_path, mode
):
    """The window went to the Generate tab as a run finished, hiding the Train tab's offer of the
    run's lowest-SWD step; it now stays on Train when there is one."""
    from texgen.gui.window import MainWindow  # noqa: PLC0415

    window = MainWindow(settings, device="cpu", trainer=fake(mode))
    qtbot.addWidget(window)
    window.show()
    window.tabs.setCurrentIndex(1)
    window.training.form.folder.setText(str(tmp_path))
    with qtbot.waitSignal(window.state.model_loaded, timeout=20_000) as blocker:
        window.training.start(["--recipe", "x"])
    assert blocker.args[0].path == user_models / "run.onnx"  # the new model is open either way
    assert window.tabs.currentIndex() == (1 if mode == "best" else 0)
    assert window.training.best_button.isVisible() == (mode == "best")
