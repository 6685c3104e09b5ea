"""Resume: a run stopped at step k and resumed ends bitwise identical to an uninterrupted one."""

from __future__ import annotations

import json

import torch
from PIL import Image
from train_helpers import TEXTURES, Events, texture, texture_folder, tiny

from trainer import cli as trainer_cli
from trainer.checkpoint import load_checkpoint
from trainer.cli import export_main, train_main
from trainer.loop import train

torch.set_num_threads(1)  # tiny networks on shared cores: threads only contend


class StopAfter:
    """should_stop that asks to stop once `n` generator steps have run."""

    def __init__(self, n: int):
        self.n, self.calls = n, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls >= self.n


def _same(a: dict, b: dict) -> None:
    for key in ("G", "D", "G_ema"):
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), f"{key}.{name} differs"
    for key in ("opt_g", "opt_d"):
        for i, state in a[key]["state"].items():
            for name, value in state.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(b[key]["state"][i][name])), (
                    f"{key}[{i}].{name}"
                )


def test_resumed_run_equals_uninterrupted_run(tmp_path):
    # Every random stream must continue where it stopped: crops and flips drawn on the host
    # (images of different sizes), latents, crop offsets of the periodic output, the gradient
    # penalty's interpolation weights, critic dropout; and sampling between steps must not
    # consume any of them.
    data = tmp_path / "textures"
    data.mkdir()
    for name, (h, w) in zip(TEXTURES, [(96, 128), (128, 80), (64, 64)]):
        Image.fromarray(texture(name)[:h, :w]).save(data / f"{name}.png")
    cfg = tiny("spatial-wgan-gp", data, tmp_path / "runs", channels=1, steps=4, n_critic=2,
               critic_dropout=0.2, sample_every=2)  # fmt: skip
    full = train(cfg, Events())

    events = Events()
    part = train(cfg, events, should_stop=StopAfter(2))
    assert events.of("done")[0]["stopped_early"] is True and load_checkpoint(part)["step"] == 2
    assert train_main(["--resume", str(part), "--steps", "4", "--progress", "none"]) == 0

    _same(load_checkpoint(full), load_checkpoint(part))
    steps = [json.loads(line)["step"] for line in (part / "stats.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_resume_refuses_changed_settings_and_finished_runs(tmp_path, capsys, monkeypatch):
    cfg = tiny(
        "spatial-dcgan", texture_folder(tmp_path / "textures"), tmp_path / "runs", channels=1, steps=1, n_critic=1
    )
    run = train(cfg, Events())
    assert train_main(["--resume", str(run), "--steps", "3", "--batch", "16"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot change batch when resuming") and err.count("\n") == 1
    assert train_main(["--resume", str(run), "--steps", "1"]) == 2
    assert "already at step 1" in capsys.readouterr().err
    # --minutes alone goes on until that budget (the steps it was given no longer bound it);
    # a budget the run has already used is refused, saying how long it has run.
    assert train_main(["--resume", str(run), "--minutes", "0.0001"]) == 2
    err = capsys.readouterr().err
    assert "the run has already trained" in err and "resume with --minutes larger than" in err
    calls = []  # a stop after two more steps, as Ctrl-C would be
    monkeypatch.setattr(
        trainer_cli, "_stop_flag", lambda stdin=False: (lambda: calls.append(1) or len(calls) >= 2, lambda: None)
    )
    assert train_main(["--resume", str(run), "--minutes", "60", "--progress", "none"]) == 0
    assert load_checkpoint(run)["step"] == 3  # past the 1 step it had been given


# The SWD each evaluation reads, by step (the evaluation itself runs; only its SWD is replaced,
# so that which step is lowest does not hang on the float path of one seed): lowest at step 2,
# before the resume; the resumed steps read higher than that but lower than steps 1 and 3, so a
# resumed run that compared with nothing (or with the last reading) would keep step 4 or 5.
SCRIPTED_SWD = {1: 30.0, 2: 10.0, 3: 20.0, 4: 15.0, 5: 12.0, 6: 25.0}


def test_the_lowest_swd_is_kept_as_best_and_survives_a_resume(tmp_path, capsys, monkeypatch):
    # Every evaluation whose SWD is the lowest so far writes checkpoints/best.pt; the run's own
    # checkpoint carries that record, so a resumed run compares with it, not with nothing.
    from trainer import loop  # noqa: PLC0415

    evaluate = loop._Samples.evaluate
    monkeypatch.setattr(loop._Samples, "evaluate", lambda self: {**evaluate(self), "swd": SCRIPTED_SWD[self.s.step]})
    cfg = tiny("spatial-dcgan", texture_folder(tmp_path / "textures"), tmp_path / "runs", channels=1,
               steps=4, n_critic=1, eval_every=1)  # fmt: skip
    run = train(cfg, Events(), should_stop=StopAfter(3))
    before = load_checkpoint(run / "checkpoints" / "best.pt")
    assert before["step"] == 2 and load_checkpoint(run)["best"] == {"step": 2, "swd": 10.0}
    assert train_main(["--resume", str(run), "--steps", "6", "--progress", "none"]) == 0
    printed = capsys.readouterr().out
    swds = {
        e["step"]: e["metrics"]["swd"]
        for e in map(json.loads, (run / "stats.jsonl").read_text().splitlines())
        if "metrics" in e
    }
    assert swds == SCRIPTED_SWD
    best = load_checkpoint(run / "checkpoints" / "best.pt")
    assert best["step"] == 2 and best["metrics"]["swd"] == 10.0
    assert load_checkpoint(run)["best"] == {"step": 2, "swd": 10.0}
    # The weights are step 2's, written before the resume and left alone by it; not the last step's.
    last = load_checkpoint(run)
    assert all(torch.equal(best["G"][k], before["G"][k]) for k in before["G"])
    assert any(not torch.equal(best["G"][k], last["G"][k]) for k in best["G"])
    assert f"lowest SWD (10.0) at step 2, kept as {run / 'checkpoints' / 'best.pt'}" in printed
    # Exporting it does not overwrite the run's model.
    assert export_main([str(run / "checkpoints" / "best.pt")]) == 0
    assert (run / "generator-best.onnx").is_file() and (run / "generator-best.md").is_file()
    assert capsys.readouterr().out.strip() == str(run / "generator-best.onnx")
