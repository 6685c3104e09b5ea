"""Tiny real training runs on CPU: every algorithm, every data source, the run folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image
from train_helpers import Events, cifar_archive, dem_path, texture_folder, tiny

from texgen.metadata import read_metadata
from trainer.checkpoint import load_checkpoint
from trainer.config import load_config
from trainer.feed import BatchFeed
from trainer.loop import train

torch.set_num_threads(1)  # tiny networks on shared cores: threads only contend


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return {
        "folder": texture_folder(root / "textures"),
        "classes": texture_folder(root / "classes", classes=True),
        "cifar": cifar_archive(root / "cifar"),
    }


def _metadata(run):
    return read_metadata(onnx.load(str(run / "generator.onnx")))


def test_dcgan_on_an_image_folder_fills_the_run_folder(data, tmp_path):
    cfg = tiny("foster-dcgan-64", data["folder"], tmp_path, channels=1, n_critic=1, steps=3,
               sample_every=2, checkpoint_every=2, eval_every=2)  # fmt: skip
    events = Events()
    run = train(cfg, events)
    assert run.parent == tmp_path and run.name == "00000-foster-dcgan-64-textures"
    # Events in order, each where the schema says.
    kinds = events.kinds()
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert [e["step"] for e in events.of("step")] == [1, 2, 3]
    assert [e["step"] for e in events.of("eval")] == [2, 3]
    assert [e["step"] for e in events.of("sample")] == [2, 3]
    saved = [(e["step"], Path(e["path"]).name) for e in events.of("checkpoint")]
    assert [step for step, name in saved if name == "latest.pt"] == [2, 3]
    assert [name for step, name in saved if step == 2][0] == "best.pt"  # the first evaluation is the lowest so far
    assert set(events.of("step")[0]["losses"]) == {"d", "g"}
    assert events.of("done")[0]["stopped_early"] is False
    # The folder: config, stats, grids, plot, checkpoint, model and card.
    assert load_config(run / "config.json") == cfg
    stats = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in stats] == [1, 2, 3] and "metrics" in stats[1] and "swd" in stats[2]["metrics"]
    grid = Image.open(run / "samples" / "step-000003.png")
    assert grid.mode == "L" and grid.size == (8 * 18 + 2, 4 * 18 + 2)  # 32 samples of 16 px, 2 px gaps
    assert Image.open(run / "plot.png").size[0] > 100
    ckpt = load_checkpoint(run)
    assert ckpt["step"] == 3 and ckpt["metrics"] == events.of("eval")[-1]["metrics"]
    info = _metadata(run)
    assert info.algorithm == "dcgan" and info.channels == 1 and info.kind == "texture"
    assert info.metrics["swd"] == pytest.approx(stats[-1]["metrics"]["swd"])


def test_wgan_on_a_cifar_archive_clips_and_steps_the_generator_once_per_n_critic(data, tmp_path):
    cfg = tiny("lanham-wgan-32", f"cifar100:forest@{data['cifar']}", tmp_path, steps=3, n_critic=4, crop=32)
    events = Events()
    run = train(cfg, events)
    ckpt = load_checkpoint(run)
    # Critic weights inside the clip; the printed course loop stepped G n_critic times: not here.
    assert (
        max(v.abs().max().item() for k, v in ckpt["D"].items() if "running" not in k and "num_batches" not in k) <= 0.01
    )
    assert ckpt["opt_g"]["state"][0]["step"] == 3
    assert ckpt["opt_d"]["state"][0]["step"] == 12
    assert set(events.of("step")[-1]["losses"]) == {"d", "g", "wasserstein"}
    info = _metadata(run)
    assert info.dataset.startswith("CIFAR-100 fine class 33 'forest'") and info.native_height == 32
    assert "seam_score" not in info.metrics and not info.tileable


def test_wgan_gp_heightmap_from_a_dem(tmp_path):
    cfg = tiny("spatial-wgan-gp", dem_path(), tmp_path, kind="heightmap", channels=1, crop=32)
    events = Events()
    run = train(cfg, events)
    losses = events.of("step")[-1]["losses"]
    assert set(losses) == {"d", "g", "wasserstein", "gp"} and losses["gp"] >= 0
    info = _metadata(run)
    assert info.kind == "heightmap" and info.channels == 1 and info.tileable
    assert "seam_score" in info.metrics and "jacksboro" in info.dataset


@pytest.mark.slow
def test_conditional_wgan_gp_on_cifar_classes(data, tmp_path):
    spec = f"cifar100:forest,sea,mountain@{data['cifar']}"
    cfg = tiny("cgan-wgan-gp-64", spec, tmp_path, crop=32, conditional=True)
    run = train(cfg, Events())
    info = _metadata(run)
    assert info.classes == ("forest", "sea", "mountain") and info.algorithm == "wgan-gp-conditional"
    grid = Image.open(run / "samples" / "step-000002.png")
    assert grid.size == (8 * 34 + 2, 3 * 34 + 2)  # one row per class, 8 shared latents


ALL, FLIPS = set(range(8)), {0, 2, 4, 6}


@pytest.mark.parametrize(
    "augment, allowed", [(True, [ALL, ALL]), ("flips", [FLIPS, FLIPS]), ("all,sea:flips", [ALL, FLIPS])]
)
def test_resident_feed_draws_every_symmetry_and_balances_classes(data, augment, allowed):
    from trainer.data import open_dataset

    ds = open_dataset(f"cifar100:forest,sea@{data['cifar']}", classes=True, crop=32, log=lambda m: None)
    feed = BatchFeed(ds, crop=16, batch=400, augment=augment, device=torch.device("cpu"),
                     rng=np.random.default_rng(0))  # fmt: skip
    assert feed.resident
    x, y = feed.next()
    assert x.shape == (400, 3, 16, 16) and x.dtype == torch.float32 and x.is_contiguous()
    assert 150 < int((y == 0).sum()) < 250  # two classes, picked uniformly
    # Every crop is one of the 8 symmetries of a 16x16 window of some training image: looked
    # up by its bytes among every window's (a crop is a copy of float32 pixels, bit for bit).
    images = torch.from_numpy(ds.stacked())
    assert images.dtype == x.dtype
    windows = images.unfold(2, 16, 1).unfold(3, 16, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, 3, 16, 16)
    known = {w.contiguous().numpy().tobytes() for w in windows}
    seen = [set(), set()]  # per class
    for crop, label in zip(x[:48], y[:48]):
        for k in range(8):  # ImageSet.batch's op k: rot90 k % 4 times, then mirrored when k >= 4
            view = torch.rot90(crop, k % 4, (1, 2))
            view = view.flip(2) if k >= 4 else view
            if view.contiguous().numpy().tobytes() in known:
                seen[int(label)].add(k)
                break
        else:
            pytest.fail("a crop is not a symmetry of any training window")
    for got, want in zip(seen, allowed):
        assert got <= want and len(got) >= min(5, len(want))  # flips: never a quarter-turn


def test_a_time_budget_alone_ends_the_run(data, tmp_path):
    cfg = tiny("spatial-dcgan", data["folder"], tmp_path, channels=1, steps=None, minutes=0.0005, n_critic=1)
    events = Events()
    run = train(cfg, events)
    start, done = events.of("start")[0], events.of("done")[0]
    assert start["total_steps"] is None and start["minutes"] == 0.0005
    assert done["stopped_early"] is False and done["step"] >= 1  # the budget is not a user stop
    assert events.of("step")[-1]["eta_s"] == 0.0 and (run / "generator.onnx").is_file()


def test_flat_samples_are_a_collapse_only_when_every_image_is_flat():
    from trainer.loop import flat_samples

    rng = np.random.default_rng(0)
    assert flat_samples(np.full((4, 1, 8, 8), 0.7, np.float32))
    assert not flat_samples(rng.uniform(-1, 1, (4, 3, 8, 8)))
    one_alive = np.zeros((3, 1, 8, 8), np.float32)
    one_alive[1] = rng.uniform(-1, 1, (1, 8, 8))
    assert not flat_samples(one_alive)
    # Flat per channel: one orange, or a material whose every map is one (different) value.
    orange = np.broadcast_to(np.array([0.9, 0.3, -0.5], np.float32)[None, :, None, None], (4, 3, 8, 8))
    assert flat_samples(orange)
    maps = np.broadcast_to(np.linspace(-0.8, 0.8, 9, dtype=np.float32)[None, :, None, None], (4, 9, 8, 8)).copy()
    assert flat_samples(maps)
    maps[2, 6] += rng.uniform(-0.5, 0.5, (8, 8))  # one map of one sample has detail
    assert not flat_samples(maps)


def test_a_collapsed_generator_is_reported_once_and_the_run_goes_on(data, tmp_path, monkeypatch, capsys):
    """The sample grid turns flat (as in a collapsed DCGAN): one warning event, also on stderr."""
    from trainer import loop

    generate = loop._Samples.generate
    monkeypatch.setattr(loop._Samples, "generate", lambda self, z, labels: np.zeros_like(generate(self, z, labels)))
    cfg = tiny("spatial-dcgan", data["folder"], tmp_path, steps=4, n_critic=1, sample_every=2)
    events = Events()
    train(cfg, events)
    warnings = events.of("warning")
    assert [w["step"] for w in warnings] == [2] and "collapsed at step 2" in warnings[0]["message"]
    # Its advice is half the run's own learning rates, never the rates it already has.
    assert f"--set lr_g={cfg.lr_g / 2:g} --set lr_d={cfg.lr_d / 2:g}" in warnings[0]["message"]
    assert events.kinds()[-1] == "done"
    assert capsys.readouterr().err.count("warning: the generator has collapsed") == 1


def test_both_feed_paths_refuse_an_unknown_augment():
    from texgen.errors import RequestError  # noqa: PLC0415
    from trainer.data import ImageSet  # noqa: PLC0415

    images = ImageSet([np.zeros((1, 8, 8), np.float32)], np.zeros(1, np.int64), (), "flat", "none")
    with pytest.raises(RequestError, match="augment 'sideways' is not one of all, flips, none"):
        BatchFeed(images, crop=4, batch=2, augment="sideways", device=torch.device("cpu"), rng=np.random.default_rng(0))


def test_bf16_mixed_precision_only_where_the_gpu_computes_it_and_auto_is_float32(monkeypatch):
    """torch.cuda.is_bf16_supported() counts emulation by default (true on a V100 or T4, where
    bf16 runs slower than float32): bf16 must ask for native support. auto is float32 (faster
    for these networks on an H200). No GPU is needed: the choice is made from torch's answer."""
    from trainer.state import pick_amp  # noqa: PLC0415

    cuda = torch.device("cuda", 0)

    def pre_ampere(including_emulation: bool = True) -> bool:
        return including_emulation  # emulated, not native

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", pre_ampere)
    assert pick_amp("bf16", cuda) is None and pick_amp("fp16", cuda) is torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)  # Ampere and later
    assert pick_amp("bf16", cuda) is torch.bfloat16
    assert pick_amp("auto", cuda) is None and pick_amp("off", cuda) is None
    assert pick_amp("bf16", torch.device("cpu")) is None
    # torch before 2.4 has no including_emulation argument (and counted no emulation).
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert pick_amp("bf16", cuda) is None


