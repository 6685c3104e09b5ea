"""Export: real ONNX files from real (tiny) training runs, run by onnxruntime and read back by
the runtime's own metadata reader; parity with torch, wrap padding and seams."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from train_helpers import Events, texture_folder, tiny

from texgen.metadata import TensorSpec, check_io, read_metadata
from trainer import to_onnx as export_module
from trainer.checkpoint import load_checkpoint, save_checkpoint
from trainer.cli import export_main
from trainer.to_onnx import export_generator
from trainer.loop import train
from trainer.networks import build_generator
from trainer.recipes import get_recipe

torch.set_num_threads(1)  # tiny networks on shared cores: threads only contend


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _specs(items):
    return [TensorSpec(i.name, i.type, tuple(i.shape)) for i in items]


@pytest.fixture(scope="module")
def spatial_run(tmp_path_factory):
    """A conditional spatial WGAN-GP trained 2 steps on three real textures (one class each)."""
    root = tmp_path_factory.mktemp("export")
    data = texture_folder(root / "textures", classes=True)
    cfg = tiny("cgan-spatial-wgan-gp", data, root / "runs", channels=3)
    events = Events()
    run = train(cfg, events)
    return run, events


def _torch_generator(run):
    ckpt = load_checkpoint(run)
    spec = ckpt["config"].net_spec(len(ckpt["data"]["class_names"]))
    G = build_generator(spec)
    G.load_state_dict(ckpt["G_ema"])  # the preset keeps a moving average: that is what is exported
    return G.eval(), spec


def test_spatial_export_carries_the_contract(spatial_run):
    run, events = spatial_run
    path = run / "generator.onnx"
    assert events.of("done")[0]["onnx"] == str(path)
    info = read_metadata(onnx.load(str(path)))
    session = _session(path)
    check_io(info, _specs(session.get_inputs()), _specs(session.get_outputs()))
    assert info.latent_kind == "spatial" and info.tileable and info.pixels_per_cell == 4
    assert info.classes == ("brick", "grass", "gravel")
    assert info.algorithm == "wgan-gp-conditional" and info.architecture == "cgan-spatial-wgan-gp"
    assert info.training_steps == 2 and info.native_height == 16 and info.channels == 3
    assert {"swd", "memorisation_ratio", "seam_score"} <= set(info.metrics)
    assert info.dataset.startswith("6 images from " + str(run.parent.parent / "textures")) and info.data_license
    card = (run / "model-card.md").read_text()
    assert "texgen train --recipe cgan-spatial-wgan-gp" in card and "brick, grass, gravel" in card
    assert "| swd |" in card and "Measured by the trainer at the end of the run, 16 samples" in card


def test_onnxruntime_matches_torch_at_a_grid_size_never_exported(spatial_run):
    run, _ = spatial_run
    G, spec = _torch_generator(run)
    z = torch.randn(2, spec.latent_size, 5, 7, generator=torch.Generator().manual_seed(5))
    label = torch.tensor([2, 0])
    with torch.no_grad():
        expected = G(z, label).numpy()
    got = _session(run / "generator.onnx").run(["image"], {"z": z.numpy(), "label": label.numpy()})[0]
    assert got.shape == (2, 3, 20, 28)
    assert np.abs(got - expected).max() < 1e-4


def test_exported_spatial_model_wraps_with_no_seam(spatial_run):
    run, _ = spatial_run
    session = _session(run / "generator.onnx")
    z = np.random.default_rng(1).standard_normal((1, 8, 5, 7)).astype(np.float32)
    label = np.array([1], np.int64)

    def image(latent):
        return session.run(["image"], {"z": latent, "label": label})[0][0]

    x = image(z)
    s = 4
    # Rolling the latent grid by one cell rolls the image by exactly s pixels: every pixel,
    # the wrapped border included, is computed like an interior one.
    np.testing.assert_allclose(image(np.roll(z, (1, 1), axis=(2, 3))), np.roll(x, (s, s), axis=(1, 2)), atol=1e-5)
    # The image tiled 2x2 is what a latent tiled 2x2 generates: no seam where the tiles meet.
    np.testing.assert_allclose(image(np.tile(z, (1, 1, 2, 2))), np.tile(x, (1, 2, 2)), atol=1e-5)
    # And the wrap-around step (last column to first) is as large as steps inside the image.
    wrap = np.abs(x[:, :, 0] - x[:, :, -1]).mean()
    inner = np.abs(np.diff(x, axis=2)).mean()
    assert wrap < 2.0 * inner


def test_export_cli_renames_and_writes_a_card(spatial_run, tmp_path, capsys):
    run, _ = spatial_run
    out = tmp_path / "gravel.onnx"
    args = [str(run), "--out", str(out), "--name", "my gravel", "--description", "gravel from the course network"]
    assert export_main(args) == 0
    assert capsys.readouterr().out.strip() == str(out)
    info = read_metadata(onnx.load(str(out)))
    assert (info.name, info.description) == ("my gravel", "gravel from the course network")
    assert (tmp_path / "gravel.md").read_text().startswith("# my gravel\n\ngravel from the course network\n")


def test_export_out_names_a_file_or_a_folder_never_a_file_named_like_a_folder(spatial_run, tmp_path, capsys):
    """`--out models/` makes the folder and writes generator.onnx in it (it wrote a file named
    `models`); `--out models` that is no folder and no .onnx is refused, naming both readings."""
    run, _ = spatial_run
    assert export_main([str(run), "--out", str(tmp_path / "models") + os.sep]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "models" / "generator.onnx")
    assert (tmp_path / "models" / "model-card.md").is_file()
    assert export_main([str(run), "--out", str(tmp_path / "other")]) == 2
    err = capsys.readouterr().err
    assert "is neither an .onnx file nor an existing folder" in err and err.count("\n") == 1
    assert not (tmp_path / "other").exists()
    assert export_main([str(run), "--out", str(tmp_path / "models")]) == 0  # an existing folder, no slash needed
    # A refused export leaves no folder it made behind.
    assert export_main([str(tmp_path / "no-such-run"), "--out", str(tmp_path / "new" / "deeper") + os.sep]) == 2
    assert not (tmp_path / "new").exists()


def test_vector_model_export_has_dynamic_batch(tmp_path):
    cfg = dataclasses.replace(get_recipe("lanham-wgan-32"), data="cifar100:forest")
    torch.manual_seed(0)
    G = build_generator(cfg.net_spec())
    G.train()(torch.randn(16, 100))  # move the BatchNorm statistics off their initial values
    ckpt = save_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt", cfg, {"step": 7, "G": G.state_dict()},
                           data={"description": "CIFAR-100 forest", "license": "see CIFAR", "class_names": []})  # fmt: skip
    path = export_generator(ckpt)
    assert path == tmp_path / "run" / "generator.onnx"
    session = _session(path)
    info = read_metadata(onnx.load(str(path)))
    check_io(info, _specs(session.get_inputs()), _specs(session.get_outputs()))
    assert info.latent_kind == "vector" and not info.tileable and info.native_width == 32
    assert info.algorithm == "wgan" and info.training_steps == 7 and info.latent_size == 100
    z = np.random.default_rng(2).standard_normal((5, 100)).astype(np.float32)
    with torch.no_grad():
        expected = G.eval()(torch.from_numpy(z)).numpy()
    got = session.run(["image"], {"z": z})[0]
    assert got.shape == (5, 3, 32, 32) and np.abs(got - expected).max() < 1e-4


def test_a_class_affine_generator_exports_and_each_class_steers_every_layer(tmp_path):
    # A conditional spatial generator whose class also scales and shifts every PixelNorm's
    # channels: onnxruntime computes what torch does, for every class.
    cfg = dataclasses.replace(get_recipe("spatial-dcgan"), data="textures", conditional=True, class_affine=True,
                              crop=16, latent_size=8, g_width=8, d_width=8, upsamples=2, embed_dim=4)  # fmt: skip
    spec = cfg.net_spec(3)
    torch.manual_seed(3)
    G = build_generator(spec)
    assert len(G.affines) == 2 * spec.upsamples
    with torch.no_grad():  # trained affines are not the identity they start as
        for p in G.affines.parameters():
            p.normal_(0.0, 0.5)
    ckpt = save_checkpoint(tmp_path / "run" / "checkpoints" / "latest.pt", cfg, {"step": 3, "G": G.state_dict()},
                           data={"description": "three", "license": "CC0", "class_names": ["a", "b", "c"]})  # fmt: skip
    session = _session(export_generator(ckpt))
    z = np.random.default_rng(4).standard_normal((3, 8, 3, 5)).astype(np.float32)
    label = np.array([0, 1, 2], np.int64)
    with torch.no_grad():
        expected = G.eval()(torch.from_numpy(z), torch.from_numpy(label)).numpy()
        plain = G.eval()(torch.from_numpy(z), torch.zeros(3, dtype=torch.int64)).numpy()
    got = session.run(["image"], {"z": z, "label": label})[0]
    assert got.shape == (3, 3, 12, 20) and np.abs(got - expected).max() < 1e-4
    assert np.abs(expected[1:] - plain[1:]).mean() > 0.01  # the same latent, another class: another image


def test_a_failed_parity_check_writes_nothing(spatial_run, tmp_path, monkeypatch):
    run, _ = spatial_run
    monkeypatch.setattr(export_module, "TOLERANCE", -1.0)  # any difference at all fails
    out = tmp_path / "never.onnx"
    assert export_main([str(run), "--out", str(out)]) == 2
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("make", ["missing", "not a checkpoint"])
def test_export_of_a_bad_path_is_one_line_and_exit_2(tmp_path, capsys, make):
    target = tmp_path / "nothing"
    if make == "not a checkpoint":
        target = tmp_path / "x.pt"
        target.write_bytes(b"not a checkpoint")
    assert export_main([str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
