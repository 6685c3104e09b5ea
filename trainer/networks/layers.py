"""Small building blocks shared by the networks: Keras-style "same" padding, wrap padding,
pixel normalisation, and the initialisations that match the course's Keras code.

Only standard operators (pad, slice, cat, conv, mean, sqrt) so `torch.onnx.export` is exact.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainer.networks.spec import NetSpec

# Keras BatchNormalization defaults that differ from PyTorch's. Keras `momentum` is the share
# of the old running value that is KEPT, PyTorch's the share of the new batch that is TAKEN.
KERAS_BN_EPS = 1e-3


def keras_bn(channels: int, keras_momentum: float) -> nn.BatchNorm2d:
    """BatchNorm2d that behaves like Keras `BatchNormalization(momentum=keras_momentum)`."""
    return nn.BatchNorm2d(channels, eps=KERAS_BN_EPS, momentum=1.0 - keras_momentum)


def keras_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of Keras/TensorFlow `padding="same"` along one axis.

    TensorFlow pads the total `max((out - 1) * stride + kernel - size, 0)` with the odd pixel
    AFTER: a 4x4 kernel at stride 1 pads 1 before and 2 after, a 3x3 kernel at stride 2 on an
    even size pads 0 before and 1 after. PyTorch's symmetric `padding=` cannot express that.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """Conv2d with Keras "same" padding for a known input size (the size sets the padding)."""

    def __init__(self, cin: int, cout: int, kernel: int, *, stride: int = 1, in_size: int, bias: bool = True):
        super().__init__(cin, cout, kernel, stride=stride, padding=0, bias=bias)
        before, after = keras_same_pads(in_size, kernel, stride)
        self.pads = (before, after, before, after)  # F.pad order: left, right, top, bottom
        self.out_size = -(-in_size // stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.pads))


def wrap_pad(x: torch.Tensor, p: int) -> torch.Tensor:
    """Pad NCHW by `p` pixels on every side with the opposite border (a torus).

    Explicit slices and cat rather than `padding_mode="circular"`, whose ONNX export has had
    bugs: this exports to Slice + Concat and stays exact with a dynamic h, w.
    """
    if p == 0:
        return x
    x = torch.cat([x[:, :, -p:, :], x, x[:, :, :p, :]], dim=2)
    return torch.cat([x[:, :, :, -p:], x, x[:, :, :, :p]], dim=3)


class WrapConv2d(nn.Conv2d):
    """Stride-1 conv with an odd kernel on a torus: output is as periodic as the input."""

    def __init__(self, cin: int, cout: int, kernel: int = 3):
        if kernel % 2 != 1:
            raise ValueError(f"wrap convolution needs an odd kernel, got {kernel}")
        super().__init__(cin, cout, kernel, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(wrap_pad(x, self.kernel_size[0] // 2))


class WrapBlur(nn.Module):
    """Fixed [1, 2, 1] x [1, 2, 1] / 16 blur on a torus, one channel at a time.

    After a nearest 2x upsampling it makes a bilinear-like upsampler with no checkerboard
    (the usual "upsample then blur" of StyleGAN), and, padding by wrapping, keeps the map
    exactly periodic. A plain depthwise convolution: exports exactly to ONNX.
    """

    def __init__(self, channels: int):
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (k[:, None] * k[None, :] / 16).expand(channels, 1, 3, 3).clone())
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(wrap_pad(x, 1), self.kernel, groups=self.channels)


class CoarseField(nn.Module):
    """A slowly varying latent field made from the fine latent grid, on the same torus.

    `passes` wrapped 3x3 box blurs of the cell grid (a binomial-like kernel 2 * passes + 1 cells
    wide, standard deviation sqrt(2 * passes / 3) cells), rescaled so that independent unit
    normal cells give a field of unit variance. It carries structure across many cells (64 to
    256 px at 16 px a cell) without a second input: the ONNX contract, the seeds and the tiling
    stay as they are, and padding by wrapping keeps it exactly periodic at any grid size, even
    one cell (AveragePool + Slice + Concat in ONNX).
    """

    def __init__(self, passes: int):
        super().__init__()
        self.passes = passes
        w = torch.ones(1)
        for _ in range(passes):  # the 1-D kernel of `passes` [1, 1, 1] / 3 blurs
            w = F.conv1d(F.pad(w, (2, 2))[None, None], torch.full((1, 1, 3), 1 / 3))[0, 0]
        self.gain = float(1.0 / w.pow(2).sum())  # 1 / sqrt of the 2-D kernel's sum of squares

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for _ in range(self.passes):
            z = F.avg_pool2d(wrap_pad(z, 1), 3, stride=1)
        return z * self.gain


class PixelNoise(nn.Module):
    """One map of per-pixel noise, added to every channel at a strength learnt per channel
    (StyleGAN's noise inputs, Karras et al. 2019), starting at zero so a new generator computes
    what it would without it.

    The noise comes from the latent grid itself: `4 ** k` channels of each cell, laid out as
    the cell's `2 ** k` x `2 ** k` pixels (pixel shuffle, DepthToSpace in ONNX). Rolling the grid
    by one cell rolls the map by one cell's pixels, so the output stays exactly periodic, and a
    seed still decides the whole image.
    """

    def __init__(self, channels: int, factor: int):
        super().__init__()
        self.factor = factor
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
        return x + self.weight * F.pixel_shuffle(cells, self.factor)


class PixelNorm(nn.Module):
    """Normalise each pixel's feature vector to unit RMS (ProGAN, Karras et al. 2018).

    Chosen for generators because it has no running statistics: train mode and eval mode
    (the exported model) compute exactly the same function, unlike BatchNorm.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class ClassAffine(nn.Module):
    """A per-class scale and shift of every channel: x * (1 + gamma[label]) + beta[label].

    Conditional normalisation (de Vries et al. 2017; BigGAN's conditional BatchNorm) placed
    after a PixelNorm: the class reaches every layer of the generator instead of only its
    input. Starts as the identity (gamma = beta = 0), so early training is the unconditional
    network's. A Gather, a Mul and an Add in ONNX.
    """

    def __init__(self, num_classes: int, channels: int):
        super().__init__()
        self.gamma = nn.Embedding(num_classes, channels)
        self.beta = nn.Embedding(num_classes, channels)
        nn.init.zeros_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return x * (1.0 + self.gamma(label)[:, :, None, None]) + self.beta(label)[:, :, None, None]


def keras_init(module: nn.Module) -> None:
    """Keras defaults for Dense/Conv layers: Glorot-uniform kernels, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.uniform_(m.weight, -0.05, 0.05)  # Keras Embedding default


class Projection(nn.Module):
    """Projection discriminator term (Miyato & Koyama 2018): <embed(label), pooled features>.

    Added to the critic's unconditional output, it lets the critic judge whether an image
    fits its class without feeding label planes into the image path. `unit` (the `projection`
    setting "unit"): the class's vector at unit length against the features' spatial mean, where
    Miyato & Koyama's is free in length against their sum. The critic cannot then make the class
    term louder by growing the class vectors alone; with the free term a conditional model of
    colour materials drew one flat colour per class within 100 steps (docs/models.md).
    """

    def __init__(self, num_classes: int, features: int, unit: bool = False):
        super().__init__()
        self.unit = unit
        self.embed = nn.Embedding(num_classes, features)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    @classmethod
    def of(cls, spec: NetSpec, features: int) -> Projection | None:
        """A critic's class term for `spec` over `features` channels; None when unconditional."""
        return cls(spec.num_classes, features, spec.projection == "unit") if spec.num_classes else None

    def forward(self, features: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """The class term of NCHW critic `features` for classes `label`: N x 1."""
        if self.unit:
            return (F.normalize(self.embed(label), dim=1) * features.mean(dim=(2, 3))).sum(dim=1, keepdim=True)
        return (self.embed(label) * features.sum(dim=(2, 3))).sum(dim=1, keepdim=True)


def count_parameters(module: nn.Module) -> tuple[int, int]:
    """(trainable parameters, BatchNorm running statistics): Keras' trainable / non-trainable."""
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    stats = sum(
        m.running_mean.numel() + m.running_var.numel()
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None
    )
    return trainable, stats
