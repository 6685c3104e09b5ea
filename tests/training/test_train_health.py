"""A run that breaks says so (trainer/health.py): exploding losses, saturated output, output
that no longer depends on the latent; its card praises nothing it did not measure; and
on_divergence=stop exports the last healthy weights instead."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnxruntime as ort
import pytest
import torch
from train_helpers import Events, texture_folder, tiny

import trainer.loop
from texgen.errors import RequestError, TexgenError
from trainer.health import LossWatch, output_problems
from trainer.loop import train


def test_a_loss_a_hundred_times_over_its_level_is_divergence_but_a_slow_drift_is_not():
    watch = LossWatch()
    for step, d in enumerate(np.geomspace(1, 400, 60)):  # a critic loss drifting up 400x over time
        assert watch.check({"d": float(d), "g": 0.7}, step) is None
    fresh = LossWatch()
    assert fresh.check({"d": 0.78, "g": 608.0}, 1) is None  # the first window sets the level
    said = fresh.check({"d": 14312.0, "g": 17324.0}, 5)
    assert (
        said.startswith("training diverged at step 5")
        and "d 1.431e+04" in said
        and "g " not in said.split(";")[0][-30:]
    )
    assert "lr_g" in said


def test_saturated_and_seed_independent_outputs_are_named_and_healthy_ones_are_not():
    rng = np.random.default_rng(0)
    healthy = np.tanh(rng.normal(0, 0.8, (8, 1, 16, 16)))
    assert output_problems(healthy, 3) == []
    pinned = np.sign(rng.normal(0, 1, (8, 1, 16, 16)))  # black and white, different per seed
    (saturated,) = output_problems(pinned, 3)
    assert "saturated at step 3" in saturated and "100%" in saturated
    same = np.repeat(healthy[:1], 8, axis=0)
    (collapse,) = output_problems(same, 4)
    assert collapse.startswith("mode collapse at step 4")
    # A conditional model whose every class draws one image: the classes differ, each collapsed.
    labels = np.arange(8) % 4
    per_class = np.stack([healthy[c] for c in labels])
    assert output_problems(per_class, 5) == []  # read across classes, it passes
    (collapse,) = output_problems(per_class, 5, labels)
    assert collapse.startswith("mode collapse at step 5")
    assert output_problems(healthy, 5, labels) == []


def test_a_collapsed_conditional_run_is_told_of_the_unit_projection_and_an_unconditional_one_is_not():
    from trainer.config import TrainConfig  # noqa: PLC0415

    rng = np.random.default_rng(0)
    healthy = np.tanh(rng.normal(0, 0.8, (8, 1, 16, 16)))
    labels = np.arange(8) % 4
    flat = np.zeros((8, 1, 16, 16))
    per_class = np.stack([healthy[c] for c in labels])
    free = TrainConfig(conditional=True)
    for images in (flat, per_class):
        (said,) = trainer.loop._output_problems(images, 7, labels, free)
        assert "collapse" in said and said.endswith("also --set projection=unit")
    unit = dataclasses.replace(free, projection="unit")
    assert "projection" not in trainer.loop._output_problems(flat, 7, labels, unit)[0]
    assert "projection" not in trainer.loop._output_problems(flat, 7, None, TrainConfig())[0]
    pinned = np.sign(rng.normal(0, 1, (8, 1, 16, 16)))  # saturated, not collapsed: no such advice
    assert all("projection" not in p for p in trainer.loop._output_problems(pinned, 7, labels, free))


@pytest.mark.slow
def test_a_run_at_learning_rate_ten_warns_of_divergence_and_its_card_claims_no_seamless_tile(tmp_path):
    data = texture_folder(tmp_path / "textures")
    # The failures issue's command: 32 px crops, batch 4, 8 channels, both learning rates 10.
    cfg = tiny("spatial-dcgan", data, tmp_path / "runs", steps=12, lr_g=10.0, lr_d=10.0, crop=32, batch=4,
               upsamples=4, latent_size=32, n_critic=1)  # fmt: skip
    events = Events()
    run = train(cfg, events)
    warnings = [e["message"] for e in events.of("warning")]
    assert any(m.startswith("training diverged at step") for m in warnings), warnings
    (done,) = events.of("done")
    assert done["healthy"] is False and done["problems"]
    card = (run / "model-card.md").read_text()
    assert "tiles with no seam" not in card and "| health | NOT healthy" in card


@pytest.mark.slow
def test_a_run_that_breaks_in_its_first_steps_with_on_divergence_stop_exports_the_untrained_weights_marked_so(
    tmp_path,
):
    # The failures issue's lr=10 run is broken after its first step (every output flat white),
    # so no trained step is healthy: stop goes back to the untrained weights, whose seeds differ,
    # exports them, and says that they are untrained (done event, stderr, card).
    data = texture_folder(tmp_path / "textures")
    cfg = tiny("spatial-dcgan", data, tmp_path / "runs", steps=12, lr_g=10.0, lr_d=10.0, crop=32, batch=4,
               upsamples=4, latent_size=32, n_critic=1, on_divergence="stop")  # fmt: skip
    events = Events()
    run = train(cfg, events)
    assert any(e["message"].startswith("training diverged at step") for e in events.of("warning"))
    (note,) = events.of("note")
    assert "went back to the untrained weights of step 0" in note["message"]
    (done,) = events.of("done")
    assert done["step"] == 0 and done["stopped_early"] and done["healthy"] is False
    assert done["problems"][-1].startswith("untrained: training diverged at step 2,")
    session = ort.InferenceSession(str(run / "generator.onnx"), providers=["CPUExecutionProvider"])
    z = np.random.default_rng(0).standard_normal((2, 32, 3, 3)).astype(np.float32)
    a, b = session.run(["image"], {"z": z})[0]
    assert np.abs(a - b).mean() > 0.01  # the exported seeds differ
    card = (run / "model-card.md").read_text()
    assert "NOT healthy" in card and "untrained weights of step 0" in card and "tiles with no seam" not in card
    assert "last healthy step" not in card


def test_on_divergence_stop_goes_back_to_the_last_healthy_step_and_exports_it(tmp_path, monkeypatch):
    # The outputs are judged broken from step 5 on (a stand-in for a real blow-up, whose step
    # no seed pins down); every logged step is checked (no warm-up) and kept while healthy.
    real = trainer.loop.output_problems
    monkeypatch.setattr(trainer.loop, "output_problems",
                        lambda images, step, labels=None: real(images, step, labels)
                        + (["the generator's output is saturated at step %d" % step] if step >= 5 else []))  # fmt: skip
    monkeypatch.setattr(trainer.loop, "HEALTH_SECONDS", 0.0)
    monkeypatch.setattr(trainer.loop, "HEALTH_WARMUP", 1)
    data = texture_folder(tmp_path / "textures")
    cfg = tiny("spatial-dcgan", data, tmp_path / "runs", steps=20, on_divergence="stop")
    events = Events()
    run = train(cfg, events)
    (done,) = events.of("done")
    (note,) = events.of("note")
    assert done["step"] == 4 and done["stopped_early"] and "went back to step 4" in note["message"]
    session = ort.InferenceSession(str(run / "generator.onnx"), providers=["CPUExecutionProvider"])
    z = np.random.default_rng(0).standard_normal((2, 8, 3, 3)).astype(np.float32)
    a, b = session.run(["image"], {"z": z})[0]
    assert np.abs(a - b).mean() > 0.01  # the exported seeds differ


def test_on_divergence_stop_keeps_weights_at_doubling_steps_when_a_run_is_too_short_for_the_clock(
    tmp_path, monkeypatch
):
    # No check by the clock in this run: with on_divergence=stop the outputs are still checked
    # (and the weights kept) at steps 10, 20, 40, ... so a run broken within seconds goes back.
    real = trainer.loop.output_problems
    monkeypatch.setattr(trainer.loop, "output_problems",
                        lambda images, step, labels=None: real(images, step, labels)
                        + (["the generator's output is saturated at step %d" % step] if step >= 25 else []))  # fmt: skip
    monkeypatch.setattr(trainer.loop, "HEALTH_SECONDS", 1e9)
    data = texture_folder(tmp_path / "textures")
    cfg = tiny("spatial-dcgan", data, tmp_path / "runs", steps=30, on_divergence="stop", log_seconds=1e9)
    events = Events()
    train(cfg, events)
    (done,) = events.of("done")
    assert done["step"] == 20 and done["stopped_early"] and done["reverted_from_step"] == 30


def test_on_divergence_takes_warn_or_stop():
    from trainer.config import check_config

    with pytest.raises(RequestError, match="on_divergence 'halt' is not one of warn, stop"):
        check_config(tiny("spatial-dcgan", "x", "runs", on_divergence="halt"))


# -- GPU failures, with fakes on the CPU -------------------------------------------------------


def _failing_from(monkeypatch, step: int, exc: BaseException) -> None:
    """train_step raises `exc` once the session has made `step` steps."""
    real = trainer.loop.train_step

    def step_or_fail(s):
        if s.step >= step:
            raise exc
        return real(s)

    monkeypatch.setattr(trainer.loop, "train_step", step_or_fail)


def _losses_times(monkeypatch, step: int, factor: float) -> None:
    """train_step's losses multiplied by `factor` (inf, nan) at `step`, its weights untouched."""
    real = trainer.loop.train_step

    def step_with_losses(s):
        out = real(s)
        return {k: v * factor for k, v in out.items()} if s.step == step else out

    monkeypatch.setattr(trainer.loop, "train_step", step_with_losses)


