"""Multi-scale sliced Wasserstein distance (SWD) between two image sets, with no network.

Karras et al. 2018, "Progressive Growing of GANs", appendix D. FID needs a pretrained Inception
network; SWD needs none and says *at which scale* two sets differ, which is what a texture
model gets wrong first (fine grain at the top level, layout at the bottom one):

1. Build a Laplacian pyramid of every image (5x5 binomial blur [1, 4, 6, 4, 1] / 16, halve,
   subtract the upsampled half) down to `min_res` pixels; the last level is the low-pass rest.
2. At every level take `descriptors_per_image` random 7x7 neighbourhoods per image: vectors
   of 7 * 7 * C values.
3. Normalise each descriptor set by its own per-channel mean and standard deviation, as the
   original code does (`finalize_descriptors`), so a level is compared by structure, not by
   contrast.
4. Project both sets on `n_projections` random unit directions, sort each projection and
   average the absolute differences: the 1-D Wasserstein-1 distance, averaged over
   directions. Reported x 1e3 per level and their mean, as in the paper.

Sizes that are not a power of two: a square image of S pixels has the levels S, S // 2, ...
down to the last one >= `min_res`; it is centre-cropped to the nearest multiple of
2 ** (levels - 1) below S (at most 2 ** (levels - 1) - 1 pixels lost), so every halving is
exact. The keys name the cropped sizes: 70 px images give swd_68, swd_34, swd_17.

Memory: each level holds len(set) * descriptors_per_image * C * 49 float32 values per set
(256 images of RGB: 19 MB), and projections are made 128 directions at a time.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

NEIGHBOURHOOD = 7  # descriptor side, pixels
DIRECTIONS_PER_REPEAT = 128  # the original projects in 4 repeats of 128 directions
_BINOMIAL = np.array([1, 4, 6, 4, 1], np.float32) / 16


def swd(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    seed: int = 0,
    descriptors_per_image: int = 128,
    n_projections: int = 512,
    min_res: int = 16,
    device: str | None = None,
    normalise: str = "own",
) -> dict[str, float]:
    """SWD x 1e3 between two NCHW batches, per pyramid level and averaged.

    Returns {"swd_64": .., "swd_32": .., "swd_16": .., "swd": mean} for 64 px images. Lower is
    closer; a set against other samples of the same distribution gives a small but non-zero
    value. Deterministic given `seed`. `real` and `fake` may hold different numbers of
    images; the larger descriptor set is subsampled to the size of the smaller. `device` (a
    torch device such as "cuda") projects and sorts there, which is most of the time (the
    same descriptors and directions, so the figure agrees to float rounding); None: numpy.

    `normalise`: "own" scales each set's descriptors by that set's own per-channel mean and
    deviation, as ProGAN does; the distance is then blind to how strong each band is, so a
    model that blurs every band (soft edges, low local contrast) can score as well as a sharp
    one. "real" scales both sets by the real set's statistics, so a band's strength counts
    too (bench/bench_quality.py reports both).
    """
    if normalise not in ("own", "real"):
        raise ValueError(f"normalise={normalise!r}: use 'own' (ProGAN's) or 'real'")
    # 1. Check the inputs and crop to a size every pyramid level halves exactly.
    real = _check_batch("real", real, min_res)
    fake = _check_batch("fake", fake, min_res)
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(
            f"real images are {real.shape[1:]} (C, H, W) but fake ones are {fake.shape[1:]}; "
            "pass crops of the same size and channel count"
        )
    if descriptors_per_image < 1 or n_projections < 1:
        raise ValueError(
            f"descriptors_per_image={descriptors_per_image}, n_projections={n_projections}: both must be at least 1"
        )
    resolutions = pyramid_resolutions(real.shape[-1], min_res)
    real = _centre_crop(real, resolutions[0])
    fake = _centre_crop(fake, resolutions[0])

    # 2. Independent random streams, so the real descriptors do not change with the fake count.
    streams = np.random.SeedSequence(seed).spawn(4)
    rng_real, rng_fake, rng_pick, rng_dirs = (np.random.default_rng(s) for s in streams)

    # 3. Per level: descriptors of both sets, equal counts, then the distance.
    pyramid_real = laplacian_pyramid(real, len(resolutions))
    pyramid_fake = laplacian_pyramid(fake, len(resolutions))
    result: dict[str, float] = {}
    for res, level_real, level_fake in zip(resolutions, pyramid_real, pyramid_fake):
        raw_real = extract_descriptors(level_real, descriptors_per_image, rng_real)
        raw_fake = extract_descriptors(level_fake, descriptors_per_image, rng_fake)
        if normalise == "own":
            desc_real, desc_fake = normalise_descriptors(raw_real), normalise_descriptors(raw_fake)
        else:
            desc_real, (mean, std) = normalise_descriptors(raw_real, statistics=True)
            desc_fake = normalise_descriptors(raw_fake, given=(mean, std))
        desc_real, desc_fake = _equal_counts(desc_real, desc_fake, rng_pick)
        directions = random_directions(desc_real.shape[1], n_projections, rng_dirs)
        result[f"swd_{res}"] = 1e3 * float(sliced_wasserstein(desc_real, desc_fake, directions, device))

    # 4. The mean over levels: the single number to log and compare.
    result["swd"] = float(np.mean(list(result.values())))
    return result


def pyramid_resolutions(size: int, min_res: int = 16) -> list[int]:
    """Level sizes, finest first, for `size` px images after the crop `swd` applies."""
    levels = 0
    res = size
    while res >= min_res:
        levels += 1
        res //= 2
    coarsest = size >> (levels - 1)
    return [coarsest << k for k in reversed(range(levels))]


def laplacian_pyramid(batch: np.ndarray, levels: int) -> list[np.ndarray]:
    """Band-pass levels finest first; the last is the low-pass rest. Sizes must halve exactly.

    Summing `pyramid_up` of each level back up to the top rebuilds `batch`.
    """
    pyramid = [np.asarray(batch, np.float32)]
    for _ in range(1, levels):
        low = pyramid_down(pyramid[-1])
        pyramid[-1] = pyramid[-1] - pyramid_up(low)
        pyramid.append(low)
    return pyramid


def pyramid_down(batch: np.ndarray) -> np.ndarray:
    """Blur with the 5x5 binomial kernel (mirrored borders) and keep even rows and columns.

    Matches OpenCV's pyrDown and the original code's scipy.ndimage.convolve(mode="mirror").
    """
    return _binomial(_binomial(batch, axis=-2, step=2), axis=-1, step=2)


def pyramid_up(batch: np.ndarray) -> np.ndarray:
    """Double the size as OpenCV's pyrUp: zeros between samples, binomial kernel x 4.

    Done per axis in two phases so no multiply touches the inserted zeros.
    """
    return _double(_double(np.asarray(batch, np.float32), axis=-2), axis=-1)


def extract_descriptors(level: np.ndarray, per_image: int, rng: np.random.Generator) -> np.ndarray:
    """`per_image` random 7x7 neighbourhoods from each image, fully inside it: (M, C, 7, 7)."""
    n, _, h, w = level.shape
    windows = sliding_window_view(level, (NEIGHBOURHOOD, NEIGHBOURHOOD), axis=(2, 3))
    image = np.repeat(np.arange(n), per_image)
    y = rng.integers(0, h - NEIGHBOURHOOD + 1, size=image.size)
    x = rng.integers(0, w - NEIGHBOURHOOD + 1, size=image.size)
    return windows[image, :, y, x]  # advanced indices first: (M, C, 7, 7)


def normalise_descriptors(
    desc: np.ndarray, *, given: tuple[np.ndarray, np.ndarray] | None = None, statistics: bool = False
):
    """Zero mean, unit deviation per channel over the whole set, flattened to (M, C * 49).

    A constant channel (a collapsed generator) has deviation 0; it is left at zero rather
    than divided into NaN, so the distance stays large and finite. `given` (mean, std per
    channel) scales by another set's statistics instead; `statistics` also returns them.
    """
    count, channels = desc.shape[:2]
    flat = desc.reshape(count, -1)
    per_channel = flat.shape[1] // channels  # columns are channel-major: C blocks of 49
    values = count * per_channel
    if given is None:
        # Two passes with float64 sums: the low-pass level is far from zero-mean.
        mean = flat.sum(axis=0, dtype=np.float64).reshape(channels, -1).sum(axis=1) / values
        centred = flat - np.repeat(mean, per_channel).astype(np.float32)
        square_sums = np.einsum("ij,ij->j", centred, centred, dtype=np.float64)
        std = np.sqrt(square_sums.reshape(channels, -1).sum(axis=1) / values)
        std[std == 0] = 1.0
    else:
        mean, std = given
        centred = flat - np.repeat(mean, per_channel).astype(np.float32)
    centred *= np.repeat(1 / std, per_channel).astype(np.float32)
    return (centred, (mean, std)) if statistics else centred


def random_directions(dims: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` directions uniform on the unit sphere of R^dims, as rows: (count, dims)."""
    directions = rng.standard_normal((count, dims))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return directions.astype(np.float32)


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, directions: np.ndarray, device: str | None = None) -> float:
    """Mean over `directions` (unit rows) of the 1-D Wasserstein-1 distance of projections.

    `a` and `b` are (M, D) with the same M: then the 1-D distance is exactly the mean absolute
    difference of the sorted projections. Projected 128 directions at a time to bound memory.
    """
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"descriptor sets must both be (M, D); got {a.shape} and {b.shape}")
    if directions.ndim != 2 or directions.shape[1] != a.shape[1]:
        raise ValueError(f"directions are {directions.shape}; need (count, {a.shape[1]})")
    if device is not None:
        return _sliced_wasserstein_torch(a, b, directions, device)
    total = 0.0
    for start in range(0, len(directions), DIRECTIONS_PER_REPEAT):
        chunk = directions[start : start + DIRECTIONS_PER_REPEAT]
        total += wasserstein_1d(chunk @ a.T, chunk @ b.T).sum()
    return total / len(directions)


