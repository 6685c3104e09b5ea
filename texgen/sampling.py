"""Sampling: seeds (and a class) in, images out.

A call reads top to bottom: check the request, make latents from the seeds, run the model in
batches, turn its [-1, 1] output into images, make them the requested size and seamless, and
yield them one by one (a batch of 10,000 never sits in memory at once).

Sizes. A spatial model makes any multiple of its pixels-per-cell from a latent grid, and a
tileable one tiles at every size. Other sizes are generated one cell larger and resampled with
wrap-around, so they tile too. A fixed-size (vector) model makes its native size: it is made
seamless there (when asked) and then resampled to the requested size with wrap-around, so the
seam repair survives the upscale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from texgen.errors import ModelError, RequestError
from texgen.latents import latent_for_seed, slerp
from texgen.model import Generator
from texgen.materials import decode_normals, encode_normals
from texgen.resample import resize
from texgen.seamless import make_seamless

MAX_SIDE = 16384  # pixels; larger requests are typos or would not fit in memory


@dataclass
class Sample:
    """One generated image. `img` is HWC float32 in [0, 1] (C = 1 for heightmaps)."""

    seed: int | None
    img: np.ndarray
    label: int | None = None
    class_name: str | None = None
    tileable: bool = False  # tiles with no seam (by construction or by make_seamless)
    t: float | None = None  # interpolation position, for interpolated samples


def resolve_label(gen: Generator, label: str | int | None) -> int | None:
    """The class index for a class given by name or index; None for unconditional models."""
    classes = gen.info.classes
    if not classes:
        if label is not None:
            raise RequestError(
                f"model {gen.info.name!r} is not conditional, so it takes no class (got {label!r})",
                "leave out the class, or pick a conditional model",
            )
        return None
    listing = ", ".join(f"{i}:{c}" for i, c in enumerate(classes))
    if label is None:
        return 0
    if isinstance(label, str) and label.strip().isdigit():
        label = int(label.strip())
    if isinstance(label, int):
        if 0 <= label < len(classes):
            return label
        raise RequestError(f"class index {label} is out of range for {gen.info.name!r}", f"use one of {listing}")
    by_name = {c.lower(): i for i, c in enumerate(classes)}
    if label.strip().lower() in by_name:
        return by_name[label.strip().lower()]
    raise RequestError(f"unknown class {label!r} for model {gen.info.name!r}", f"use one of {listing}")


def check_size(gen: Generator, size: tuple[int, int] | None) -> tuple[int, int]:
    """The output size (height, width) for a request; the model's native size when None."""
    if size is None:
        return gen.info.native_height, gen.info.native_width
    h, w = size
    if h < 1 or w < 1:
        raise RequestError(f"size {w}x{h} is not positive", "give a size such as 512 or 1024x512")
    if max(h, w) > MAX_SIDE:
        raise RequestError(f"size {w}x{h} is larger than {MAX_SIDE} pixels a side", f"ask for at most {MAX_SIDE}")
    return h, w


# Texel scale (`--scale`): how much larger the features are drawn than the model learnt them.
MIN_SCALE, MAX_SCALE = 0.25, 8.0


def scaled_size(gen: Generator, size: tuple[int, int], scale: float) -> tuple[int, int]:
    """The size the model runs at for an output of `size` at texel scale `scale`.

    A spatial model makes its features at its own scale, so an image made at size / scale and
    resampled to size (Lanczos-3, wrap-around for tileable images: texgen.resample) has them
    `scale` times larger: 2 = stones twice as large, drawn by interpolation (softer pixels, no
    new detail); 0.5 = half as large, made at twice the size and filtered down (sharp, four
    times the work). A tileable result stays tileable.
    """
    if scale == 1.0:
        return size
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise RequestError(
            f"scale {scale:g} is out of range", f"use a scale from {MIN_SCALE:g} (features smaller) to {MAX_SCALE:g}"
        )
    if not gen.info.spatial:
        raise RequestError(
            f"model {gen.info.name!r} makes fixed-size {gen.info.native_width}x{gen.info.native_height} images, "
            "so its features have no scale to change",
            "leave out --scale, or use a spatial (any-size) model",
        )
    h, w = max(1, round(size[0] / scale)), max(1, round(size[1] / scale))
    if max(h, w) > MAX_SIDE:
        raise RequestError(
            f"scale {scale:g} at {size[1]}x{size[0]} runs the model at {w}x{h}, more than {MAX_SIDE} pixels a side",
            "use a larger scale or a smaller size",
        )
    return h, w


def check_batch_size(batch_size: int) -> None:
    """RequestError unless `batch_size` images per model run is at least 1."""
    if batch_size < 1:
        raise RequestError(f"batch size must be at least 1, not {batch_size}", "use 1 or more")


def _to_images(batch: np.ndarray, seeds: Sequence[int | None], gen: Generator) -> np.ndarray:
    """NCHW [-1, 1] model output to NHWC [0, 1], refusing NaN and inf."""
    if not np.isfinite(batch).all():
        bad = [s for s, b in zip(seeds, batch) if not np.isfinite(b).all()]
        raise ModelError(
            f"model {gen.info.name!r} produced NaN or infinite values (seed {bad[0]})",
            "the model is broken (for example exported from a diverged training run): retrain or re-export it",
        )
    return np.clip((batch.transpose(0, 2, 3, 1) + 1.0) * 0.5, 0.0, 1.0)


