"""The spatial generator's optional blur after upsampling: periodic, and exact through ONNX."""

import io

import numpy as np
import onnxruntime as ort
import torch

from trainer.networks import NetSpec, build_generator


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
