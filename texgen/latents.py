"""Seeds, latents and latent interpolation.

A seed decides one latent by itself: each latent is drawn from its own generator seeded with
the seed alone, so seed 7 gives the same texture generated alone or in a batch of 64. Latents
are standard normal (the `latent_distribution` of every texgen model); a spatial model's global
channels, if it has any, are one draw per image, the same in every cell.
"""

from __future__ import annotations

import re
import secrets
from typing import Iterable, Sequence

import numpy as np

from texgen.errors import RequestError

MAX_SEED = 2**63 - 1
MAX_SEEDS = 10_000_000  # a seed list longer than this is a typo, not a batch

GLOBAL_STREAM = 1  # the global channels' random stream: seeded with (seed, GLOBAL_STREAM)
_PART = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_seeds(text: str) -> list[int]:
    """Parse a seed list such as "7", "1-100,250" or "0-9, 20-29" (inclusive ranges)."""
    fix = 'write seeds as whole numbers and inclusive ranges, e.g. "1-100,250"'
    seeds: list[int] = []
    if not text or not text.strip():
        raise RequestError("the seed list is empty", fix)
    for part in text.split(","):
        m = _PART.match(part)
        if not m:
            if part.strip().startswith("-"):
                raise RequestError(f"seed {part.strip()!r} is negative", "seeds are 0 or more; " + fix)
            raise RequestError(f"{part.strip()!r} in the seed list {text!r} is not a seed or a range", fix)
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise RequestError(f"seed range {part.strip()!r} runs backwards", f'write it as "{hi}-{lo}"')
        if hi > MAX_SEED:
            raise RequestError(f"seed {hi} is too large", f"seeds go up to {MAX_SEED}")
        if len(seeds) + (hi - lo + 1) > MAX_SEEDS:
            raise RequestError(f"the seed list {text!r} has more than {MAX_SEEDS:,} seeds", "split the batch")
        seeds.extend(range(lo, hi + 1))
    return seeds


def seeds_from_count(count: int, start: int = 0) -> list[int]:
    """`count` consecutive seeds from `start` (what `--count N` means)."""
    if count < 1:
        raise RequestError(f"count must be at least 1, not {count}", "ask for one or more textures")
    if count > MAX_SEEDS:
        raise RequestError(f"count {count:,} is too large", f"ask for at most {MAX_SEEDS:,} at once")
    if start < 0:
        raise RequestError(f"start seed {start} is negative", "seeds are 0 or more")
    if start + count - 1 > MAX_SEED:
        raise RequestError(
            f"--start {start} with --count {count:,} goes past the largest seed {MAX_SEED}",
            f"start at {MAX_SEED - count + 1} at most",
        )
    return list(range(start, start + count))


def random_seed() -> int:
    """A fresh seed for "random" buttons (31 bits: easy to read, type and share)."""
    return secrets.randbelow(2**31)


def latent_for_seed(seed: int, shape: Sequence[int], global_channels: int = 0) -> np.ndarray:
    """The latent of one seed: float32 standard normal of `shape`; of a spatial latent (Z x h x
    w), the first `global_channels` channels one draw each, the same in every cell. Those come
    from a stream of their own, so they are the same at every size (a seed is the same surface
    previewed small and exported large) and the rest is what the seed gives without them."""
    if not 0 <= seed <= MAX_SEED:
        raise RequestError(f"seed {seed} is out of range", f"use 0 to {MAX_SEED}")
    z = np.random.default_rng(seed).standard_normal(tuple(shape), dtype=np.float32)
    if global_channels:
        whole = np.random.default_rng([seed, GLOBAL_STREAM]).standard_normal(global_channels, dtype=np.float32)
        z[:global_channels] = whole[:, None, None]
    return z


def latents_for_seeds(seeds: Iterable[int], shape: Sequence[int], global_channels: int = 0) -> np.ndarray:
    """Stacked latents, one per seed: [N, *shape]."""
    return np.stack([latent_for_seed(s, shape, global_channels) for s in seeds])


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation between two latents (keeps the norm typical of a Gaussian
    sample, where a straight line would pass through unlikely low-norm latents)."""
    af, bf = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    na, nb = np.linalg.norm(af), np.linalg.norm(bf)
    if na == 0 or nb == 0:
        return ((1 - t) * a + t * b).astype(np.float32)
    cos = np.clip(np.dot(af / na, bf / nb), -1.0, 1.0)
    omega = np.arccos(cos)
    if omega < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    so = np.sin(omega)
    out = (np.sin((1 - t) * omega) / so) * af + (np.sin(t * omega) / so) * bf
    return out.reshape(a.shape).astype(np.float32)