def _finish(img: np.ndarray, gen: Generator, size: tuple[int, int], seamless: bool) -> tuple[np.ndarray, bool]:
    """Seamless post-process and resize to the requested size; returns (img, tileable)."""
    tileable = gen.info.tileable
    if seamless and not tileable:
        img, tileable = make_seamless(img), True
    out = resize(img, *size, wrap=tileable)
    names = gen.info.channel_names
    if out.shape[:2] != img.shape[:2] and "normal.x" in names:
        out = _restretch_normals(out, [names.index(f"normal.{a}") for a in "xyz"],
                                 (out.shape[0] / img.shape[0], out.shape[1] / img.shape[1]))  # fmt: skip
    return out, tileable


def _restretch_normals(img: np.ndarray, xyz: list[int], factor: tuple[float, float]) -> np.ndarray:
    """A material's own normal channels after a resize by `factor` (rows, columns): features
    drawn f times larger have slopes 1/f as steep (the heights keep their values), so the
    normal's x and y over its z shrink by 1/f; then back to unit length, which resampling
    does not keep."""
    n = decode_normals(img[..., xyz])
    n[..., 0] = n[..., 0] / (n[..., 2] * factor[1])
    n[..., 1] = n[..., 1] / (n[..., 2] * factor[0])
    n[..., 2] = 1.0
    out = img.copy()
    out[..., xyz] = encode_normals(n / np.linalg.norm(n, axis=-1, keepdims=True))
    return out


def _run(
    gen: Generator, z: np.ndarray, labels: np.ndarray | None, should_cancel=None, on_tile=None
) -> np.ndarray | None:
    try:
        return gen.run(z, labels, should_cancel, on_tile)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(
            f"model {gen.info.name!r} failed to run on latents of shape {list(z.shape)} ({str(exc).splitlines()[0][:200]})",
            "check that the model matches its metadata, or re-export it",
        ) from None


def sample(
    gen: Generator,
    seeds: Sequence[int],
    *,
    size: tuple[int, int] | None = None,
    label: str | int | None = None,
    seamless: bool = True,
    batch_size: int = 16,
    should_cancel: Callable[[], bool] | None = None,
    on_tile: Callable[[int, int], None] | None = None,
    scale: float = 1.0,
) -> Iterator[Sample]:
    """Generate one image per seed, lazily, in batches of `batch_size`; `on_tile(done, tiles)`
    hears each tile of an image made in tiles. `scale`: texel scale (see scaled_size)."""
    # 1. Check the request before any work.
    size = check_size(gen, size)
    index = resolve_label(gen, label)
    class_name = gen.info.classes[index] if index is not None else None
    check_batch_size(batch_size)
    run_size = scaled_size(gen, size, scale)
    shape = gen.latent_shape(*run_size)
    if gen.runs_in_tiles(*run_size):
        batch_size = 1  # one big image in memory at a time, not a batch of them

    for start in range(0, len(seeds), batch_size):
        if should_cancel is not None and should_cancel():
            return
        chunk = list(seeds[start : start + batch_size])
        # 2. Latents: one generator per seed, so a seed's image does not depend on its batch.
        z = np.stack([latent_for_seed(s, shape, gen.info.global_channels) for s in chunk])
        labels = None if index is None else np.full(len(chunk), index, np.int64)
        # 3. Run, 4. post-process, 5. hand out one by one.
        raw = _run(gen, z, labels, should_cancel, on_tile)
        if raw is None:  # cancelled between the tiles of a big image
            return
        images = _to_images(raw, chunk, gen)
        for seed, img in zip(chunk, images):
            img, tileable = _finish(img, gen, size, seamless)
            yield Sample(seed, img, index, class_name, tileable)


def interpolate(
    gen: Generator,
    seed_a: int,
    seed_b: int,
    ts: Sequence[float],
    *,
    size: tuple[int, int] | None = None,
    label: str | int | None = None,
    seamless: bool = True,
    on_tile: Callable[[int, int], None] | None = None,
    scale: float = 1.0,
) -> list[Sample]:
    """Images along the spherical path between two seeds' latents, at positions `ts` in [0, 1]."""
    size = check_size(gen, size)
    run_size = scaled_size(gen, size, scale)
    index = resolve_label(gen, label)
    if not ts:
        raise RequestError("no interpolation positions given", "ask for at least one position between 0 and 1")
    if any(not 0.0 <= t <= 1.0 for t in ts):
        raise RequestError(f"interpolation positions must lie in [0, 1], got {list(ts)}", "use values from 0 to 1")
    shape = gen.latent_shape(*run_size)
    a, b = (latent_for_seed(s, shape, gen.info.global_channels) for s in (seed_a, seed_b))
    z = np.stack([slerp(a, b, t) for t in ts])
    labels = None if index is None else np.full(len(ts), index, np.int64)
    class_name = gen.info.classes[index] if index is not None else None
    step = 1 if gen.runs_in_tiles(*run_size) else len(ts)  # big frames one at a time, each finished at once
    out = []
    for i in range(0, len(ts), step):
        raw = _run(gen, z[i : i + step], None if labels is None else labels[i : i + step], on_tile=on_tile)
        for t, img in zip(ts[i : i + step], _to_images(raw, [seed_a] * len(ts[i : i + step]), gen)):
            img, tileable = _finish(img, gen, size, seamless)
            out.append(Sample(None, img, index, class_name, tileable, t))
    return out
