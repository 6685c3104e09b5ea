"""Memorisation check: is each generated image a copy of a training image?

Foster, "Generative Deep Learning", ch. 4: find the training image nearest to a generated
one by L1 distance. A good generator's samples sit about as far from their nearest training
image as a training image sits from its nearest *other* training image; a generator that
copies sits much closer. So we compare the two medians:

    memorisation_ratio = median nearest-training distance of the fakes
                         / median leave-one-out nearest distance within the training set

Well below 1: copying. About 1 or above: no sign of it (noise and bad samples give > 1).
Distances are the mean absolute difference per value, in [0, 1] image units.

Speed: L1 has no matrix-product shortcut, so every pair costs one pass over C * H * W values.
Images are compared as 8-bit grey levels (as they would be saved), where numpy's SIMD
min/max/sum run several times faster than on float32; the rounding moves a distance by at
most 1/255 and leaves exact copies at exactly 0. Work is done in blocks of about 1 MiB, so
memory stays bounded whatever the set sizes.
"""

from __future__ import annotations

import numpy as np

_BLOCK_BYTES = 1 << 20  # a block of training images that stays in cache


def memorisation(fake: np.ndarray, train: np.ndarray, *, max_train: int = 2000, seed: int = 0) -> dict[str, float]:
    """Nearest-training-image L1 distances of `fake` against those within `train`.

    `fake` and `train` are NCHW batches in [-1, 1] with the same (C, H, W): pass training
    crops of the generator's output size. At most `max_train` training images (a seeded
    random subset) are searched; as many training images as there are fakes (at most all of
    the subset) are each compared with the rest of the subset, so both medians rest on the
    same number of distances. Returns {"nn_fake_median", "nn_train_median",
    "memorisation_ratio"}.
    """
    # 1. Check the inputs and draw the training subset before converting anything.
    _check_batch("fake", fake)
    _check_batch("train", train)
    if fake.shape[1:] != train.shape[1:]:
        raise ValueError(
            f"fake images are {fake.shape[1:]} (C, H, W) but training images are "
            f"{train.shape[1:]}; pass training crops of the generated size"
        )
    if max_train < 2 or len(train) < 2:
        raise ValueError(
            f"train holds {len(train)} images and max_train={max_train}; the leave-one-out "
            "check needs at least 2 of each"
        )
    rng = np.random.default_rng(seed)
    if len(train) > max_train:
        train = train[np.sort(rng.choice(len(train), max_train, replace=False))]
    held_out = np.sort(rng.choice(len(train), min(len(fake), len(train)), replace=False))
    fake = _to_levels("fake", fake)
    train = _to_levels("train", train)

    # 2. One pass: fakes and held-out training images against the whole subset.
    distances = l1_distances(np.concatenate([fake, train[held_out]]), train)

    # 3. A held-out image must not find itself.
    own = distances[len(fake) :]
    own[np.arange(len(held_out)), held_out] = np.inf
    nn_fake = float(np.median(distances[: len(fake)].min(axis=1)))
    nn_train = float(np.median(own.min(axis=1)))
    if nn_train > 0:
        ratio = nn_fake / nn_train
    else:  # the training set repeats itself: only "no closer than that" is meaningful
        ratio = float("inf") if nn_fake > 0 else float("nan")
    return {"nn_fake_median": nn_fake, "nn_train_median": nn_train, "memorisation_ratio": ratio}


def l1_distances(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Mean absolute difference, in [0, 1] units, of every query to every reference image.

    Both are uint8 arrays (N, ...) of equal per-image shape. Returns float64 (Q, R).
    Uses sum |a - b| = sum a + sum b - 2 sum min(a, b): one uint8 pass per pair instead of three.
    """
    q = queries.reshape(len(queries), -1)
    r = references.reshape(len(references), -1)
    size = q.shape[1]
    accumulator = np.uint32 if 255 * size < 2**32 else np.uint64
    block = max(1, _BLOCK_BYTES // size)
    common = np.empty((len(q), len(r)), np.int64)  # sum of min(a, b) per pair
    low = np.empty((block, size), np.uint8)
    for start in range(0, len(r), block):
        refs = r[start : start + block]
        n = len(refs)
        for i, query in enumerate(q):
            np.minimum(refs, query, out=low[:n])
            common[i, start : start + n] = low[:n].sum(axis=1, dtype=accumulator)
    totals_q = q.sum(axis=1, dtype=np.int64)
    totals_r = r.sum(axis=1, dtype=np.int64)
    sums = totals_q[:, None] + totals_r[None, :] - 2 * common
    return sums / (255.0 * size)


def _check_batch(name: str, batch: np.ndarray) -> None:
    shape = np.shape(batch)
    if len(shape) != 4 or shape[1] not in (1, 3):
        raise ValueError(f"{name} has shape {shape}; pass an NCHW batch with C = 1 or 3")
    if shape[0] < 1:
        raise ValueError(f"{name} holds no images; pass at least one")


def _to_levels(name: str, batch: np.ndarray) -> np.ndarray:
    """NCHW [-1, 1] floats to uint8 grey levels, as a PNG of the image would hold them."""
    batch = np.asarray(batch, np.float32)
    if not np.isfinite(batch).all():
        raise ValueError(f"{name} contains NaN or infinite values; check the generator output")
    return np.rint((np.clip(batch, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
