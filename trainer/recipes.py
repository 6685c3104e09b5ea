"""Training recipes: named starting points for training, a plain dict of TrainConfigs.

(Engine presets, what each engine reads, are texgen/presets.py: a different thing.) A run's
config keeps its recipe's name in the field `preset`, the name saved checkpoints carry.

Each has a one-line description in plain words (the GUI lists them). Faithful presets copy
the course's networks and hyper-parameters (seeds 000 and 001); the spatial ones are texgen's
own tileable family.
"""

from __future__ import annotations

import dataclasses
import shlex

from texgen.errors import RequestError
from trainer.config import FIELDS, TrainConfig

RECIPES: dict[str, TrainConfig] = {
    "lanham-wgan-32": TrainConfig(
        description="course WGAN 32x32 (Lanham), weight clipping: the course's texture example",
        algorithm="wgan", architecture="lanham", data="cifar100:forest", crop=32,
        augment="none", latent_size=100, critic_dropout=0.25, batch=32, steps=4000, n_critic=5,
        optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, clip=0.01,
        sample_every=200, checkpoint_every=500, eval_every=1000,
    ),
    "foster-dcgan-64": TrainConfig(
        description="course DCGAN 64x64 (Foster): transposed convolutions, noisy labels",
        algorithm="dcgan", architecture="foster", crop=64, latent_size=100,
        critic_dropout=0.3, batch=128, steps=20000, n_critic=1, optimizer="adam",
        lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, label_noise=0.1,
    ),
    "wgan-gp-64": TrainConfig(
        description="WGAN-GP 64x64 (Foster's networks, gradient penalty, no BatchNorm in the critic)",
        algorithm="wgan-gp", architecture="foster", crop=64, latent_size=128,
        critic_dropout=0.3, batch=64, steps=20000, n_critic=5, optimizer="adam",
        lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.9, gp_lambda=10.0,
        ema_halflife=200,
    ),
    "spatial-wgan-gp": TrainConfig(
        description="tileable texture or heightmap, any size (spatial WGAN-GP, best quality)",
        algorithm="wgan-gp", architecture="spatial", crop=64, latent_size=32,
        g_width=32, d_width=32, upsamples=4, batch=32, steps=20000, n_critic=5,
        optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9, gp_lambda=10.0,
        upsample_blur=True,  # no checkerboard (it shows in hillshaded heightmaps)
        ema_halflife=200,
    ),
    "spatial-dcgan": TrainConfig(
        description="tileable texture or heightmap, any size (spatial DCGAN, fastest to train)",
        algorithm="dcgan", architecture="spatial", crop=64, latent_size=32,
        g_width=32, d_width=32, upsamples=4, batch=32, steps=10000, n_critic=1,
        optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, label_smoothing=0.1,
        upsample_blur=True,  # no checkerboard (it shows in hillshaded heightmaps)
        ema_halflife=200,
    ),
    "cgan-wgan-gp-64": TrainConfig(
        description="conditional WGAN-GP 64x64: one class per sub-folder or CIFAR-100 class",
        algorithm="wgan-gp", architecture="foster", conditional=True, crop=64, latent_size=128,
        critic_dropout=0.3, batch=64, steps=20000, n_critic=5, optimizer="adam",
        lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.9,
        ema_halflife=200,
    ),
    "cgan-spatial-wgan-gp": TrainConfig(
        description="conditional tileable textures: one class per sub-folder, any size",
        algorithm="wgan-gp", architecture="spatial", conditional=True, crop=64, latent_size=32,
        g_width=32, d_width=32, upsamples=4, batch=32, steps=20000, n_critic=5,
        optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9,
        upsample_blur=True,  # no checkerboard (it shows in hillshaded heightmaps)
        ema_halflife=200,
    ),
}  # fmt: skip

for _name, _cfg in RECIPES.items():
    _cfg.preset = _name
DEFAULT_RECIPE = "spatial-wgan-gp"


def get_recipe(name: str) -> TrainConfig:
    """A fresh copy of a named recipe; RequestError listing the names when unknown."""
    if name not in RECIPES:
        raise RequestError(
            f"unknown recipe {name!r}",
            "use one of: " + ", ".join(RECIPES) + " (`--list-recipes` describes them)",
        )
    return dataclasses.replace(RECIPES[name])


# Fields that say where and how a run goes, not what it learns: left out of a reproduce command.
_NOT_REPRODUCED = {"preset", "description", "resume", "out", "name"}


def reproduce_command(cfg: TrainConfig) -> str:
    """The `texgen train` command that rebuilds `cfg` from its recipe (for model cards)."""
    base = RECIPES.get(cfg.preset, TrainConfig())
    args = ["texgen", "train"]
    if cfg.preset in RECIPES:
        args += ["--recipe", cfg.preset]
    for name in FIELDS:
        value = getattr(cfg, name)
        if name in _NOT_REPRODUCED or value == getattr(base, name):
            continue
        if name == "data":
            args += ["--data", value]
        else:
            args += ["--set", f"{name}={'none' if value is None else value}"]
    return shlex.join(args)
