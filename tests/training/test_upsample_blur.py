"""The spatial generator's optional blur after upsampling: periodic, and exact through ONNX."""

import io

import numpy as np
import onnxruntime as ort
import pytest
import torch

from texgen.errors import RequestError
from trainer.config import TrainConfig, check_config
from trainer.networks import NetSpec, build_generator
from trainer.networks.layers import WrapBlur


def test_blurred_generator_is_periodic_and_exports_exactly():
    torch.manual_seed(0)
    spec = NetSpec(
        family="spatial", channels=1, latent_size=8, resolution=32, g_width=8, upsamples=3, upsample_blur=True
    )
    g = build_generator(spec).eval()
    plain = build_generator(NetSpec(**{**spec.__dict__, "upsample_blur": False})).eval()
    assert sum(p.numel() for p in g.parameters()) == sum(p.numel() for p in plain.parameters())  # the blur is fixed
    z = torch.randn(2, 8, 3, 5)
    with torch.no_grad():
        out = g(z)
        rolled = g(torch.roll(z, 1, dims=3))
    # Rolling the latent grid by one cell rolls the image by 8 px: periodic, no seam.
    assert torch.allclose(torch.roll(out, 8, dims=3), rolled, atol=1e-5)
    buf = io.BytesIO()
    torch.onnx.export(
        g,
        (z,),
        buf,
        dynamo=False,
        input_names=["z"],
        output_names=["image"],
        dynamic_axes={"z": {0: "n", 2: "h", 3: "w"}, "image": {0: "n", 2: "H", 3: "W"}},
        opset_version=17,
    )
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    z2 = torch.randn(1, 8, 4, 7)
    with torch.no_grad():
        ref = g(z2).numpy()
    got = session.run(None, {"z": z2.numpy()})[0]
    assert got.shape == (1, 1, 32, 56) and np.abs(got - ref).max() < 1e-4
    # Less energy at the highest frequency (the checkerboard) than without the blur, same weights.
    plain.load_state_dict(g.state_dict(), strict=False)
    with torch.no_grad():
        rough = plain(z2).numpy()
    checker = lambda a: np.abs(np.diff(a, 2, axis=3)).mean()  # noqa: E731
    assert checker(ref) < checker(rough)


def test_blur_last_false_blurs_the_inner_upsamplings_only():
    torch.manual_seed(0)
    spec = NetSpec(
        family="spatial", channels=1, latent_size=8, resolution=32, g_width=8, upsamples=3,
        upsample_blur=True, blur_last=False,
    )  # fmt: skip
    g = build_generator(spec).eval()
    blurred = [any(isinstance(m, WrapBlur) for m in block) for block in g.blocks]
    assert blurred == [True, True, False]
    z = torch.randn(1, 8, 3, 4)
    with torch.no_grad():
        out = g(z)
        rolled = g(torch.roll(z, 1, dims=2))
    assert torch.allclose(torch.roll(out, 8, dims=2), rolled, atol=1e-5)  # still periodic
    buf = io.BytesIO()
    torch.onnx.export(
        g, (z,), buf, dynamo=False, input_names=["z"], dynamic_axes={"z": {2: "h", 3: "w"}}, opset_version=17
    )
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    z2 = torch.randn(1, 8, 2, 5)
    with torch.no_grad():
        assert np.abs(session.run(None, {"z": z2.numpy()})[0] - g(z2).numpy()).max() < 1e-4


def test_blur_last_without_the_blur_is_refused():
    with pytest.raises(RequestError, match="set upsample_blur=true too"):
        check_config(TrainConfig(architecture="spatial", upsample_blur=False, blur_last=False, steps=1))
