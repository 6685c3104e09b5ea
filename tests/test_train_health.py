"""A run that breaks says so (trainer/health.py): exploding losses, saturated output, output
that no longer depends on the latent; its card praises nothing it did not measure; and
on_divergence=stop exports the last healthy weights instead."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
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
    assert said.startswith("training diverged at step 5") and "d 1.431e+04" in said and "g " not in said.split(";")[0][-30:]
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
def test_a_run_that_breaks_at_its_first_step_with_on_divergence_stop_keeps_nothing_and_says_so(tmp_path):
    data = texture_folder(tmp_path / "textures")
    cfg = tiny("spatial-dcgan", data, tmp_path / "runs", steps=12, lr_g=10.0, lr_d=10.0, on_divergence="stop")
    with pytest.raises(TexgenError, match="before any step was found healthy: no model was exported"):
        train(cfg, Events())
    assert list((tmp_path / "runs").iterdir()) == []  # no folder that looks resumable


def test_on_divergence_stop_goes_back_to_the_last_healthy_step_and_exports_it(tmp_path, monkeypatch):
    # The outputs are judged broken from step 5 on (a stand-in for a real blow-up, whose step
    # no seed pins down); every logged step is checked and kept while healthy.
    real = trainer.loop.output_problems
    monkeypatch.setattr(trainer.loop, "output_problems",
                        lambda images, step: real(images, step) + (["the generator's output is saturated at step %d" % step] if step >= 5 else []))  # fmt: skip
    monkeypatch.setattr(trainer.loop, "SNAPSHOT_SECONDS", 0.0)
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


def test_on_divergence_takes_warn_or_stop():
    from trainer.config import check_config

    with pytest.raises(RequestError, match="on_divergence 'halt' is not one of warn, stop"):
        check_config(tiny("spatial-dcgan", "x", "runs", on_divergence="halt"))