def test_a_batch_that_fits_is_estimated_from_the_failed_steps_peak():
    from trainer.loop import batch_that_fits

    gib = 2**30
    assert batch_that_fits(64, 20 * gib, 16 * gib) == 32  # 40 estimated, at most half, a power of two
    assert batch_that_fits(64, 30 * gib, 16 * gib) == 16  # 27 -> 16
    assert batch_that_fits(8, 0, 0) == 4  # nothing measured: half
    assert batch_that_fits(2, 0, 0) == 1


def test_cuda_out_of_memory_is_one_line_naming_a_batch_that_fits(tmp_path, monkeypatch):
    _failing_from(monkeypatch, 2, torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    monkeypatch.setattr(trainer.loop, "gpu_memory", lambda device: (6 * 2**30, 8 * 2**30))
    data = texture_folder(tmp_path / "textures")
    with pytest.raises(TexgenError) as info:
        train(tiny("spatial-dcgan", data, tmp_path / "runs", steps=6), Events())
    assert str(info.value).startswith(
        "the GPU ran out of memory at step 3 with a batch of 8 (this process's peak 6.0 of 8.0 GiB)"
    )
    assert "--batch 4 (estimated to fit)" in str(info.value) and "\n" not in str(info.value)


def test_a_gpu_lost_mid_run_leaves_the_last_checkpoint_whole_to_resume(tmp_path, monkeypatch):
    from trainer.checkpoint import load_checkpoint

    _failing_from(
        monkeypatch, 3, RuntimeError("CUDA error: unspecified launch failure\nCUDA kernel errors might be ...")
    )
    data = texture_folder(tmp_path / "textures")
    cfg = tiny("spatial-dcgan", data, tmp_path / "runs", steps=6, checkpoint_every=1)
    with pytest.raises(TexgenError, match=r"the GPU failed at step 4 \(CUDA error: unspecified launch failure\); "
                                          r"the checkpoint of step 3 .* is whole") as info:  # fmt: skip
        train(cfg, Events())
    (run,) = (tmp_path / "runs").iterdir()
    assert f"texgen train --resume {run}" in str(info.value)
    assert load_checkpoint(run)["step"] == 3
    monkeypatch.undo()
    events = Events()
    train(dataclasses.replace(cfg, resume=str(run)), events)
    assert events.of("done")[0]["step"] == 6


def test_a_python_bug_in_a_step_is_not_taken_for_a_gpu_failure(tmp_path, monkeypatch):
    _failing_from(monkeypatch, 1, RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    data = texture_folder(tmp_path / "textures")
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        train(tiny("spatial-dcgan", data, tmp_path / "runs", steps=3), Events())


def test_mixed_precision_that_overflows_goes_on_in_float32_with_a_note(tmp_path, monkeypatch):
    # bf16 autocast on the CPU stands in for a GPU's; one step's losses come back infinite
    # while the weights stay whole (as when a bf16 activation overflows).
    import trainer.state

    monkeypatch.setattr(trainer.state, "pick_amp", lambda mode, device: torch.bfloat16)
    _losses_times(monkeypatch, 3, float("inf"))
    data = texture_folder(tmp_path / "textures")
    events = Events()
    train(tiny("spatial-dcgan", data, tmp_path / "runs", steps=6), events)
    (note,) = events.of("note")
    assert note["step"] == 3 and note["message"].startswith(
        "mixed precision (bf16) overflowed at step 3; training goes on in float32"
    )
    assert events.of("done")[0]["step"] == 6 and not [w for w in events.of("warning") if "diverged" in w["message"]]
    losses = [e["losses"] for e in events.of("step") if e["step"] == 3][0]
    assert all(v is None for v in losses.values())  # the window's losses, dropped


@pytest.mark.parametrize("seam, health, says", [
    (1.1, {"healthy": True, "problems": []}, "tiles with no seam (seam score 1.1)"),
    (2808.0, {"healthy": True, "problems": []}, "its seam score reads 2808 (about 1 means no visible seam)"),
    (1.0, {"healthy": False, "problems": ["mode collapse at step 30: ..."]}, "its seam score reads 1 "),
    (1.0, None, "tiles with no seam"),  # a checkpoint from before the health check
])  # fmt: skip
def test_the_cards_seam_sentence_follows_the_measured_score_and_the_health(seam, health, says):
    from texgen.metadata import GeneratorInfo
    from trainer.config import TrainConfig
    from trainer.to_onnx import model_card

    info = GeneratorInfo(name="m", kind="texture", channels=1, latent_kind="spatial", latent_size=8, native_height=32,
                         native_width=32, pixels_per_cell=16, tileable=True, metrics={"seam_score": seam})  # fmt: skip
    card = model_card(info, TrainConfig(data="x"), {"elapsed_s": 1.0, "device": "cpu", "health": health}, 1e-6)
    assert says in card
    assert ("tiles with no seam" in card) == ("tiles with no seam" in says)
    row = next(line for line in card.splitlines() if line.startswith("| health |"))
    assert ("NOT healthy" in row) == (health is not None and not health["healthy"])


@pytest.mark.parametrize("checkpoint_every", [0, 1])
def test_a_non_finite_loss_before_any_checkpoint_leaves_no_folder_that_looks_resumable(
    tmp_path, monkeypatch, checkpoint_every
):
    _losses_times(monkeypatch, 2, float("nan"))
    data = texture_folder(tmp_path / "textures")
    cfg = tiny("spatial-dcgan", data, tmp_path / "runs", steps=6, checkpoint_every=checkpoint_every)
    with pytest.raises(TexgenError, match="a loss is not finite at step 2") as info:
        train(cfg, Events())
    runs = list((tmp_path / "runs").iterdir())
    if checkpoint_every:  # step 1's checkpoint is whole: the folder stays, to resume or look at
        assert len(runs) == 1 and (runs[0] / "checkpoints" / "latest.pt").is_file()
    else:
        assert runs == [] and "no checkpoint had been written, so its run folder" in str(info.value)
