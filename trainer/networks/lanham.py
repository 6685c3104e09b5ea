"""Lanham's texture WGAN (course seed 000, *Hands-On Deep Learning for Games*, 2019), layer by layer.

Generator: Dense(128 * 8 * 8, relu) -> 8x8x128 -> UpSampling2D -> Conv2D(128, 4, same) -> BN ->
relu -> UpSampling2D -> Conv2D(64, 4, same) -> BN -> relu -> Conv2D(C, 4, same) -> tanh.
Critic: Conv2D(16, 3, s2) -> LReLU(0.2) -> Dropout(.25) -> Conv2D(32, 3, s2) -> ZeroPadding
((0,1),(0,1)) -> BN -> LReLU -> Dropout -> Conv2D(64, 3, s2) -> BN -> LReLU -> Dropout ->
Conv2D(128, 3, s1) -> BN -> LReLU -> Dropout -> Flatten -> Dense(1).

Keras BatchNormalization(momentum=0.8) is PyTorch momentum 0.2, and Keras "same" padding of a
4x4 kernel is asymmetric (1 before, 2 after): `SameConv2d` reproduces both, so the parameter
counts and shapes equal the seed's summaries (G 1,224,259 trainable + 384 BN statistics;
critic 101,089 + 448 at 32x32 RGB). Other resolutions scale the 8x8 start to resolution / 4.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainer.networks.layers import Projection, SameConv2d, keras_bn, keras_init
from trainer.networks.spec import NetSpec

BN_MOMENTUM = 0.8  # Keras terms, as printed in the course


class LanhamGenerator(nn.Module):
    def __init__(self, spec: NetSpec):
        super().__init__()
        self.spec = spec
        self.start = spec.resolution // 4
        extra = spec.embed_dim if spec.num_classes else 0
        self.embed = nn.Embedding(spec.num_classes, spec.embed_dim) if spec.num_classes else None
        self.dense = nn.Linear(spec.latent_size + extra, 128 * self.start * self.start)
        half = self.start * 2
        self.conv1 = SameConv2d(128, 128, 4, in_size=half)
        self.bn1 = keras_bn(128, BN_MOMENTUM)
        self.conv2 = SameConv2d(128, 64, 4, in_size=half * 2)
        self.bn2 = keras_bn(64, BN_MOMENTUM)
        self.conv3 = SameConv2d(64, spec.channels, 4, in_size=half * 2)
        keras_init(self)

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(label)], dim=1)
        x = F.relu(self.dense(z)).view(-1, 128, self.start, self.start)
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = F.relu(self.bn2(self.conv2(x)))
        return torch.tanh(self.conv3(x))


class LanhamCritic(nn.Module):
    def __init__(self, spec: NetSpec):
        super().__init__()
        batch_norm = spec.critic_norm == "batch"
        drop = spec.critic_dropout
        c1 = SameConv2d(spec.channels, 16, 3, stride=2, in_size=spec.resolution)
        c2 = SameConv2d(16, 32, 3, stride=2, in_size=c1.out_size)
        padded = c2.out_size + 1  # ZeroPadding2D(((0, 1), (0, 1)))
        c3 = SameConv2d(32, 64, 3, stride=2, in_size=padded)
        c4 = SameConv2d(64, 128, 3, stride=1, in_size=c3.out_size)

        def norm(ch: int) -> nn.Module:
            return keras_bn(ch, BN_MOMENTUM) if batch_norm else nn.Identity()

        self.features = nn.Sequential(
            c1, nn.LeakyReLU(0.2), nn.Dropout(drop),
            c2, nn.ZeroPad2d((0, 1, 0, 1)), norm(32), nn.LeakyReLU(0.2), nn.Dropout(drop),
            c3, norm(64), nn.LeakyReLU(0.2), nn.Dropout(drop),
            c4, norm(128), nn.LeakyReLU(0.2), nn.Dropout(drop),
        )  # fmt: skip
        self.dense = nn.Linear(128 * c4.out_size * c4.out_size, 1)
        self.projection = Projection.of(spec, 128)
        keras_init(self)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        out = self.dense(h.flatten(1))
        if self.projection is not None:
            out = out + self.projection(h, label)
        return out
