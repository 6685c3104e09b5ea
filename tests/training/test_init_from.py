"""--init-from: a new run that starts from another run's weights (staged training: a wide critic
added to a run trained without one)."""

import dataclasses
import subprocess
import sys

import pytest
import torch

from texgen.errors import RequestError
from trainer.checkpoint import load_checkpoint
from trainer.recipes import reproduce_command


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """A finished two-step run with a plain critic, 16 px crops, margin 6 (room for wide crops)."""
    from train_helpers import Events, texture_folder, tiny

    from trainer.loop import train

    root = tmp_path_factory.mktemp("init")
    data = texture_folder(root / "textures")
    cfg = tiny("spatial-dcgan", data, root / "runs", spatial_margin=6, ema_halflife=2, seed=3)
    return cfg, train(cfg, Events())


def test_a_wide_critic_run_starts_from_the_generator_and_the_critic_of_a_plain_one(first_run):
    from train_helpers import Events

    from trainer.loop import train
    from trainer.state import make_state, start_from

    cfg, run = first_run
    source = load_checkpoint(run)
    wide = dataclasses.replace(cfg, wide_critic=2, crops_per_image=2, init_from=str(run), steps=1, seed=0)

    # What the new run holds before its first step: the source's generator, moving average and
    # critic (as the wide critic's local half), and a wide half as make_state drew it.
    from trainer.data import open_dataset

    data = open_dataset(wide.data, kind=wide.kind, channels=wide.channels, crop=wide.crop, scale=wide.scale)
    s = make_state(wide, data, torch.device("cpu"), _one_process())
    drawn = {k: v.clone() for k, v in s.D.state_dict().items()}
    message = start_from(s, source)
    for key, value in source["G"].items():
        torch.testing.assert_close(s.G.state_dict()[key], value)
    for key, value in source["G_ema"].items():
        torch.testing.assert_close(s.G_ema.state_dict()[key], value)
    for key, value in source["D"].items():
        torch.testing.assert_close(s.D.state_dict()[f"local.{key}"], value)
        torch.testing.assert_close(s.D.state_dict()[f"wide.{key}"], drawn[f"wide.{key}"])
    n = len(source["D"])
    assert f"and {n} of the critic's {2 * n} tensors ({n} start fresh)" in message
    assert f"step {source['step']}" in message
    assert s.steps_before == source["step"]  # the moving average's half-life is not cut back

    # The run itself: it says where it started, counts its own steps and trains from there.
    events = Events()
    new_run = train(wide, events)
    notes = [e["message"] for e in events.of("note") if e["message"].startswith("started from")]
    assert len(notes) == 1 and str(run) in notes[0]
    trained = load_checkpoint(new_run)
    assert trained["step"] == 1 and trained["config"].init_from == str(run)
    first_command = reproduce_command(cfg)
    assert trained["origin"] == {"path": str(source["path"]), "steps": source["step"], "elapsed_s": source["elapsed_s"],
                                 "commands": [first_command]}  # kept for a resume  # fmt: skip
    card = (new_run / "model-card.md").read_text()
    training = next(line for line in card.splitlines() if line.startswith("| training |"))
    assert "| training | 1 generator steps in 0 min 0" in training
    assert f"started from the weights of `{run.name}` (`--init-from`: {source['step']} steps in 0 min 0" in training
    assert f"{source['step'] + 1} steps in 0 min 0" in training
    # Its Reproduce section gives both stages' commands, in order: the second one's init_from.
    reproduce = card.split("## Reproduce", 1)[1]
    assert "In 2 stages" in reproduce
    assert reproduce.index("Stage 1:") < reproduce.index(first_command) < reproduce.index("Stage 2:")
    assert f"--set init_from={run}" in reproduce.split("Stage 2:", 1)[1]
    assert "init_from" not in first_command
    key = next(iter(source["G"]))
    assert not torch.allclose(trained["G"][key], source["G"][key])  # trained on from there
    assert (new_run / "generator.onnx").is_file()


def test_a_plain_run_takes_the_local_half_of_a_wide_critic(first_run, tmp_path):
    from train_helpers import Events

    from trainer.loop import train

    cfg, run = first_run
    wide_run = train(dataclasses.replace(cfg, wide_critic=2, crops_per_image=2, out=str(tmp_path)), Events())
    events = Events()
    plain_run = train(dataclasses.replace(cfg, init_from=str(wide_run), out=str(tmp_path), steps=1), events)
    note = next(e["message"] for e in events.of("note") if e["message"].startswith("started from"))
    n = len(load_checkpoint(run)["D"])
    assert f"and {n} of the critic's {n} tensors;" in note  # all of them, nothing fresh

    # A third stage counts all the steps before it and lists both earlier commands.
    third = load_checkpoint(train(dataclasses.replace(cfg, init_from=str(plain_run), out=str(tmp_path), steps=1),
                                  Events()))  # fmt: skip
    assert third["origin"]["steps"] == load_checkpoint(wide_run)["step"] + 1
    assert len(third["origin"]["commands"]) == 2 and "wide_critic=2" in third["origin"]["commands"][0]


def test_a_generator_built_otherwise_is_refused_before_any_folder_is_made(first_run, tmp_path):
    from train_helpers import Events

    from trainer.loop import train

    cfg, run = first_run
    other = dataclasses.replace(
        cfg, g_width=12, coarse_field=2, cell_convs=1, init_from=str(run), out=str(tmp_path / "runs")
    )
    with pytest.raises(RequestError) as info:
        train(other, Events())
    assert (
        "its generator is built otherwise (g_width 8 there, 12 here; coarse_field 0 there, 2 here;"
        " cell_convs 0 there, 1 here)" in str(info.value)
    )
    assert "whose generator settings match" in info.value.fix
    assert not (tmp_path / "runs").exists()
    with pytest.raises(RequestError, match="kind texture there, heightmap here"):
        from train_helpers import dem_path

        train(dataclasses.replace(cfg, kind="heightmap", channels=1, data=str(dem_path()), init_from=str(run),
                                  out=str(tmp_path / "runs")), Events())  # fmt: skip
    assert not (tmp_path / "runs").exists()


def test_the_cli_refuses_init_from_with_resume_and_a_missing_source_in_one_line(first_run, tmp_path):
    cfg, run = first_run

    def texgen_train(*args) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "texgen", "train", *args], capture_output=True, text=True)

    both = texgen_train("--resume", str(run), "--init-from", str(run), "--steps", "9")
    assert both.returncode != 0 and "Traceback" not in both.stderr
    assert "--resume continues a run, --init-from starts a new one from another run's weights: not both" in both.stderr
    missing = texgen_train("--data", cfg.data, "--init-from", str(tmp_path / "nowhere"), "--steps", "1",
                           "--out", str(tmp_path / "runs"))  # fmt: skip
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert f"no checkpoint at {tmp_path / 'nowhere'}" in missing.stderr
    assert not (tmp_path / "runs").exists()


def _one_process():
    from trainer.distributed import Dist

    return Dist()
