"""The spatial, tileable family: fully convolutional on a torus.

Generator: a periodic latent grid z [N, Z, h, w] (each cell an independent normal vector; the
grid wraps) -> WrapConv 3x3 -> `upsamples` x (nearest 2x, WrapConv 3x3, PixelNorm, LReLU,
WrapConv 3x3, PixelNorm, LReLU) -> WrapConv 3x3 -> tanh. Output [N, C, h * s, w * s] with
s = 2 ** upsamples pixels per cell. Every convolution pads by wrapping (explicit slices and cat),
and nearest upsampling of a periodic map is periodic, so the output is exactly periodic with
period (h * s, w * s): rolling the latent grid by one cell rolls the image by s pixels, and the
image tiles with no seam at any grid size. PixelNorm instead of BatchNorm: no running
statistics, so the exported (eval-mode) model computes what was trained.

Coarse field (`coarse_field` > 0): a blurred copy of the latent grid (CoarseField: wrapped box
blurs over several cells, unit variance) is concatenated to z, so that structure larger than the
few cells the convolutions reach (brightness, density, clumps over 64-256 px) has an input to
come from; it is computed from z, so the model's inputs and tiling are unchanged.

Cell convolutions (`cell_convs`): more wrapped 3x3 convolutions (with PixelNorm and LReLU) at
the latent grid's own resolution, after the stem. The blocks above reach about one cell each
way, so a stroke longer than two or three cells (a blade of grass across 60 px) has to be
continued from cell to cell by features that each see only their neighbours; each of these
reaches one cell further, where the channels are widest and the maps smallest (about 5 % of a
step's time).

Pixel noise (`pixel_noise`): the grid's last `spec.noise_channels` channels are not fed to the
stem but shuffled into one map of per-pixel noise per block (PixelNoise), added after the block's
second convolution at a learnt strength per channel: fine stochastic detail has an input at
every scale. The coarse field blurs the structured channels alone.

Conditional: the class embedding is broadcast to planes over the grid and concatenated to z;
with `class_affine`, every PixelNorm is also followed by a per-class scale and shift of its
channels (ClassAffine), so the class steers every layer rather than only the input.

Critic: plain zero-padded convolutions over a crop (the critic never sees a wrap, only real
crops and crops of the periodic output): from-image 3x3, then per level 3x3 + 4x4 stride 2
down to 4x4, a linear layer, and for conditional models a projection term.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from trainer.networks.layers import (
    ClassAffine,
    CoarseField,
    PixelNoise,
    PixelNorm,
    Projection,
    WrapBlur,
    WrapConv2d,
)
from trainer.networks.spec import NetSpec


class SpatialGenerator(nn.Module):
    def __init__(self, spec: NetSpec):
        super().__init__()
        self.spec = spec
        n = spec.upsamples
        widths = [min(spec.g_width * 2 ** (n - i), spec.g_width * 8) for i in range(n + 1)]
        self.embed = nn.Embedding(spec.num_classes, spec.embed_dim) if spec.num_classes else None
        self.structured = spec.latent_size - spec.noise_channels  # latent channels fed to the stem
        cin = self.structured + (spec.embed_dim if spec.num_classes else 0)
        self.coarse = CoarseField(spec.coarse_field) if spec.coarse_field else None
        cin += self.structured if self.coarse is not None else 0
        self.stem = WrapConv2d(cin, widths[0])
        self.cell_convs = nn.Sequential(
            *(
                layer
                for _ in range(spec.cell_convs)
                for layer in (WrapConv2d(widths[0], widths[0]), PixelNorm(), nn.LeakyReLU(0.2))
            )
        )
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Upsample(scale_factor=2.0, mode="nearest"),
                *([WrapBlur(widths[i])] if spec.upsample_blur and (spec.blur_last or i < n - 1) else []),
                WrapConv2d(widths[i], widths[i + 1]),
                PixelNorm(),
                nn.LeakyReLU(0.2),
                WrapConv2d(widths[i + 1], widths[i + 1]),
                PixelNorm(),
                nn.LeakyReLU(0.2),
            )  # fmt: skip
            for i in range(n)
        )
        self.to_image = WrapConv2d(widths[-1], spec.channels)
        # Kept beside the blocks (two per block, one per PixelNorm) so that a generator without
        # them has the same parameter names as before they existed.
        self.affines = (
            nn.ModuleList(ClassAffine(spec.num_classes, widths[i + 1]) for i in range(n) for _ in range(2))
            if spec.num_classes and spec.class_affine
            else None
        )
        self.noise = (
            nn.ModuleList(PixelNoise(widths[i + 1], 2 ** (i + 1)) for i in range(n)) if spec.pixel_noise else None
        )

    def stage_parameters(self, stages: int) -> list[nn.Parameter]:
        """The parameters of the first `stages` stages from the latent grid: 1 the class
        embedding, the stem and the cell convolutions; each more adds the next upsampling block
        (with its class affines and noise strengths), up to all but the last. What a wide
        critic limited by `wide_reach` trains."""
        modules: list[nn.Module | None] = [self.embed, self.stem, self.cell_convs]
        for i in range(min(stages, len(self.blocks)) - 1):  # never the last block
            modules.append(self.blocks[i])
            if self.affines is not None:
                modules += [self.affines[2 * i], self.affines[2 * i + 1]]
            if self.noise is not None:
                modules.append(self.noise[i])
        return [p for m in modules if m is not None for p in m.parameters()]

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        noise = None
        if self.noise is not None:  # no slicing (nor a Slice node in ONNX) without pixel noise
            z, noise = z[:, : self.structured], z[:, self.structured :]
        if self.coarse is not None:
            z = torch.cat([z, self.coarse(z)], dim=1)
        if self.embed is not None:
            e = self.embed(label)[:, :, None, None]
            z = torch.cat([z, e.expand(-1, -1, z.shape[2], z.shape[3])], dim=1)
        x = self.cell_convs(F.leaky_relu(self.stem(z), 0.2))
        affines = iter(self.affines) if self.affines is not None else None
        start = 0
        for i, block in enumerate(self.blocks):
            convs = 0
            for layer in block:
                x = layer(x)
                convs += isinstance(layer, WrapConv2d)
                if self.noise is not None and convs == 2 and isinstance(layer, WrapConv2d):
                    step = 4 ** (i + 1)
                    x = self.noise[i](x, noise[:, start : start + step])
                    start += step
                if affines is not None and isinstance(layer, PixelNorm):
                    x = next(affines)(x, label)
        return torch.tanh(self.to_image(x))


class SpatialCritic(nn.Module):
    def __init__(self, spec: NetSpec):
        super().__init__()
        n = int(math.log2(spec.resolution)) - 2  # halvings down to 4x4
        widths = [min(spec.d_width * 2**i, spec.d_width * 8) for i in range(n + 1)]
        batch_norm = spec.critic_norm == "batch"
        layers: list[nn.Module] = [nn.Conv2d(spec.channels, widths[0], 3, 1, 1), nn.LeakyReLU(0.2)]
        for i in range(n):
            layers += [nn.Conv2d(widths[i], widths[i], 3, 1, 1), nn.LeakyReLU(0.2)]
            layers.append(nn.Conv2d(widths[i], widths[i + 1], 4, 2, 1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(widths[i + 1]))
            layers.append(nn.LeakyReLU(0.2))
            if spec.critic_dropout:
                layers.append(nn.Dropout(spec.critic_dropout))
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(widths[-1] * 16, 1)
        self.projection = Projection.of(spec, widths[-1])

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        out = self.out(h.flatten(1))
        if self.projection is not None:
            out = out + self.projection(h, label)
        return out


WIDE_SHRINKS = ("box", "blur")  # how the wide critic shrinks its crops (TwoScaleCritic)


class TwoScaleCritic(nn.Module):
    """Two critics as one module (one optimizer, one state dict, one set of weights to clip):
    `local` judges crops at the training resolution, `wide` crops `factor` times larger, which
    it sees shrunk by `factor` to the same size. Which one scores a batch follows from its side:
    the crop's, or `factor` times it.

    `shrink`: "box", a box average (each output pixel the mean of a factor x factor block), or
    "blur", a binomial pyramid (per halving, a [1, 4, 6, 4, 1] / 16 blur each way, reflected at
    the border, then every second pixel). A box average aliases stripes near 4 px apart (for a
    factor of 4) into waves as long as the crop, large structure as the wide critic sees it, so
    a generator can answer that critic with hatching; with the box, wide-critic runs drew
    hatching 4 and 8 px apart (docs/models.md). The pyramid is a low-pass filter: it leaves such
    stripes at about 0.2 % of the box's alias, and its gradient is not one value per block."""

    def __init__(self, local: nn.Module, wide: nn.Module, resolution: int, factor: int, shrink: str = "box"):
        super().__init__()
        if shrink not in WIDE_SHRINKS:
            raise ValueError(f"shrink is {shrink!r}, expected one of {', '.join(WIDE_SHRINKS)}")
        self.local, self.wide = local, wide
        self.resolution, self.factor, self.shrink = resolution, factor, shrink
        self.register_buffer("kernel", torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0, persistent=False)

    def shrunk(self, x: torch.Tensor) -> torch.Tensor:
        if self.shrink == "box":
            return F.avg_pool2d(x, self.factor)
        c = x.shape[1]
        k = self.kernel.to(x.dtype)
        for _ in range(self.factor.bit_length() - 1):
            x = F.pad(x, (2, 2, 2, 2), mode="reflect")
            x = F.conv2d(x, k.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
            x = F.conv2d(x, k.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)
            x = x[:, :, ::2, ::2]
        return x

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        side = x.shape[-1]
        if side == self.resolution:
            return self.local(x, label)
        if side == self.resolution * self.factor:
            return self.wide(self.shrunk(x), label)
        raise ValueError(
            f"a {side} px batch: this critic scores {self.resolution} px crops and {self.resolution * self.factor} px ones"
        )
