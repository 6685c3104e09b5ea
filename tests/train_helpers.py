"""Real data and tiny settings for the trainer's tests (imported by tests/test_train_*.py).

Data: scikit-image's CC0 photographic textures (gravel, brick, grass), matplotlib's USGS
elevation model, and a CIFAR-100 archive in the official layout whose images are 32x32 crops
of those textures (no CIFAR download is possible here).
"""

from __future__ import annotations

import dataclasses
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from texgen.errors import RequestError
from trainer.config import TrainConfig, check_config
from trainer.recipes import get_recipe

TEXTURES = ("gravel", "brick", "grass")


def texture(name: str) -> np.ndarray:
    """A 512x512 uint8 grey photograph of a texture (CC0, via scikit-image)."""
    import skimage.data

    return getattr(skimage.data, name)()


def texture_folder(root: Path, *, classes: bool = False) -> Path:
    """Images of the three textures; with `classes`, one sub-folder per texture."""
    root.mkdir(parents=True, exist_ok=True)
    for name in TEXTURES:
        folder = root / name if classes else root
        folder.mkdir(exist_ok=True)
        img = texture(name)
        Image.fromarray(img[:256, :256]).save(folder / f"{name}-a.png")
        Image.fromarray(np.stack([img[256:, 256:]] * 3, axis=-1)).save(folder / f"{name}-b.jpg", quality=95)
    return root


def dem_path() -> Path:
    """The Jacksboro fault elevation model (344x403 int16, USGS, public domain)."""
    from matplotlib import cbook

    return Path(cbook.get_sample_data("jacksboro_fault_dem.npz", asfileobj=False))


# Fine label indices of the official CIFAR-100 (meta file order) used by the archive below.
FINE = {"forest": 33, "sea": 71, "mountain": 49}


def cifar_archive(root: Path, per_class: int = 12) -> Path:
    """A cifar-100-python.tar.gz in the official layout (Python pickles of uint8 rows,
    1024 red then 1024 green then 1024 blue), images cut from the real textures."""
    from trainer.data.cifar100_names import COARSE_LABEL_NAMES, FINE_LABEL_NAMES

    rng = np.random.default_rng(0)
    rows, fine = [], []
    for (name, label), tex in zip(FINE.items(), TEXTURES):
        img = texture(tex)
        for _ in range(per_class):
            y, x = rng.integers(0, 512 - 32, size=2)
            patch = img[y : y + 32, x : x + 32].astype(np.uint8)
            rgb = np.stack([patch, (patch * 0.8).astype(np.uint8), (patch * 0.6).astype(np.uint8)])
            rows.append(rgb.reshape(-1))
            fine.append(label)

    def split(n: int) -> dict:
        return {
            "filenames": [f"img_{i:05d}.png" for i in range(n)],
            "batch_label": "training batch 1 of 1",
            "fine_labels": fine[:n],
            "coarse_labels": [10] * n,
            "data": np.stack(rows[:n]),
        }

    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    members = {
        "meta": {"fine_label_names": list(FINE_LABEL_NAMES), "coarse_label_names": list(COARSE_LABEL_NAMES)},
        "train": split(len(rows)),
        "test": split(3),
    }
    for member, value in members.items():
        (folder / member).write_bytes(pickle.dumps(value, protocol=2))
    tgz = root / "cifar-100-python.tar.gz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(folder, arcname="cifar-100-python")
    return tgz


def tiny(preset: str, data: Path | str, out: Path, **changes) -> TrainConfig:
    """A preset shrunk to seconds on a CPU: 16 px crops, narrow networks, two steps. On the
    CPU even where CUDA is present, so that the tests' exact figures hold on any machine (the
    CUDA path has its own tests, which skip without a GPU)."""
    base = dict(
        data=str(data), out=str(out), crop=16, batch=8, steps=2, n_critic=2, latent_size=8,
        g_width=8, d_width=8, upsamples=2, embed_dim=4, sample_every=0, checkpoint_every=0,
        eval_every=0, eval_samples=16, log_seconds=0.0, threads=1, device="cpu",
    )  # fmt: skip
    base.update(changes)
    return dataclasses.replace(get_recipe(preset), **base)


def spatial_config_problems(**changes) -> str:
    """The message check_config refuses a spatial-family TrainConfig with `changes` with (the
    test fails if it is accepted)."""
    with pytest.raises(RequestError) as info:
        check_config(TrainConfig(data="x", architecture="spatial", **changes))
    return str(info.value)


class Events(list):
    """An on_progress callback that keeps the events."""

    def __call__(self, event: dict) -> None:
        self.append(event)

    def kinds(self) -> list[str]:
        return [e["event"] for e in self]

    def of(self, kind: str) -> list[dict]:
        return [e for e in self if e["event"] == kind]


def material_folder(root: Path, *, size: int = 128) -> Path:
    """Two materials in ambientCG's naming (NAME_1K-PNG_Color.png, _Displacement as 16-bit PNG,
    _Roughness, _AmbientOcclusion, _NormalGL), cut from the real gravel and brick photographs:
    the colour is the photo tinted, the other maps built from it as a scanner's would be."""
    from texgen.maps import normal_map
    from texgen.materials import derive_from_photo

    for name, photo, tint in (("Rock001", "gravel", (1.0, 0.9, 0.75)), ("Bricks002", "brick", (1.0, 0.6, 0.45))):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        grey = texture(photo)[:size, :size] / 255.0
        rgb = np.clip(grey[..., None] * np.array(tint), 0, 1).astype(np.float32)
        m = derive_from_photo(rgb)
        stem = folder / f"{name}_1K-PNG_"
        Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(f"{stem}Color.png")
        Image.fromarray(np.round(m.height * 65535).astype("<u2")).save(f"{stem}Displacement.png")
        Image.fromarray(np.round(m.roughness * 255).astype(np.uint8)).save(f"{stem}Roughness.png")
        Image.fromarray(np.round(m.ao * 255).astype(np.uint8)).save(f"{stem}AmbientOcclusion.png")
        Image.fromarray(np.round(normal_map(m.height, strength=4) * 255).astype(np.uint8)).save(f"{stem}NormalGL.png")
    (root / "LICENSE.txt").write_text("CC0 1.0 (scikit-image's gravel and brick)\n")
    return root


def descend(loss, x, *, lr: float, steps: int):
    """`steps` Adam steps on the tensor `x` alone (it requires grad) down `loss(x)`; returns x.
    For the tests that check what a generator loss does to an image it is the only term of."""
    import torch

    opt = torch.optim.Adam([x], lr=lr)
    for _ in range(steps):
        value = loss(x)
        opt.zero_grad()
        value.backward()
        opt.step()
    return x
