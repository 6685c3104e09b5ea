"""Tileable images: make a generated image tile with no visible seam, and measure the seam.

Images are `img`: H x W x C (or H x W) float32 in [0, 1].

`make_seamless` works one axis at a time. To hide the left/right seam it mixes the image A
with B, A rolled by about half its width: B's wrap-around borders are A's continuous middle,
and B's own seam (near the middle) is covered by A. B is used only in a strip along each
border (a wider strip would show A's middle twice, a visible half-period repeat); across the
band where B hands over to A it either

- cuts (default): follows the path of least difference between A and B through the band (the
  minimum-error boundary of image quilting, Efros & Freeman 2001) and feathers it over a few
  pixels, so bricks and pebbles are not doubled; or
- blends: a smooth cross-fade whose fine detail is mixed with the variance-preserving rule of
  Heitz & Neyret 2018, `(a*w + b*(1-w) - mean) / sqrt(w^2 + (1-w)^2) + mean` (mean: the
  local mean, itself cross-faded linearly), so the cross-faded zone keeps its contrast
  instead of looking washed out.

Then the same for top/bottom on the result; there the cut path must close on itself across
the left/right wrap so that the first pass's tiling survives. Pixels away from the border
strips are the input's own pixels, in place: nothing is blurred but the hand-over zones.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from texgen.errors import RequestError

Method = Literal["cut", "blend"]
MIN_SIZE = 8


def seam_score(img: np.ndarray, period: int = 1) -> float:
    """How visible the wrap-around seam is: about 1.0 when the image tiles cleanly.

    Definition, per axis, over all channels:
      ratio_x = mean |img[:, 0] - img[:, -1]|   /  mean |img[:, 1:] - img[:, :-1]|
      ratio_y = mean |img[0, :] - img[-1, :]|   /  mean |img[1:, :] - img[:-1, :]|
      seam_score = max(ratio_x, ratio_y)
    i.e. the difference across each border pair, divided by the typical difference between
    horizontally (vertically) adjacent pixels inside the image. The max makes one bad axis
    count. An axis with no variation along it (every interior difference 0, hence the
    border one too) or with fewer than 2 pixels has ratio 1.0, so a constant image scores
    1.0. Crops of the scikit-image photographs score 2 (grass) to 15 (brick).

    `period`: compare the border pair only with the interior pairs at the same phase, those
    a whole number of periods before it (columns W - 1 - k * period and the next). Images whose
    statistics repeat every `period` pixels need it: in the output of a spatial generator
    (period = its pixels per latent cell) or of an x8 upscale (period 8), pairs that straddle
    two cells differ from the rest, and the wrap pair is one of them, so against all pairs an
    image that tiles exactly reads 0.8 to 1.3. With no interior pair at that phase (period >=
    the side) every pair is used.

    It looks at one pair of columns and one of rows, so it is a noisy sample: in a cleanly
    tiling gravel or grass texture the border pair is like any interior pair, and those
    spread 0.8 to 1.2 around the mean; in strongly structured images (a pair on a mortar
    edge or inside a brick) 0.2 to 2. `seam_scores` gives that spread for one image,
    to judge its seam against; judge structured textures by eye too (`tile`).
    """
    return float(_cut_scores(img, period, [0])[0])


def seam_scores(img: np.ndarray, period: int = 1) -> tuple[float, np.ndarray]:
    """The seam's score (`seam_score`) and, beside it, the score that each interior line at the
    border's phase would get if the image were cut there: `seam_score(np.roll(img, (k, k),
    axis=(0, 1)), period)` for k = period, 2 * period, ... below the longer side (exactly that
    when each side is a whole number of periods). Both come from one pass over the image.

    The interior lines are the yardstick for one image's seam score, which looks at a single
    pair of rows and of columns: in an image that tiles cleanly the border pair is like any
    interior pair, so its score falls among theirs; a visible seam scores above them. The
    array is empty when no interior line is at that phase (period >= the longer side).
    """
    scores = _cut_scores(img, period, range(0, max(np.shape(img)[:2]), max(period, 1)))
    return float(scores[0]), scores[1:]


def _cut_scores(img: np.ndarray, period: int, shifts) -> np.ndarray:
    """`seam_score` of the image rolled by (k, k) for each k in `shifts` (whole periods; 0: the
    image itself), from the mean difference of every pair of rows (columns) on the cycle."""
    if period < 1:
        raise ValueError(f"period must be at least 1, got {period}")
    a = _as_hwc(img)
    shifts = np.asarray(shifts, dtype=np.int64)
    ratios = []
    for axis in (0, 1):
        n = a.shape[axis]
        if n < 2:
            ratios.append(np.ones(len(shifts)))
            continue
        other = tuple(d for d in range(a.ndim) if d != axis)
        # Mean difference of each pair on the cycle: (i, i + 1) for i < n - 1, then the wrap.
        inside = np.abs(np.diff(a, axis=axis)).mean(axis=other, dtype=np.float64)
        wrap = np.abs(np.take(a, 0, axis=axis) - np.take(a, -1, axis=axis)).mean(dtype=np.float64)
        cyc = np.append(inside, wrap)
        phase = (n - 1 - np.arange(n)) % period == 0  # pairs at the border's phase, wrap included
        m, at_phase, total = int(phase.sum()), cyc[phase].sum(), cyc.sum()
        # Rolled by k, the border pair is cycle pair n - 1 - k, and the interior pairs at its
        # phase are the other pairs at that phase (k is a whole number of periods).
        border = cyc[(n - 1 - shifts) % n]
        every = (total - border) / (n - 1)  # all interior pairs
        inner = (at_phase - border) / (m - 1) if m > 1 else every
        inner = np.where((inner <= 0.0) & (border > 0.0), every, inner)  # flat at this phase only
        ratios.append(np.divide(border, inner, out=np.ones(len(shifts)), where=inner > 0.0))
    return np.maximum(*ratios)


def tile(img: np.ndarray, n: int | tuple[int, int] = 2) -> np.ndarray:
    """Repeat `img` n x n times (or rows x cols for a tuple): the artist's tiling check."""
    rows, cols = (n, n) if isinstance(n, int) else n
    if rows < 1 or cols < 1:
        raise RequestError(f"tile count {n} is not positive", "use 1 or more repeats per axis")
    reps = (rows, cols) + (1,) * (img.ndim - 2)
    return np.tile(img, reps)


def offset_half(img: np.ndarray) -> np.ndarray:
    """Roll by half the height and half the width: the wrap seams move to the middle cross."""
    return np.roll(img, (img.shape[0] // 2, img.shape[1] // 2), axis=(0, 1))


def extend_periodic(img: np.ndarray) -> np.ndarray:
    """Append the first row and the first column at the end: H x W becomes (H+1) x (W+1).

    A tileable 512 map becomes the 513 one that Unity (2^n + 1) terrains want; the last row
    and column equal the first, so neighbouring terrain tiles share their edge exactly.
    """
    a = np.concatenate([img, img[:1]], axis=0)
    return np.concatenate([a, a[:, :1]], axis=1)


def make_seamless(img: np.ndarray, *, overlap: float = 0.25, method: Method = "cut") -> np.ndarray:
    """A copy of `img` that tiles with no visible seam; same shape and dtype float32.

    overlap: the most of each axis that the half-offset copy may take, half of it along each
      border (0.25: up to 1/8 of the width at the left and at the right). For "cut" the band
      where the cut may wander, for "blend" the cross-fade. 0 < overlap <= 1; larger bands
      give the cut more freedom but repeat more of the middle at the borders.
    method: "cut" (default; keeps structure such as bricks sharp) or "blend" (smooth
      variance-preserving cross-fade; fine for noisy, structureless textures).
    """
    a = _as_hwc(img)
    h, w = a.shape[:2]
    if h < MIN_SIZE or w < MIN_SIZE:
        raise RequestError(f"image {w}x{h} is too small to make seamless", f"use at least {MIN_SIZE}x{MIN_SIZE} pixels")
    if not 0.0 < overlap <= 1.0:
        raise RequestError(f"overlap {overlap} is out of range", "use a value in (0, 1], e.g. 0.25")
    if method not in ("cut", "blend"):
        raise RequestError(f"seamless method {method!r} is unknown", "use 'cut' or 'blend'")
    if not np.all(np.isfinite(a)):
        raise RequestError("the image contains NaN or infinite values", "check the generator's output")
    # Left/right first; then top/bottom on the transposed result, where the cut must close
    # across the (now tileable) left/right wrap.
    out = _fix_columns(a, overlap, method, cyclic=False)
    out = _fix_columns(out.transpose(1, 0, 2), overlap, method, cyclic=True).transpose(1, 0, 2)
    out = np.clip(out, 0.0, 1.0).astype(np.float32)
    return out.reshape(np.shape(img))


# --- one axis ---------------------------------------------------------------------------


def _fix_columns(a: np.ndarray, overlap: float, method: Method, cyclic: bool) -> np.ndarray:
    """Make `a` (H x W x C) tile left/right. `cyclic`: `a` already tiles top/bottom; keep it.

    b = a rolled by about half (w//2 + a small shift, see _roll_amount): b's borders are a's
    middle, b's own seam sits at column `seam`, a's stays at the borders where b is used.
    """
    w = a.shape[1]
    seam = _roll_amount(a)
    b = np.roll(a, seam, axis=1)
    t = _half_position(w, seam)
    if method == "blend":
        mask = np.broadcast_to(_ramp(t, overlap)[None, :], a.shape[:2])
        return _blend_preserving(a, b, mask)
    mask = _cut_mask(a, b, t, seam, overlap, cyclic)
    return mask[..., None] * a + (1.0 - mask[..., None]) * b


def _roll_amount(a: np.ndarray) -> int:
    """About half the width, chosen so that a typical column pair of `a` becomes the wrap.

    Rolling by `seam` brings a's pair (j, j+1), j = w - seam - 1, to the output's border. Any
    pair of a photograph is continuous, but in structured images (a vertical mortar line) one
    pair's difference can be several times the average, so the border would be right for its
    content yet unlike the rest, and `seam_score` would see a seam where there is none. Moving
    the roll by up to w/16 from the half picks the most ordinary pair.
    """
    w = a.shape[1]
    pair = np.mean(np.abs(np.diff(a, axis=1)), axis=(0, 2))  # pair j = columns j, j+1
    reach = w // 16
    seams = np.arange(w // 2 - reach, w // 2 + reach + 1)
    gap = np.abs(pair[w - seams - 1] - pair.mean())
    return int(seams[np.argmin(gap)])


def _half_position(w: int, seam: int) -> np.ndarray:
    """t per column: 0 on both border columns, 1 on the two columns beside b's seam."""
    x = np.arange(w, dtype=np.float64)
    return np.where(x < seam, x / (seam - 1), (w - 1 - x) / (w - 1 - seam))


def _ramp(t: np.ndarray, overlap: float) -> np.ndarray:
    """Weight of `a` per column: 0 at the borders, 1 from `overlap` inwards, smooth between."""
    u = np.clip(t / overlap, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)  # smoothstep: no kink where the band starts and ends


def _feather_radius(w: int) -> int:
    return max(0, round(w / 128))


def _cut_mask(a: np.ndarray, b: np.ndarray, t: np.ndarray, seam: int, overlap: float, cyclic: bool) -> np.ndarray:
    """H x W weight of `a`: 1 between the two cut paths (middle), 0 outside, feathered."""
    w = a.shape[1]
    r = _feather_radius(w)
    # Columns the cut may use: within `overlap` of the border, kept 2r clear of it and of b's
    # seam so that the feathered mask is exactly 0 at the border and exactly 1 beside the seam.
    left = [x for x in range(1 + 2 * r, seam - 2 * r) if t[x] <= overlap] or [min(1 + 2 * r, seam - 1)]
    right = [x for x in range(seam + 1 + 2 * r, w - 2 * r) if t[x] <= overlap] or [max(w - 1 - 2 * r, seam + 1)]
    # Cost of cutting through a pixel: how much a and b differ there, plus a pull towards the
    # border (half the mean difference across the band): among near-equal cuts, the one that
    # takes less of b, whose content (a's middle) then appears twice in the result.
    diff = np.sum((a - b) ** 2, axis=2)
    cost = diff + 0.5 * diff.mean() * (t / overlap)[None, :]
    cols = np.arange(w)[None, :]
    # a starts at the left path's column and ends just before the right path's column.
    start = _min_path(cost[:, left[0] : left[-1] + 1], cyclic) + left[0]
    stop = _min_path(cost[:, right[0] : right[-1] + 1], cyclic) + right[0]
    mask = ((cols >= start[:, None]) & (cols < stop[:, None])).astype(np.float64)
    for _ in range(2):  # two box passes: a triangle-shaped feather of half-width 2r
        mask = _box_rows(mask, r)
    return mask


def _min_path(cost: np.ndarray, cyclic: bool) -> np.ndarray:
    """Column (within `cost`, H x K) per row of the cheapest top-to-bottom 8-connected path.

    cyclic: the path must also close, its last row's column within 1 of its first, so the
    mask it draws tiles top/bottom. Found by fixing the start where the free path starts.
    """
    path = _dp_path(cost, None)
    if cyclic and cost.shape[0] > 1 and abs(int(path[-1]) - int(path[0])) > 1:
        path = _dp_path(cost, int(path[0]))
    return path


def _dp_path(cost: np.ndarray, start: int | None) -> np.ndarray:
    h, k = cost.shape
    total = cost[0].copy()
    if start is not None:
        total[:] = np.inf
        total[start] = cost[0, start]
    moves = np.zeros((h, k), dtype=np.int8)  # -1, 0, +1: where the previous row came from
    for y in range(1, h):
        left = np.concatenate(([np.inf], total[:-1]))
        right = np.concatenate((total[1:], [np.inf]))
        choice = np.argmin(np.stack([left, total, right]), axis=0)
        moves[y] = choice - 1
        total = cost[y] + np.choose(choice, [left, total, right])
    if start is not None:
        allowed = np.full(k, np.inf)
        near = slice(max(0, start - 1), min(k, start + 2))
        allowed[near] = total[near]
        total = allowed
    path = np.empty(h, dtype=np.int64)
    path[-1] = int(np.argmin(total))
    for y in range(h - 1, 0, -1):
        path[y - 1] = path[y] + moves[y, path[y]]
    return path


def _box_rows(mask: np.ndarray, r: int) -> np.ndarray:
    """Mean over 2r+1 neighbours along each row, edges repeated (mask is flat there)."""
    if r == 0:
        return mask
    padded = np.pad(mask, ((0, 0), (r + 1, r)), mode="edge")
    c = np.cumsum(padded, axis=1)
    return (c[:, 2 * r + 1 :] - c[:, : -(2 * r + 1)]) / (2 * r + 1)


# --- variance-preserving blend ----------------------------------------------------------


def _blend_preserving(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Cross-fade a -> b with weight w (of a); detail mixed to keep its variance.

    Only the detail (image minus a local mean) is assumed uncorrelated between the two copies;
    the local means are cross-faded linearly, so broad light gradients are not exaggerated.
    """
    radius = max(1, min(a.shape[0], a.shape[1]) // 32)
    low_a = _blur_wrap(a, radius)
    low_b = _blur_wrap(b, radius)
    w3 = w[..., None]
    low = w3 * low_a + (1 - w3) * low_b
    detail = (w3 * (a - low_a) + (1 - w3) * (b - low_b)) / np.sqrt(w3**2 + (1 - w3) ** 2)
    # Outside the cross-fade, the pixels themselves (low + detail only rounds to them).
    return np.where(w3 == 1.0, a, np.where(w3 == 0.0, b, low + detail))


def _blur_wrap(a: np.ndarray, r: int) -> np.ndarray:
    """Approximate Gaussian (three box passes per axis) with wrap-around sampling."""
    out = a.astype(np.float64)
    for axis in (0, 1):
        n = out.shape[axis]
        k = min(r, (n - 1) // 2)
        for _ in range(3):
            padded = np.concatenate(
                [np.take(out, range(n - k - 1, n), axis=axis), out, np.take(out, range(k), axis=axis)],
                axis=axis,
            )
            c = np.cumsum(padded, axis=axis)
            hi = np.take(c, range(2 * k + 1, n + 2 * k + 1), axis=axis)
            lo = np.take(c, range(0, n), axis=axis)
            out = (hi - lo) / (2 * k + 1)
    return out


def _as_hwc(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 2:
        return a[..., None]
    if a.ndim != 3:
        raise RequestError(f"image has shape {a.shape}, expected H x W or H x W x C", "pass one image, not a batch")
    return a