def _sliced_wasserstein_torch(a: np.ndarray, b: np.ndarray, directions: np.ndarray, device: str) -> float:
    """`sliced_wasserstein` with the projections and sorts in torch on `device` (float32
    products, float64 means, as numpy's)."""
    import torch  # only here: the metrics need no torch unless a device is asked for  # noqa: PLC0415

    ta, tb = torch.from_numpy(a).to(device), torch.from_numpy(b).to(device)
    total = 0.0
    for start in range(0, len(directions), DIRECTIONS_PER_REPEAT):
        chunk = torch.from_numpy(directions[start : start + DIRECTIONS_PER_REPEAT]).to(device)
        u, v = (chunk @ ta.T).sort(dim=-1).values, (chunk @ tb.T).sort(dim=-1).values
        total += float((u - v).abs().double().mean(dim=-1).sum())
    return total / len(directions)


def wasserstein_1d(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """W1 between equal-size 1-D samples along the last axis. Sorts `u` and `v` in place."""
    u.sort(axis=-1)
    v.sort(axis=-1)
    return np.abs(np.subtract(u, v, out=u), out=u).mean(axis=-1, dtype=np.float64)


def _binomial(x: np.ndarray, *, axis: int, step: int) -> np.ndarray:
    """The [1, 4, 6, 4, 1] / 16 filter along one axis, mirrored borders, every `step` output."""
    pad = [(0, 0)] * x.ndim
    pad[axis] = (2, 2)
    padded = np.pad(x, pad, mode="reflect")  # numpy "reflect" == scipy "mirror" == OpenCV 101
    n = x.shape[axis]
    out = None
    for k, weight in enumerate(_BINOMIAL):
        term = weight * _take(padded, axis, slice(k, k + n, step))
        out = term if out is None else np.add(out, term, out=out)
    return out


def _double(x: np.ndarray, *, axis: int) -> np.ndarray:
    """Upsample one axis x2: zero insertion then [1, 4, 6, 4, 1] / 8, mirrored borders.

    Even outputs see taps 1, 6, 1 and odd outputs 4, 4 (over 8). Mirroring the zero-inserted
    signal repeats y[1] before the start and y[n - 1] after the end.
    """
    n = x.shape[axis]
    before = _take(x, axis, slice(1, 2) if n > 1 else slice(0, 1))
    after = _take(x, axis, slice(n - 1, n))
    padded = np.concatenate([before, x, after], axis=axis)
    left = _take(padded, axis, slice(0, n))
    centre = _take(padded, axis, slice(1, n + 1))
    right = _take(padded, axis, slice(2, n + 2))
    shape = list(x.shape)
    shape[axis] = 2 * n
    out = np.empty(shape, np.float32)
    out[_index(x.ndim, axis, slice(0, None, 2))] = (left + 6 * centre + right) / 8
    out[_index(x.ndim, axis, slice(1, None, 2))] = (centre + right) / 2
    return out


def _take(x: np.ndarray, axis: int, part: slice) -> np.ndarray:
    return x[_index(x.ndim, axis, part)]


def _index(ndim: int, axis: int, part: slice) -> tuple[slice, ...]:
    index = [slice(None)] * ndim
    index[axis] = part
    return tuple(index)


def _check_batch(name: str, batch: np.ndarray, min_res: int) -> np.ndarray:
    batch = np.asarray(batch)
    if batch.ndim != 4 or batch.shape[1] not in (1, 3):
        raise ValueError(f"{name} has shape {batch.shape}; pass an NCHW batch with C = 1 or 3")
    n, _, h, w = batch.shape
    if n < 1:
        raise ValueError(f"{name} holds no images; pass at least one")
    if h != w:
        raise ValueError(f"{name} images are {h}x{w}; pass square crops")
    if min_res < NEIGHBOURHOOD:
        raise ValueError(f"min_res={min_res} is below the {NEIGHBOURHOOD} px descriptor; use >= 7")
    if h < min_res:
        raise ValueError(f"{name} images are {h} px, below min_res={min_res}; pass larger crops")
    batch = batch.astype(np.float32, copy=False)
    if not np.isfinite(batch).all():
        raise ValueError(f"{name} contains NaN or infinite values; check the generator output")
    return batch


def _centre_crop(batch: np.ndarray, size: int) -> np.ndarray:
    top = (batch.shape[-2] - size) // 2
    left = (batch.shape[-1] - size) // 2
    return batch[:, :, top : top + size, left : left + size]


def _equal_counts(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Subsample the larger descriptor set, without replacement, to the size of the smaller."""
    if len(a) > len(b):
        a = a[np.sort(rng.choice(len(a), len(b), replace=False))]
    elif len(b) > len(a):
        b = b[np.sort(rng.choice(len(b), len(a), replace=False))]
    return a, b
