"""The CUDA training path on a real GPU: mixed precision, channels-last, the data set kept on
the GPU, and an export that onnxruntime runs as torch computes it. CI has no GPU: these skip
there, and run wherever one is lent (`python -m pytest tests/training/test_train_cuda.py`)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from train_helpers import Events, cifar_archive, texture_folder, tiny

from trainer.checkpoint import load_checkpoint
from trainer.distributed import Dist
from trainer.loop import _open_data, train
from trainer.networks import build_generator
from trainer.state import make_state, pick_amp

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_a_conditional_run_on_cuda_trains_in_mixed_precision_and_exports_what_torch_computes(tmp_path):
    data = texture_folder(tmp_path / "textures", classes=True)
    cfg = tiny("cgan-spatial-wgan-gp", data, tmp_path / "runs", channels=3, device="cuda", amp="bf16", steps=6)
    events = Events()
    run = train(cfg, events)
    (done,) = events.of("done")
    assert done["step"] == 6 and (run / "generator.onnx").is_file()
    assert all(np.isfinite(v) for e in events.of("step") for v in e["losses"].values())
    ckpt = load_checkpoint(run, "cpu")
    assert ckpt["device"] == torch.cuda.get_device_name(0)
    # The exported graph (onnxruntime on the CPU) against the averaged generator in torch.
    spec = ckpt["config"].net_spec(len(ckpt["data"]["class_names"]))
    G = build_generator(spec)
    G.load_state_dict(ckpt["G_ema"])
    G.eval()
    z = torch.randn(2, spec.latent_size, 3, 3, generator=torch.Generator().manual_seed(0))
    label = torch.tensor([0, 2])
    with torch.no_grad():
        want = G(z, label).numpy()
    session = ort.InferenceSession(str(run / "generator.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(["image"], {"z": z.numpy(), "label": label.numpy()})[0]
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_a_same_size_data_set_is_kept_on_the_gpu_and_batches_come_channels_last(tmp_path):
    archive = cifar_archive(tmp_path / "cifar", per_class=8)
    cfg = tiny("lanham-wgan-32", f"cifar100:forest@{archive}", tmp_path / "runs", crop=32, device="cuda")
    data = _open_data(cfg, lambda m: None)
    s = make_state(cfg, data, torch.device("cuda", 0), Dist())
    assert s.feed.resident and s.feed.images.is_cuda
    x, y = s.feed.next()
    assert x.is_cuda and y.is_cuda and x.is_contiguous(memory_format=torch.channels_last)
    # Mixed precision where the GPU computes bf16 natively (Ampere and later), else none: a
    # step runs its networks in that precision.
    native = torch.cuda.get_device_capability(0) >= (8, 0)
    assert s.amp_dtype is (torch.bfloat16 if native else None) and pick_amp("bf16", s.device) is s.amp_dtype
    with s.autocast():
        out = s.G(s.latents(2))
    assert out.dtype == (torch.bfloat16 if native else torch.float32)