@pytest.mark.slow
def test_the_moving_average_is_saved_with_batchnorm_statistics_of_its_own(data, tmp_path):
    """Foster's generator has BatchNorm. The averaged generator (what is sampled and exported)
    must normalise with statistics of its own outputs, not with the live generator's, which
    update_ema copies and which belong to other weights."""
    from trainer.networks import build_generator  # noqa: PLC0415

    cfg = tiny("wgan-gp-64", data["folder"], tmp_path / "runs", steps=6, ema_halflife=200.0, lr_g=1e-3)
    ckpt = load_checkpoint(train(cfg))
    spec = ckpt["config"].net_spec(0)
    G = build_generator(spec)
    G.load_state_dict(ckpt["G_ema"])
    for m in G.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    G.train()
    with torch.no_grad():  # measured afresh, on other latents than the trainer's
        G(torch.randn(2048, spec.latent_size, generator=torch.Generator().manual_seed(99)))
    own = {k: v for k, v in G.state_dict().items() if k.endswith("running_var")}
    assert own
    saved = [float((ckpt["G_ema"][k] / v).median()) for k, v in own.items()]
    live = [float((ckpt["G"][k] / v).median()) for k, v in own.items()]
    assert all(0.9 < r < 1.1 for r in saved), saved
    assert max(live) > 1.3, live  # the live generator's statistics are far off: the check can fail
