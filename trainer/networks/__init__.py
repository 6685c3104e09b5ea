"""Generators and critics, rebuilt from a `NetSpec` (which travels with the weights).

Every generator is `G(z, label=None) -> batch` (NCHW in [-1, 1]) and every critic
`D(batch, label=None) -> [N, 1]` raw scores (logits for DCGAN, Wasserstein scores otherwise).
"""

from __future__ import annotations

from torch import nn

from trainer.networks.foster import FosterCritic, FosterGenerator
from trainer.networks.lanham import LanhamCritic, LanhamGenerator
from trainer.networks.layers import count_parameters, wrap_pad
from trainer.networks.spatial import SpatialCritic, SpatialGenerator
from trainer.networks.spec import CRITIC_NORMS, FAMILIES, PROJECTIONS, NetSpec

_GENERATORS = {"lanham": LanhamGenerator, "foster": FosterGenerator, "spatial": SpatialGenerator}
_CRITICS = {"lanham": LanhamCritic, "foster": FosterCritic, "spatial": SpatialCritic}


def _check(spec: NetSpec) -> None:
    problems = spec.problems()
    if problems:
        raise ValueError("; ".join(problems))


def build_generator(spec: NetSpec) -> nn.Module:
    _check(spec)
    return _GENERATORS[spec.family](spec)


def build_critic(spec: NetSpec) -> nn.Module:
    _check(spec)
    return _CRITICS[spec.family](spec)


__all__ = [
    "CRITIC_NORMS",
    "PROJECTIONS",
    "FAMILIES",
    "NetSpec",
    "build_critic",
    "build_generator",
    "count_parameters",
    "wrap_pad",
]
