"""Tiny real generators for the runtime tests, built with torch and exported to ONNX.

They are random-weight networks of the two families the contract describes: a vector-latent
generator with a dense layer (fixed size) and a fully convolutional spatial generator with
wrap padding made of explicit `torch.cat` of borders (tileable at any grid size). They are
small enough to export in a fraction of a second, and run by onnxruntime like any model.
"""

from __future__ import annotations

import io
from pathlib import Path

import onnx
import torch
from torch import nn

from texgen.metadata import GeneratorInfo, write_metadata


def wrap_pad(x: torch.Tensor, p: int) -> torch.Tensor:
    """Circular padding by explicit concatenation (exports exactly to ONNX)."""
    x = torch.cat([x[:, :, -p:], x, x[:, :, :p]], dim=2)
    return torch.cat([x[:, :, :, -p:], x, x[:, :, :, :p]], dim=3)


class VectorGen(nn.Module):
    def __init__(self, z: int, c: int, size: int, classes: int = 0) -> None:
        super().__init__()
        self.size, self.c = size, c
        self.embed = nn.Embedding(classes, z) if classes else None
        self.fc = nn.Linear(z, 8 * (size // 4) ** 2)
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, c, 3, padding=1)

    def forward(self, z, label=None):
        if self.embed is not None:
            z = z * self.embed(label)
        x = torch.relu(self.fc(z)).view(-1, 8, self.size // 4, self.size // 4)
        x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        x = torch.relu(self.conv1(x))
        x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        return torch.tanh(self.conv2(x))


class SpatialGen(nn.Module):
    """z [N, Z, h, w] -> image [N, C, 4h, 4w], periodic in both axes."""

    def __init__(self, z: int, c: int, classes: int = 0) -> None:
        super().__init__()
        self.embed = nn.Embedding(classes, z) if classes else None
        self.conv0 = nn.Conv2d(z, 16, 3)
        self.conv1 = nn.Conv2d(16, 16, 3)
        self.conv2 = nn.Conv2d(16, c, 3)

    def forward(self, z, label=None):
        if self.embed is not None:
            z = z * self.embed(label)[:, :, None, None]
        x = torch.relu(self.conv0(wrap_pad(z, 1)))
        x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        x = torch.relu(self.conv1(wrap_pad(x, 1)))
        x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        return torch.tanh(self.conv2(wrap_pad(x, 1)) * 2.0)


def export(
    module: nn.Module,
    path: Path,
    info: GeneratorInfo | None,
    *,
    spatial: bool,
    conditional: bool,
    z: int,
    metadata: bool = True,
) -> Path:
    """Export `module` to `path` with texgen metadata `info` (or none at all)."""
    torch.manual_seed(0)
    module.eval()
    shape = (2, z, 3, 3) if spatial else (2, z)
    args = (torch.randn(shape),) + ((torch.zeros(2, dtype=torch.long),) if conditional else ())
    names = ["z"] + (["label"] if conditional else [])
    axes = {
        "z": {0: "n", 2: "h", 3: "w"} if spatial else {0: "n"},
        "image": {0: "n", 2: "H", 3: "W"} if spatial else {0: "n"},
    }
    if conditional:
        axes["label"] = {0: "n"}
    buf = io.BytesIO()
    torch.onnx.export(
        module, args, buf, dynamo=False, input_names=names, output_names=["image"], dynamic_axes=axes, opset_version=17
    )
    model = onnx.load_model_from_string(buf.getvalue())
    if info is not None and metadata:
        write_metadata(model, info)
    onnx.save(model, path)
    return path


def make_vector(
    path: Path,
    *,
    channels: int = 3,
    size: int = 16,
    z: int = 8,
    classes: tuple[str, ...] = (),
    kind: str | None = None,
    metadata: bool = True,
) -> Path:
    torch.manual_seed(1)
    module = VectorGen(z, channels, size, len(classes))
    info = GeneratorInfo(
        name=path.stem,
        kind=kind or ("heightmap" if channels == 1 else "texture"),
        channels=channels,
        latent_kind="vector",
        latent_size=z,
        native_height=size,
        native_width=size,
        classes=classes,
        algorithm="wgan",
        architecture="test-vector",
        dataset="random weights",
        data_license="none",
    )
    return export(module, path, info, spatial=False, conditional=bool(classes), z=z, metadata=metadata)


def make_spatial(
    path: Path,
    *,
    channels: int = 3,
    z: int = 4,
    classes: tuple[str, ...] = (),
    kind: str | None = None,
    metadata: bool = True,
) -> Path:
    torch.manual_seed(2)
    module = SpatialGen(z, channels, len(classes))
    info = GeneratorInfo(
        name=path.stem,
        kind=kind or ("heightmap" if channels == 1 else "texture"),
        channels=channels,
        latent_kind="spatial",
        latent_size=z,
        native_height=32,
        native_width=32,
        pixels_per_cell=4,
        tileable=True,
        classes=classes,
        algorithm="wgan-gp",
        architecture="test-spatial",
        dataset="random weights",
        data_license="none",
    )
    return export(module, path, info, spatial=True, conditional=bool(classes), z=z, metadata=metadata)


def make_material(path: Path, *, maps: tuple[str, ...] = ("albedo", "height", "roughness", "ao"), z: int = 4) -> Path:
    """A spatial material generator (texgen.materials layout) making `maps`, channels stacked."""
    from texgen.materials import layout_of

    names, spaces = layout_of(maps)
    torch.manual_seed(3)
    module = SpatialGen(z, len(names))
    info = GeneratorInfo(
        name=path.stem,
        kind="material",
        channels=len(names),
        latent_kind="spatial",
        latent_size=z,
        native_height=32,
        native_width=32,
        pixels_per_cell=4,
        tileable=True,
        algorithm="wgan-gp",
        architecture="test-spatial",
        dataset="random weights",
        data_license="none",
        channel_names=names,
        channel_spaces=spaces,
    )
    return export(module, path, info, spatial=True, conditional=False, z=z)


class _NotAGenerator(nn.Module):
    def forward(self, x):
        return x.sum(dim=1)


def make_not_generator(path: Path) -> Path:
    """A valid ONNX model whose output is [N] (a classifier-like graph, not a generator)."""
    buf = io.BytesIO()
    torch.onnx.export(
        _NotAGenerator(),
        (torch.randn(2, 5),),
        buf,
        dynamo=False,
        input_names=["x"],
        output_names=["y"],
        opset_version=17,
    )
    path.write_bytes(buf.getvalue())
    return path


class _NanGen(nn.Module):
    def forward(self, z):
        x = z.view(-1, 1, 1, 1).repeat(1, 1, 4, 4)[:1].repeat(z.shape[0], 1, 1, 1)
        return torch.log(x * 0.0 - 1.0)  # log of a negative number: NaN everywhere


def make_nan(path: Path) -> Path:
    info = GeneratorInfo(name="nan", channels=1, kind="heightmap", latent_size=1, native_height=4, native_width=4)
    return export(_NanGen(), path, info, spatial=False, conditional=False, z=1)


def check_periodic_and_exact(g: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Assert what every spatial generator owes the contract and return g(z): rolling its
    latent grid by (2, 1) cells rolls the image by as many cells' pixels, a 2x2 repeat of the
    grid gives the 2x2 tiled image, and exported to ONNX it gives torch's numbers in
    onnxruntime at grid sizes it was not exported at."""
    import numpy as np
    import onnxruntime as ort

    with torch.no_grad():
        out = g(z)
        rolled = g(torch.roll(z, (2, 1), dims=(2, 3)))
        tiled = g(z.repeat(1, 1, 2, 2))
    cell = out.shape[2] // z.shape[2]
    torch.testing.assert_close(rolled, torch.roll(out, (2 * cell, cell), dims=(2, 3)), rtol=0, atol=1e-5)
    torch.testing.assert_close(tiled, out.repeat(1, 1, 2, 2), rtol=0, atol=1e-5)
    buf = io.BytesIO()
    torch.onnx.export(g, (torch.randn(1, z.shape[1], 4, 4),), buf, dynamo=False, input_names=["z"],
                      output_names=["image"], opset_version=17,
                      dynamic_axes={"z": {0: "n", 2: "h", 3: "w"}, "image": {0: "n", 2: "H", 3: "W"}})  # fmt: skip
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for h, w in ((1, 1), (2, 3), (5, 9)):
        z2 = torch.randn(1, z.shape[1], h, w)
        with torch.no_grad():
            ref = g(z2).numpy()
        got = session.run(None, {"z": z2.numpy()})[0]
        assert got.shape == (1, out.shape[1], cell * h, cell * w) and np.abs(got - ref).max() < 1e-4
    return out
