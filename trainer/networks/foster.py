"""Foster's DCGAN (course seed 001, *Generative Deep Learning* 2nd ed., chapter 4).

Generator: z -> 1x1 -> ConvTranspose(512, 4, valid) -> BN -> LReLU(0.2) -> ConvTranspose(256, 4,
s2, same) -> ... -> 64 -> ConvTranspose(C, 4, s2, same) -> tanh, all without bias (64x64: 4, 8,
16, 32, 64 px; 3,576,576 parameters at 1 channel). Critic: Conv(64, 4, s2) -> LReLU -> Dropout(.3)
-> Conv(128) -> BN -> LReLU -> Dropout ... -> Conv(512) -> BN -> LReLU -> Dropout -> Conv(1, 4,
valid), no bias; the sigmoid lives in the loss (BCE with logits), so the same network serves as
a WGAN critic. Keras BN momentum 0.9 is PyTorch 0.1. Keras "same" for a 4x4 kernel at stride 2
on an even size pads 1 on each side, so PyTorch's `padding=1` matches it exactly.

Other resolutions add or drop a block: 32 px starts the critic at 128 channels, 128 px at 32.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from trainer.networks.layers import Projection, keras_bn, keras_init
from trainer.networks.spec import NetSpec

BN_MOMENTUM = 0.9  # Keras terms


def _widths(resolution: int) -> list[int]:
    """Channels at 4, 8, ... resolution / 2 px: 512 at 4 px, halving as the size doubles."""
    n = int(math.log2(resolution)) - 2
    return [512 >> i for i in range(n)]


class FosterGenerator(nn.Module):
    def __init__(self, spec: NetSpec):
        super().__init__()
        widths = _widths(spec.resolution)
        self.embed = nn.Embedding(spec.num_classes, spec.embed_dim) if spec.num_classes else None
        cin = spec.latent_size + (spec.embed_dim if spec.num_classes else 0)
        layers: list[nn.Module] = []
        for i, w in enumerate(widths):
            stride, pad = (1, 0) if i == 0 else (2, 1)
            layers += [
                nn.ConvTranspose2d(cin, w, 4, stride, pad, bias=False),
                keras_bn(w, BN_MOMENTUM),
                nn.LeakyReLU(0.2),
            ]
            cin = w
        layers += [nn.ConvTranspose2d(cin, spec.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        keras_init(self)

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(label)], dim=1)
        return self.net(z[:, :, None, None])


class FosterCritic(nn.Module):
    def __init__(self, spec: NetSpec):
        super().__init__()
        widths = _widths(spec.resolution)[::-1]
        layers: list[nn.Module] = []
        cin = spec.channels
        for i, w in enumerate(widths):
            layers.append(nn.Conv2d(cin, w, 4, 2, 1, bias=False))
            if i > 0 and spec.critic_norm == "batch":  # never on the input layer (DCGAN rule)
                layers.append(keras_bn(w, BN_MOMENTUM))
            layers += [nn.LeakyReLU(0.2), nn.Dropout(spec.critic_dropout)]
            cin = w
        self.features = nn.Sequential(*layers)
        self.out = nn.Conv2d(cin, 1, 4, 1, 0, bias=False)
        self.projection = Projection.of(spec, cin)
        keras_init(self)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        out = self.out(h).flatten(1)
        if self.projection is not None:
            out = out + self.projection(h, label)
        return out
