"""BatchFeed: random real crops for the critic, on the training device.

Two paths, one behaviour (uniform image, or uniform class then image when conditional;
uniform crop position; one of the 8 flips/quarter-turns, or of the 4 flips, when augmenting):

- resident: when all images share a size (CIFAR-100) the whole set is one tensor on the
  device (GPU when it fits) and a batch is an index-select there: no per-step host work, no
  host-to-device copy of pixels.
- host: otherwise `ImageSet.batch` cuts crops with numpy and the batch is copied over.

All random numbers come from one numpy Generator, so the feed is reproducible from its
state (saved in checkpoints).
"""

from __future__ import annotations

import numpy as np
import torch

from trainer.data import ImageSet
from trainer.data.imageset import augment_codes, checked_augment, normal_turns, symmetry_ops

CPU_RESIDENT_LIMIT = 2 << 30  # bytes: beyond this a stacked copy on the host is not worth it
GPU_RESIDENT_SHARE = 0.4  # at most this share of free GPU memory holds the data
# ImageSet.batch's symmetry op k (np.rot90 k % 4 times, then mirrored left-right when k >= 4) as
# (transpose, flip rows, flip columns) done in that order, so both feeds mean the same by an op.
_OP_BITS = np.array(
    [(0, 0, 0), (1, 1, 0), (0, 1, 1), (1, 0, 1), (0, 0, 1), (1, 1, 1), (0, 1, 0), (1, 0, 0)], dtype=bool
)


_NORMAL_TURNS = normal_turns()


def _turn_normals(x: torch.Tensor, m: torch.Tensor, ix: int, iy: int) -> torch.Tensor:
    """Each crop's normal (x, y) channels times its [2, 2] matrix `m[i]` (imageset.normal_turns)."""
    vx, vy = x[:, ix], x[:, iy]
    m = m[:, :, :, None, None].to(x.dtype)
    x = x.clone()
    x[:, ix] = m[:, 0, 0] * vx + m[:, 0, 1] * vy
    x[:, iy] = m[:, 1, 0] * vx + m[:, 1, 1] * vy
    return x


def _fits(nbytes: int, device: torch.device) -> bool:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return nbytes <= GPU_RESIDENT_SHARE * free
    return nbytes <= CPU_RESIDENT_LIMIT


class BatchFeed:
    def __init__(
        self,
        data: ImageSet,
        *,
        crop: int,
        batch: int,
        augment: bool | str,
        device: torch.device,
        rng: np.random.Generator,
        channels_last: bool = False,
    ):
        self.data, self.crop, self.batch = data, crop, batch
        self.augment = checked_augment(augment, data.class_names)
        self._codes = augment_codes(self.augment, data.class_names)  # label -> index into AUGMENTS
        self.device, self.rng, self.channels_last = device, rng, channels_last
        self.num_classes = len(data.class_names)
        self.images: torch.Tensor | None = None
        stacked = data.stacked()
        if stacked is not None and _fits(stacked.nbytes, device):
            self.images = torch.from_numpy(stacked).to(device)
            self.labels = torch.from_numpy(np.asarray(data.labels, np.int64)).to(device)
            labels = np.asarray(data.labels, np.int64)
            self._order = np.argsort(labels, kind="stable")
            self._counts = np.bincount(labels, minlength=max(self.num_classes, 1))
            self._starts = np.concatenate([[0], np.cumsum(self._counts)[:-1]])
        self.resident = self.images is not None

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch NCHW float32 in [-1, 1] on the device, int64 labels on the device)."""
        if self.resident:
            x, y = self._next_resident()
        else:
            xs, ys = self.data.batch(self.rng, self.batch, self.crop, augment=self.augment)
            x = torch.from_numpy(xs).to(self.device, non_blocking=True)
            y = torch.from_numpy(ys).to(self.device, non_blocking=True)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def _next_resident(self) -> tuple[torch.Tensor, torch.Tensor]:
        rng, n, c = self.rng, self.batch, self.crop
        # 1. Which images: uniform, or a uniform class then a uniform image of it.
        if self.num_classes > 1:
            classes = rng.integers(0, self.num_classes, size=n)
            picks = self._order[self._starts[classes] + rng.integers(0, self._counts[classes])]
        else:
            picks = rng.integers(0, len(self.data), size=n)
        _, _, h, w = self.images.shape
        idx = torch.from_numpy(picks).to(self.device, non_blocking=True)
        # 2. Where to crop: skipped when the crop is the whole image (CIFAR at 32).
        if h == c and w == c:
            x = self.images.index_select(0, idx)
        else:
            ys = torch.from_numpy(rng.integers(0, h - c + 1, size=n)).to(self.device)
            xs = torch.from_numpy(rng.integers(0, w - c + 1, size=n)).to(self.device)
            ar = torch.arange(c, device=self.device)
            rows = (ys[:, None] + ar)[:, None, :, None]  # [n, 1, c, 1]
            cols = (xs[:, None] + ar)[:, None, None, :]  # [n, 1, 1, c]
            chans = torch.arange(self.images.shape[1], device=self.device)[None, :, None, None]
            x = self.images[idx[:, None, None, None], chans, rows, cols]
        # 3. One of the 8 symmetries of the square (imageset.symmetry_ops, by each crop's class)
        #    as transpose?, flip rows?, flip columns?: op k mirrored (op >= 4) or not.
        ops = symmetry_ops(rng, self._codes[self.data.labels[picks]])
        if ops.any():
            bits = _OP_BITS[ops].T.reshape(3, n, 1, 1, 1)
            bits = torch.from_numpy(bits).to(self.device)
            x = torch.where(bits[0], x.transpose(2, 3), x)
            x = torch.where(bits[1], x.flip(2), x)
            x = torch.where(bits[2], x.flip(3), x)
            if self.data.normal_channels is not None:  # a material's normals turn with the crop
                x = _turn_normals(x, torch.from_numpy(_NORMAL_TURNS[ops]).to(self.device), *self.data.normal_channels)
        return x.contiguous(), self.labels.index_select(0, idx)
