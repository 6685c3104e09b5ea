"""Quality at artist scales: each model against the data it learnt, beside classical baselines.

    python bench/bench_quality.py DATA                  # every bundled model (DATA from
                                                        # assets/models/prepare_data.py)
    python bench/bench_quality.py DATA --model stone-texture=runs/x/generator.onnx
    python bench/bench_quality.py DATA --device cuda    # the SWD's sorts on the GPU
    python bench/bench_quality.py DATA --model stone-texture --write-held-out held
    python bench/bench_quality.py DATA --held-out --model stone-texture=runs/y/generator.onnx
                                                        # y trained on held/cc0-textures/gravel

For every model, at 32, 64 and 128 px: the trainer's multi-scale SWD (x1e3) between crops of
512 px outputs (as users generate them; a fixed-size model: its own outputs, at its own size
only) and crops of its training data at the pixel scale it learnt, mean of DRAWS draws of N
crops. Beside the models, in the same run and against the same real crops:

- real crops: other crops of the same data, the floor (what a perfect model scores);
- phase randomisation (Galerne, Gousseau & Morel 2011): each data image's amplitude spectrum
  with random phases, after Moisan's periodic-plus-smooth split (no cross from the borders).
  A texture model that does not beat it has learnt no more than the power spectrum.
- image quilting (Efros & Freeman 2001): 40 px patches of the data image, overlapping by 8,
  each drawn among the candidates whose overlap agrees best and joined along the minimum-error
  cut. It copies the photograph piece by piece, so it holds structure up to the patch size
  and repeats it; a generator earns its place by matching it without copying. On gravel
  (x0.5, 128 px crops, one draw of 512): SWD 31.4 and coherence 6.5, against phase
  randomisation's 34.7 and 39.9 and the real crops' 9.1 and 1.0.

SWD alone can be fooled: on the grass photograph a GPU-trained model drew curly strands and no
leaves where the photograph (and the shipped model) has straight blades, yet scored a lower SWD
at every crop size, with its descriptors normalised either way (docs/gpu-runs.md). SWD reads
7x7 neighbourhoods of each pyramid band, so "long and straight" is beyond it. Beside it each
row has an orientation-coherence distance: the structure tensor's coherence ((l1 - l2) /
(l1 + l2): 1 along a straight edge, 0 where directions mix), at integration scales of 2 and 4
px, and the 1-D Wasserstein distance (x1e3) between its distributions in the model's crops and
in the real ones. It put the shipped grass well ahead (12 against 31 at 64 px) where the eye
does. Lower is better for both; a figure is only comparable within its crop size and data.

Beside them, in the same table (docs/quality-measures.md says how each is computed and where
it is blind):

- mem 64: memorisation ratio at 64 px (in the JSON at every crop size; data trained turned and
  flipped: 64 px only): the median distance of a source's crops to the nearest crop of the data
  (every position, by FFT), over that of fresh real crops to the nearest data crop that does
  not overlap them. 1: as new as unseen data; towards 0: copies. Image quilting, which copies
  40 px patches, scores 0.9 at 64 px on gravel and 0.7 at 32 px.
- repeat: the highest normalised linear autocorrelation away from the central lobe, at shifts
  up to half the side, of 512 px outputs (syntheses; the data images' largest squares); a
  64 px patch tiled scores 1, the gravel photograph 0.05.
- textures and materials, on 128 px crops: comp, the component distance (how differently sized
  the components of the data's grey levels are: stones, gaps, blades; 0.2 is a fifth of the
  real count missing, extra or an octave off), and peaks, the spectral-peak distance (how much
  sharper the peaks of 32 px windows' spectra are: hatching, stripes, checkerboards), over the
  real crops' spread, and runs, the straight-run ratio (how far bright ridges run straight,
  over the data's: 1 is the data's, below 1 a tangle of short or curled strands).
  bench/bench_shape.py checks them on the pieces that looked wrong.
- heightmaps only, on 128 px crops: PSD exp (slope of log power against log radial frequency,
  4 to 32 px wavelengths), grad W1 (Wasserstein distance of the |gradient| distributions, % of
  the real mean), and drainage after Priority-Flood+epsilon and D8: area exp (slope of the
  log-log CCDF of drainage area), A>=1% (share of cells draining 1 % of the crop), flow/L (the
  longest flow path over the crop side). A fifth baseline, spectral fBm fitted to the data's
  spectrum, joins them. These are values, not distances: compare them with the real crops' row.

--held-out asks a fairer question of texture models. A 256 px photograph holds only four
128 px crops that do not overlap, so the real crops (the floor) share the photograph's one
layout of light and clusters with every crop they are compared with, and a source scores well
at 128 px by copying that layout (quilting does). With --held-out every row is measured against
crops of the first half of each data image only; the syntheses are made from the second half,
a row of crops of the second half shows what real, unseen content of the same material scores,
and a model should have been trained on the second halves (--write-held-out DIR writes them).
On gravel at 128 px the unseen half scores about 3 times the floor (docs/quality-measures.md).

Prints one table and, with --json, writes every figure (the new ones under "memorisation",
"repetition", "shape" and "terrain"; --no-extras: the SWD and coherence only; --held-out: those
and "shape").
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from texgen.erosion import d8_receivers, fill_depressions  # open borders: the flow leaves there
from texgen.model import Generator, load_generator
from texgen.sampling import sample
from trainer.data import open_dataset
from trainer.data.imageset import ImageSet
from trainer.metrics import swd
from trainer.metrics.nearest_neighbours import memorisation

ROOT = Path(__file__).resolve().parent.parent
CROPS = (32, 64, 128)
OUTPUT = 512  # side of the outputs that crops are cut from (artists generate 512 px and more)
PER_OUTPUT = 16  # crops cut from each output: 16 of 128 px cover a 512 px output once
N = 1024
DRAWS = 2


@dataclasses.dataclass(frozen=True)
class Target:
    """What a model learnt: a folder under the data root, and how the trainer read it."""

    data: str
    kind: str = "texture"
    scale: float = 1.0
    conditional: bool = False
    augment: bool = False  # real crops turned and flipped as in training (terrain has no up)


# The bundled models and the data of their cards (assets/models/train_bundled.sh).
TARGETS = {
    "stone-texture": Target("cc0-textures/gravel", scale=0.5),
    "grass-texture": Target("cc0-textures/grass", scale=0.5),
    "terrain": Target("dem", kind="heightmap", augment=True),
    # Not bundled: a terrain model trained on the SRTM and 3DEP elevation of prepare_data.py (90 m
    # pixels; --model terrain-srtm=PATH).
    "terrain-srtm": Target("dem-srtm", kind="heightmap", augment=True),
    "textures-by-kind": Target("cc0-textures", scale=0.5, conditional=True),
    "lanham-gravel-baseline": Target("cc0-textures/gravel", scale=0.5),
    "lanham-grass-baseline": Target("cc0-textures/grass", scale=0.5),
    "lanham-kinds-baseline": Target("cc0-textures", scale=0.5),
    # Material models are measured on their albedo's luminance (structure: every column of the
    # table) and, in the JSON's "colour", on the albedo's mean colour per class.
    "ground-material": Target("colour-materials/ground/forest_floor", kind="material", scale=0.5),
    "rock-material": Target("colour-materials/rock", kind="material", scale=0.5),
}
REC709 = np.array([0.2126, 0.7152, 0.0722], np.float32)


def open_target(root: Path, target: Target) -> ImageSet:
    if target.kind == "material":
        from trainer.data.material import open_materials  # noqa: PLC0415

        data = open_materials(root / target.data, crop=16, scale=target.scale, classes=target.conditional,
                              log=lambda m: None)  # fmt: skip
        grey = [luminance(img, data.channel_names) for img in data.images]
        return ImageSet(grey, data.labels, data.class_names, data.description, data.license)
    return open_dataset(str(root / target.data), kind=target.kind, channels=1, crop=16, scale=target.scale,
                        classes=target.conditional, log=lambda m: None)  # fmt: skip


def luminance(img: np.ndarray, channel_names) -> np.ndarray:
    """1 x H x W in [-1, 1]: the Rec. 709 weighting of a material's albedo channels (CHW,
    [-1, 1]), as stored (sRGB values); the structure figures read this grey image."""
    albedo = [list(channel_names).index(f"albedo.{c}") for c in "rgb"]
    return np.tensordot(REC709, img[albedo], axes=1)[None].astype(np.float32)


def _grey(gen: Generator, img: np.ndarray) -> np.ndarray:
    """A model output (CHW, [-1, 1]) as the figures read it: a material's albedo luminance."""
    return luminance(img, gen.info.channel_names) if gen.info.kind == "material" else img


def fitting(data: ImageSet, crop: int) -> ImageSet | None:
    """The images of `data` that hold a crop of this side (None when none does)."""
    keep = [i for i, img in enumerate(data.images) if min(img.shape[1:]) >= crop]
    if not keep:
        return None
    return ImageSet([data.images[i] for i in keep], data.labels[keep], data.class_names, data.description, data.license)


def real_crops(data: ImageSet, n: int, crop: int, seed: int, augment: bool) -> np.ndarray:
    return data.batch(np.random.default_rng([seed, crop]), n, crop, augment=augment)[0]


def model_crops(gen: Generator, n: int, crop: int, seed: int, output: int | None = None) -> np.ndarray | None:
    """n crops (NCHW, [-1, 1]) of the model's outputs; a conditional model's classes equally
    often. Spatial: PER_OUTPUT random crops of each `output` px image. Fixed-size: its own
    outputs when they are `crop` px, else None (it makes nothing of that size)."""
    rng = np.random.default_rng([seed, crop, 1])
    output = output or OUTPUT
    classes = list(gen.info.classes) or [None]
    spatial = gen.info.spatial
    per = PER_OUTPUT if spatial else 1
    if not spatial and gen.info.native_height != crop:
        return None
    images = -(-n // per)
    out = []
    for c, label in enumerate(classes):
        count = images // len(classes) + (c < images % len(classes))
        seeds = range(seed * 100_000 + c * 10_000, seed * 100_000 + c * 10_000 + count)
        for s in sample(gen, seeds, size=(output, output) if spatial else None, label=label, seamless=False,
                        batch_size=4 if spatial else 64):  # fmt: skip
            img = _grey(gen, np.moveaxis(s.img, -1, 0) * 2.0 - 1.0)
            for _ in range(per):
                y, x = rng.integers(0, img.shape[1] - crop + 1), rng.integers(0, img.shape[2] - crop + 1)
                out.append(img[:, y : y + crop, x : x + crop])
    return np.stack(out[:n]).astype(np.float32)


def periodic_component(u: np.ndarray) -> np.ndarray:
    """Moisan's periodic component of an image (HxW): its borders join with no step."""
    h, w = u.shape
    v = np.zeros_like(u, dtype=np.float64)
    v[0, :] += u[-1, :] - u[0, :]
    v[-1, :] += u[0, :] - u[-1, :]
    v[:, 0] += u[:, -1] - u[:, 0]
    v[:, -1] += u[:, 0] - u[:, -1]
    q, r = np.arange(h)[:, None], np.arange(w)[None, :]
    denominator = 2 * np.cos(2 * np.pi * q / h) + 2 * np.cos(2 * np.pi * r / w) - 4
    denominator[0, 0] = 1.0
    smooth = np.fft.fft2(v) / denominator
    smooth[0, 0] = 0.0
    return u - np.real(np.fft.ifft2(smooth))


def phase_randomised(image: np.ndarray, rng: np.random.Generator, side: int | None = None) -> np.ndarray:
    """Random-phase noise of a CxHxW image: its periodic component's amplitude spectrum with
    the phase of white noise (the same phase for every channel), its mean added back. With
    `side`, a C x side x side image instead: the component, less its mean and over
    sqrt(H * W), laid in a side x side field of zeros (Galerne, Gousseau & Morel's spot), its
    amplitude spectrum given random phases and scaled by `side`, so the variance and the
    covariance at shifts the image holds are kept and nothing repeats at the image's period."""
    shape = image.shape[1:] if side is None else (side, side)
    phase = np.exp(1j * np.angle(np.fft.fft2(rng.standard_normal(shape))))
    out = []
    for channel in image:
        p = periodic_component(channel.astype(np.float64))
        mean = p.mean()
        if side is None:
            out.append(np.real(np.fft.ifft2(np.fft.fft2(p - mean) * phase)) + mean)
            continue
        h, w = min(p.shape[0], side), min(p.shape[1], side)
        spot = np.zeros(shape)
        spot[:h, :w] = (p - mean)[:h, :w] / np.sqrt(h * w)
        out.append(side * np.real(np.fft.ifft2(np.abs(np.fft.fft2(spot)) * phase)) + mean)
    return np.clip(np.stack(out), -1.0, 1.0).astype(np.float32)


def synthesised_crops(
    data: ImageSet,
    n: int,
    crop: int,
    rng: np.random.Generator,
    synthesise,
    *,
    augment: bool = False,
    least_side: int = 0,
) -> np.ndarray:
    """n crops of images made by `synthesise(image, rng)` from data images (a new synthesis for
    every PER_OUTPUT crops), the images picked as the real crops pick them (by class, in
    proportion to their crop positions; at least `least_side` px), the crops turned and flipped
    as they are (`augment`)."""
    out = []
    while len(out) < n:
        # One real crop picks the image (in proportion to its crop positions, by class).
        _, label = data.batch(rng, 1, crop, augment=False)
        pool = [i for i, lab in enumerate(data.labels)
                if lab == label[0] and min(data.images[i].shape[1:]) >= max(crop, least_side)]  # fmt: skip
        synth = synthesise(data.images[pool[rng.integers(len(pool))]], rng)
        for _ in range(PER_OUTPUT):
            y, x = rng.integers(0, synth.shape[1] - crop + 1), rng.integers(0, synth.shape[2] - crop + 1)
            patch = synth[:, y : y + crop, x : x + crop]
            if augment:  # one of the 8 symmetries of the square, as the real crops get
                op = int(rng.integers(8))
                patch = np.rot90(patch, k=op % 4, axes=(1, 2))
                patch = patch[:, :, ::-1] if op >= 4 else patch
            out.append(np.ascontiguousarray(patch))
    return np.stack(out[:n])


def phase_randomised_crops(data: ImageSet, n: int, crop: int, seed: int, augment: bool = False) -> np.ndarray:
    """n crops of phase-randomised data images (see synthesised_crops)."""
    return synthesised_crops(data, n, crop, np.random.default_rng([seed, crop, 2]), phase_randomised, augment=augment)


QUILT_PATCH = 40  # image quilting's patch side, px at the data's scale (issue 22's setting)
QUILT_OVERLAP = 8  # a fifth of the patch
QUILT_CANDIDATES = 1000  # random source positions tried for each patch
QUILT_TOLERANCE = 0.1  # a patch is drawn among the candidates within 10 % of the best overlap error
QUILT_SIDE = 256  # side of each quilted image crops are cut from


def min_cut(error: np.ndarray) -> np.ndarray:
    """The column of a top-to-bottom path of least total `error` (rows x cols), row by row,
    each step moving at most one column (dynamic programming, as Efros & Freeman)."""
    rows, cols = error.shape
    cost = error.astype(np.float64).copy()
    for r in range(1, rows):
        left = np.concatenate([[np.inf], cost[r - 1, :-1]])
        right = np.concatenate([cost[r - 1, 1:], [np.inf]])
        cost[r] += np.minimum(np.minimum(left, cost[r - 1]), right)
    path = np.empty(rows, np.int64)
    path[-1] = int(np.argmin(cost[-1]))
    for r in range(rows - 2, -1, -1):
        c = path[r + 1]
        lo, hi = max(0, c - 1), min(cols, c + 2)
        path[r] = lo + int(np.argmin(cost[r, lo:hi]))
    return path


def quilt(source: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    """Image quilting (Efros & Freeman 2001) of a CxHxW image into a C x side x side one:
    patches laid in raster order overlapping by QUILT_OVERLAP, each drawn from the source
    positions whose overlap agrees best with what is already laid, and joined along the
    overlap's minimum-error cut."""
    p, o = QUILT_PATCH, QUILT_OVERLAP
    step = p - o
    count = -(-(side - o) // step)
    size = count * step + o
    c, h, w = source.shape
    out = np.zeros((c, size, size), np.float32)
    left_strips = sliding_window_view(source, (p, o), axis=(1, 2))  # C x (h-p+1) x (w-o+1) x p x o
    top_strips = sliding_window_view(source, (o, p), axis=(1, 2))
    for i in range(count):
        for j in range(count):
            y, x = i * step, j * step
            ys, xs = rng.integers(0, h - p + 1, QUILT_CANDIDATES), rng.integers(0, w - p + 1, QUILT_CANDIDATES)
            error = np.zeros(QUILT_CANDIDATES)
            if j:
                error += ((left_strips[:, ys, xs] - out[:, None, y : y + p, x : x + o]) ** 2).sum(axis=(0, 2, 3))
            if i:
                error += ((top_strips[:, ys, xs] - out[:, None, y : y + o, x : x + p]) ** 2).sum(axis=(0, 2, 3))
            pick = rng.choice(np.flatnonzero(error <= error.min() * (1 + QUILT_TOLERANCE) + 1e-12))
            patch = source[:, ys[pick] : ys[pick] + p, xs[pick] : xs[pick] + p]
            new = np.ones((p, p), bool)  # where the new patch shows; the laid one keeps the rest
            if j:
                path = min_cut(((patch[:, :, :o] - out[:, y : y + p, x : x + o]) ** 2).sum(axis=0))
                new &= np.arange(p)[None, :] >= path[:, None]
            if i:
                path = min_cut(((patch[:, :o, :] - out[:, y : y + o, x : x + p]) ** 2).sum(axis=0).T)
                new &= np.arange(p)[:, None] >= path[None, :]
            out[:, y : y + p, x : x + p] = np.where(new, patch, out[:, y : y + p, x : x + p])
    return out[:, :side, :side]


def quilted_crops(data: ImageSet, n: int, crop: int, seed: int, augment: bool = False) -> np.ndarray:
    """n crops of quilted data images, QUILT_SIDE px (or the crop) a side (see synthesised_crops)."""
    side = max(QUILT_SIDE, crop)
    return synthesised_crops(
        data,
        n,
        crop,
        np.random.default_rng([seed, crop, 3]),
        lambda image, rng: quilt(image, side, rng),
        augment=augment,
        least_side=QUILT_PATCH,
    )


# --- Held out: sources that may not copy the crops they are measured against ----------------


def half_boxes(width: int, height: int) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """(left, top, right, bottom) of the first and the second half of a width x height image, cut
    across its longer side (its width when square): what halves() and write_held_out() cut."""
    if width >= height:
        return (0, 0, width // 2, height), (width // 2, 0, width, height)
    return (0, 0, width, height // 2), (0, height // 2, width, height)


def halves(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A CxHxW image cut across its longer side (its width when square): (first, second half)."""
    return tuple(
        image[:, top:bottom, left:right] for left, top, right, bottom in half_boxes(image.shape[2], image.shape[1])
    )


def split_halves(data: ImageSet) -> tuple[ImageSet, ImageSet]:
    """(reference, held out): the first and the second half of every data image, labels kept."""
    first, second = zip(*(halves(img) for img in data.images))
    return tuple(ImageSet(list(part), data.labels, data.class_names, data.description, data.license)
                 for part in (first, second))  # fmt: skip


def write_held_out(root: Path, target: Target, out: Path) -> list[Path]:
    """Writes the second half of each image file of the target's data folder, at the file's own
    resolution, into out / target.data (with the folder's LICENSE): what a model measured with
    --held-out trains on. Grey and colour image files; the written paths."""
    from PIL import Image  # noqa: PLC0415

    from texgen.atomic import atomic_path  # noqa: PLC0415

    if target.kind != "texture":
        raise SystemExit(f"--held-out measures texture data; {target.data} holds {target.kind}s (leave it out)")
    source = root / target.data
    files = sorted(f for f in source.rglob("*") if f.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff"))
    if not files:
        raise SystemExit(f"no image files under {source}: run `python assets/models/prepare_data.py {root}` first")
    written = []
    for f in files:
        with Image.open(f) as im:
            half = im.crop(half_boxes(*im.size)[1])
            dest = out / target.data / f.relative_to(source).with_suffix(".png")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(dest, keep_suffix=True) as part:
                half.save(part, format="PNG")
        written.append(dest)
    for licence in source.rglob("LICENSE*"):
        dest = out / target.data / licence.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(dest, keep_suffix=True) as part:
            part.write_bytes(licence.read_bytes())
    return written


Source = Callable[[int, int], "np.ndarray | None"]  # (crop, draw) -> crops


def measure(
    source: Source,
    data: ImageSet,
    augment: bool,
    *,
    n: int = N,
    draws: int = DRAWS,
    crops=CROPS,
    device: str | None = None,
    projections: int = 512,
    keep: dict | None = None,
) -> dict[str, dict]:
    """{"32": {"swd": mean, "draws": [...]}, ...}: SWD of `source`'s crops against real crops
    (draw d: real seed 1 + d), or {"skipped": why} where a size cannot be measured. `keep`: a
    dict that gets {crop: (real crops, source's crops)} of draw 0, for further figures."""
    out: dict[str, dict] = {}
    for crop in crops:
        fit = fitting(data, crop)
        if fit is None:
            out[str(crop)] = {"skipped": f"no data image holds a {crop} px crop"}
            continue
        values = []
        for d in range(draws):
            fake = source(crop, d)
            if fake is None:
                break
            real = real_crops(fit, n, crop, 1 + d, augment)
            if keep is not None and d == 0:
                keep[crop] = (real, fake)
            values.append((swd(real, fake, seed=d, device=device, n_projections=projections)["swd"],
                           coherence_distance(real, fake)))  # fmt: skip
        if not values:
            out[str(crop)] = {"skipped": f"makes no {crop} px images"}
        else:
            swds, coherences = zip(*values)
            out[str(crop)] = {"swd": float(np.mean(swds)), "draws": [round(v, 3) for v in swds],
                              "coherence": float(np.mean(coherences))}  # fmt: skip
    return out


COHERENCE_SCALES = (2.0, 4.0)  # structure-tensor integration scales, px (derivatives at 1 px)


def coherence(batch: np.ndarray, scale: float) -> np.ndarray:
    """Orientation coherence of every pixel of an NCHW batch (channels averaged), borders of
    twice the scale left out: (l1 - l2) / (l1 + l2) of the structure tensor."""
    from scipy import ndimage  # noqa: PLC0415 (scikit-image's dependency, as the bench's data; only the measures need it)

    grey = batch.mean(axis=1).astype(np.float64)
    gy = ndimage.gaussian_filter(grey, (0, 1.0, 1.0), order=(0, 1, 0))
    gx = ndimage.gaussian_filter(grey, (0, 1.0, 1.0), order=(0, 0, 1))
    sigma = (0, scale, scale)
    jxx, jyy, jxy = (ndimage.gaussian_filter(a, sigma) for a in (gx * gx, gy * gy, gx * gy))
    c = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / (jxx + jyy + 1e-12)
    m = int(2 * scale)
    return c[:, m:-m, m:-m].ravel()


def coherence_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """x1e3 the 1-D Wasserstein distance between the coherence of real and fake crops, mean
    over COHERENCE_SCALES (equal-size samples: the mean gap of the sorted values)."""
    out = []
    for scale in COHERENCE_SCALES:
        out.append(sample_gap(coherence(real, scale), coherence(fake, scale)))
    return 1e3 * float(np.mean(out))


def sample_gap(a: np.ndarray, b: np.ndarray) -> float:
    """1-D Wasserstein distance between two large samples: the larger thinned evenly to the
    smaller's size, then the mean gap of the sorted values."""
    n = min(len(a), len(b))
    a = np.sort(a[np.linspace(0, len(a) - 1, n).astype(int)])
    b = np.sort(b[np.linspace(0, len(b) - 1, n).astype(int)])
    return float(np.abs(a - b).mean())


# --- Memorisation: how close a source's crops come to a crop of the data ------------------------

MEMORISATION_QUERIES = 256  # crops of each source searched (draw 0's first), per crop size
MEMORISATION_BATCH = 8  # crops searched at once (each in every symmetry)


def symmetries(batch: np.ndarray, count: int) -> np.ndarray:
    """(..., K, C, H, W): each crop of an (..., C, H, W) batch in the first `count` of the 8
    symmetries of the square (1: itself; 8: the four turns, and each flipped)."""
    out = []
    for op in range(count):
        turned = np.rot90(batch, k=op % 4, axes=(-2, -1))
        out.append(turned[..., ::-1] if op >= 4 else turned)
    return np.stack(out, axis=-4)


class CropSearch:
    """Every crop position (stride 1) of the data images, for the crop nearest to a given one.

    The distance is the RMS difference per value in the data's units ([-1, 1]), computed for
    all positions of an image at once by FFT cross-correlation: |q - x|^2 = |q|^2 + |x|^2 - 2 q.x.
    With `count_symmetries` 8 (data trained turned and flipped) each crop is compared in all 8
    symmetries of the square and the nearest counts."""

    def __init__(self, data: ImageSet, crop: int, count_symmetries: int = 1):
        from scipy import fft  # noqa: PLC0415 (as ndimage in coherence())

        self.crop, self.count = crop, count_symmetries
        self.images = []  # (spectrum per channel, window sums of squares, FFT shape, h, w)
        for img in data.images:
            _, h, w = img.shape
            if min(h, w) < crop:
                continue
            shape = (fft.next_fast_len(h, real=True), fft.next_fast_len(w, real=True))
            spectrum = fft.rfft2(img.astype(np.float32), s=shape)
            sq = np.pad(np.cumsum(np.cumsum((img.astype(np.float64) ** 2).sum(axis=0), 0), 1), ((1, 0), (1, 0)))
            sums = sq[crop:, crop:] - sq[:-crop, crop:] - sq[crop:, :-crop] + sq[:-crop, :-crop]
            self.images.append((spectrum, sums, shape, h, w))

    def nearest(self, crops: np.ndarray, at: list[tuple[int, int, int]] | None = None) -> np.ndarray:
        """The RMS distance of each crop (NCHW) to its nearest data crop; with `at` ((image,
        y, x) of each crop, its image's index among those that hold the crop), the data crops
        that overlap the crop's own position are left out (real crops: the distance to fresh
        data, not to themselves)."""
        from scipy import fft  # noqa: PLC0415 (as ndimage in coherence())

        c = self.crop
        out = np.full(len(crops), np.inf)
        for start in range(0, len(crops), MEMORISATION_BATCH):
            batch = crops[start : start + MEMORISATION_BATCH].astype(np.float32)
            queries = symmetries(batch, self.count)  # B x K x C x c x c
            norms = (batch.astype(np.float64) ** 2).sum(axis=(1, 2, 3))
            for index, (spectrum, sums, shape, h, w) in enumerate(self.images):
                q = fft.rfft2(queries, s=shape)
                product = fft.irfft2(np.conj(q) * spectrum, s=shape).sum(axis=2)[..., : h - c + 1, : w - c + 1]
                ssd = norms[:, None, None, None] + sums - 2.0 * product  # B x K x positions
                if at is not None:
                    for b in range(len(batch)):
                        i, y, x = at[start + b]
                        if i == index:
                            ssd[b, :, max(0, y - c + 1) : y + c, max(0, x - c + 1) : x + c] = np.inf
                best = ssd.reshape(len(batch), -1).min(axis=1)
                out[start : start + len(batch)] = np.minimum(out[start : start + len(batch)], best)
        return np.sqrt(np.maximum(out, 0.0) / crops[0].size)


def positioned_crops(data: ImageSet, count: int, crop: int, seed: int) -> tuple[np.ndarray, list]:
    """`count` crops of the data images at known positions: (crops, [(image, y, x), ...]), the
    image picked in proportion to its crop positions (indices among the images that hold it)."""
    rng = np.random.default_rng([seed, crop, 7])
    images = [img for img in data.images if min(img.shape[1:]) >= crop]
    weights = np.array([(i.shape[1] - crop + 1) * (i.shape[2] - crop + 1) for i in images], float)
    out, at = [], []
    for _ in range(count):
        i = int(rng.choice(len(images), p=weights / weights.sum()))
        y, x = rng.integers(0, images[i].shape[1] - crop + 1), rng.integers(0, images[i].shape[2] - crop + 1)
        out.append(images[i][:, y : y + crop, x : x + crop])
        at.append((i, int(y), int(x)))
    return np.stack(out), at


_SEARCHES: dict = {}


COPY_TOLERANCE = 0.02  # a data crop this close (x the data's deviation) to another is a copy of it
COPY_SHARE = 0.1  # the data repeats itself where this share of real crops has a copy elsewhere in it


def _search(data: ImageSet, crop: int, augment: bool) -> tuple[CropSearch, float | str]:
    """The search over data's crops and the fresh-content distance (median distance of real
    crops to the nearest data crop that does not overlap them), computed once per data set
    (the model and its baselines share it); instead of the distance, why there is none: most
    crops overlap every other one, or the data repeats itself (a texture tiled within its own
    file: its crops have exact copies, so "as far as fresh content" would be 0)."""
    digest = hashlib.sha1()
    for img in data.images:
        digest.update(np.ascontiguousarray(img).tobytes())
    key = (digest.hexdigest(), crop, augment, MEMORISATION_QUERIES)
    if key not in _SEARCHES:
        search = CropSearch(data, crop, 8 if augment else 1)
        crops, at = positioned_crops(data, MEMORISATION_QUERIES, crop, seed=1)
        if len(_SEARCHES) >= 3:  # one data set at a time (the bench measures them in turn)
            _SEARCHES.pop(next(iter(_SEARCHES)))
        distances = search.nearest(crops, at)  # inf: every data crop overlaps this one
        deviation = float(np.mean([img.std() for img in data.images if min(img.shape[1:]) >= crop]))
        copies = float((distances < COPY_TOLERANCE * deviation).mean())
        if np.isfinite(distances).mean() < 0.5:
            reference = f"most {crop} px crops of the data overlap every other one: no fresh content to compare"
        elif copies >= COPY_SHARE:
            reference = (f"the data repeats itself: {copies:.0%} of its {crop} px crops have an exact copy elsewhere "
                         "in it (a texture tiled within its file), so fresh content cannot be told from a copy")  # fmt: skip
        else:
            reference = float(np.median(distances))
        _SEARCHES[key] = (search, reference)
    return _SEARCHES[key]


def memorisation_ratio(crops: np.ndarray, data: ImageSet, augment: bool, *, fresh: bool = False) -> dict:
    """{"ratio", "nn_median", "fresh_median", "queries"}: the median distance of the first
    MEMORISATION_QUERIES `crops` to their nearest crop of the data (any position, stride 1),
    over the median distance of real crops to the nearest data crop that does not overlap
    them (fresh content from the same data). About 1: as far from the data as new content of
    it; towards 0: copies. `fresh`: ignore `crops` and measure another draw of real crops as
    the reference is measured (the floor, about 1). {"skipped": why} where most real crops
    overlap every other crop of the data (images under about twice the crop's side), or where
    the data repeats itself (see _search)."""
    crop = crops.shape[-1]
    search, reference = _search(data, crop, augment)
    if isinstance(reference, str):
        return {"skipped": reference}
    if fresh:
        queries, at = positioned_crops(data, min(len(crops), MEMORISATION_QUERIES), crop, seed=2)
        distances = search.nearest(queries, at)
    else:
        distances = search.nearest(crops[:MEMORISATION_QUERIES])
    median = float(np.median(distances))
    return {"ratio": median / reference if reference > 0 else float("nan"), "nn_median": median,
            "fresh_median": reference, "queries": len(distances)}  # fmt: skip


def memorisation_figures(kept: dict, data: ImageSet, augment: bool, fresh: bool = False) -> dict:
    """{"32": {...}, "64": {...}, ...}: memorisation_ratio at each crop size kept by measure()
    (data trained turned and flipped: at MEMORISATION_CROP only, each search costing 8);
    at MEMORISATION_CROP also the project's memorisation() against draw 0's random real crops
    ("random_subset_ratio": about 1 for every source, see docs/quality-measures.md)."""
    out = {}
    for crop, (real, fake) in kept.items():
        if augment and crop != MEMORISATION_CROP:
            continue
        fit = fitting(data, crop)
        figures = memorisation_ratio(fake, fit, augment, fresh=fresh)
        if crop == MEMORISATION_CROP:
            figures["random_subset_ratio"] = memorisation(fake[:MEMORISATION_QUERIES], real)["memorisation_ratio"]
        out[str(crop)] = figures
    return out


MEMORISATION_CROP = 64  # the table's column


# --- Repetition: the highest autocorrelation peak away from zero shift --------------------------

REPETITION_HIGHPASS = 16.0  # px: the image less its Gaussian blur of this sigma (trends are no repeat)
REPETITION_LEAST_LOBE = 3  # px: shifts nearer than this are the central lobe whatever the profile
REPETITION_IMAGES = 2  # images scored per source, mean
REPETITION_LEAST = 128  # px: the least side scored


def repetition(image: np.ndarray) -> dict:
    """{"score", "shift", "lobe"}: how much of a (C x) H x W image repeats at some shift.

    The image (channels averaged) less its Gaussian blur (sigma REPETITION_HIGHPASS px) and its
    mean; its linear autocorrelation (zero-padded FFT, so the image's own wrap never counts,
    not even for a tileable output), each shift's sum divided by the number of pixel pairs it
    holds and by the variance: 1 at zero shift, 1 at any shift where the image repeats exactly.
    Shifts of at most half the side in each axis (so at least a quarter of the image overlaps)
    outside the central lobe (radii before the radial mean first falls to 0, at least
    REPETITION_LEAST_LOBE px); the score is the highest value among them. An image tiled from a
    64 px patch scores 1; photographs of gravel about 0.05."""
    from scipy import ndimage  # noqa: PLC0415 (as in coherence())

    g = np.asarray(image, np.float64)
    g = g.mean(axis=0) if g.ndim == 3 else g
    g = g - ndimage.gaussian_filter(g, REPETITION_HIGHPASS, mode="reflect")
    g = g - g.mean()
    h, w = g.shape
    shape = (2 * h, 2 * w)
    sums = np.fft.irfft2(np.abs(np.fft.rfft2(g, s=shape)) ** 2, s=shape)
    pairs = np.fft.irfft2(np.abs(np.fft.rfft2(np.ones((h, w)), s=shape)) ** 2, s=shape)
    r = np.fft.fftshift(sums / np.maximum(np.rint(pairs), 1.0)) / max((g**2).mean(), 1e-30)
    dy, dx = np.meshgrid(np.arange(-h, h), np.arange(-w, w), indexing="ij")
    radius = np.hypot(dy, dx)
    window = (np.abs(dy) <= h // 2) & (np.abs(dx) <= w // 2)
    rings = np.rint(radius[window]).astype(int)
    profile = np.bincount(rings, r[window]) / np.maximum(np.bincount(rings), 1)
    falls = np.flatnonzero(profile <= 0)
    lobe = max(REPETITION_LEAST_LOBE, int(falls[0]) if len(falls) else len(profile))
    candidates = np.where(window & (radius >= lobe), r, -np.inf)
    k = np.unravel_index(int(np.argmax(candidates)), r.shape)
    if not np.isfinite(candidates[k]):
        return {"score": float("nan"), "shift": None, "lobe": lobe}
    return {"score": float(candidates[k]), "shift": [int(dy[k]), int(dx[k])], "lobe": lobe}


def repetition_figures(images) -> dict:
    """{"score": mean, "images": [...per image...], "side": [...]} over an iterable of images."""
    scores = [dict(repetition(img), side=int(min(np.shape(img)[-2:]))) for img in images]
    if not scores:
        return {"skipped": f"no image of at least {REPETITION_LEAST} px"}
    return {"score": float(np.mean([s["score"] for s in scores])), "images": scores}


def largest_squares(data: ImageSet) -> list[np.ndarray]:
    """The central largest square of each data image of at least REPETITION_LEAST px a side (of
    the largest image when none is)."""
    images = [img for img in data.images if min(img.shape[1:]) >= REPETITION_LEAST]
    images = images or [max(data.images, key=lambda i: min(i.shape[1:]))]
    out = []
    for img in images:
        side = min(img.shape[1:])
        y, x = (img.shape[1] - side) // 2, (img.shape[2] - side) // 2
        out.append(img[:, y : y + side, x : x + side])
    return out


def synthesis_sources(data: ImageSet) -> list[np.ndarray]:
    """The data images the baselines' syntheses for the repetition score start from: each of
    those of at least REPETITION_LEAST px a side (else the largest: a synthesis of a small
    image repeats because its source is small, not because of the method), in turn, at least
    REPETITION_IMAGES in all (so every class of a conditional data set has one)."""
    eligible = [i for i in data.images if min(i.shape[1:]) >= REPETITION_LEAST]
    eligible = eligible or [max(data.images, key=lambda i: min(i.shape[1:]))]
    return [eligible[k % len(eligible)] for k in range(max(REPETITION_IMAGES, len(eligible)))]


def model_images(gen: Generator, count: int, seed: int, output: int | None = None):
    """`count` of the model's outputs (CxHxW, [-1, 1]), `output` px a side (a fixed-size model:
    its own size, none under REPETITION_LEAST), its classes in turn."""
    classes = list(gen.info.classes) or [None]
    spatial = gen.info.spatial
    if not spatial and gen.info.native_height < REPETITION_LEAST:
        return
    side = output or OUTPUT
    for k in range(count):
        s = next(iter(sample(gen, [seed + k], size=(side, side) if spatial else None,
                             label=classes[k % len(classes)], seamless=False, batch_size=1)))  # fmt: skip
        yield _grey(gen, np.moveaxis(s.img, -1, 0) * 2.0 - 1.0)


# --- Shape: the sizes of the things drawn, and periodic artefacts -----------------------------

SHAPE_CROP = 128  # px: the crops the shape figures read (the largest measured of 64 px or more, if not this)
SHAPE_SMOOTH = 1.0  # px: Gaussian blur before thresholding, so one-pixel noise makes no component
SHAPE_LEVELS = (0.2, 0.35, 0.5, 0.65, 0.8)  # quantiles of the real crops' values: the thresholds
SHAPE_LEAST_AREA = 4  # px: smaller components are noise, not things
PEAK_WINDOW = 32  # px: the windows whose spectra are searched for sharp peaks (half overlapping)
PEAK_BAND = 0.12  # cycles/px: only frequencies above this (periods under about 8 px)
PEAK_SMOOTH = 5  # frequency bins: the local mean each bin's log power is compared with


def component_counts(crops: np.ndarray, thresholds) -> np.ndarray:
    """(levels x 2) x bins: per threshold and phase (the pixels above it, then those at or
    below), the mean number per crop of 8-connected components whose area falls in each octave
    bin (4-8 px, 8-16 px, ... up to the crop's area), over NCHW crops (channels averaged,
    blurred by SHAPE_SMOOTH px): how many stones, blades, plates or gaps of each size."""
    from scipy import ndimage  # noqa: PLC0415 (as in coherence())

    grey = ndimage.gaussian_filter(crops.mean(axis=1).astype(np.float64), (0, SHAPE_SMOOTH, SHAPE_SMOOTH))
    edges = SHAPE_LEAST_AREA * 2.0 ** np.arange(0, np.log2(grey[0].size / SHAPE_LEAST_AREA) + 1.01)
    eight = np.ones((3, 3), bool)
    out = []
    for t in thresholds:
        for above in (True, False):
            counts = np.zeros(len(edges) - 1)
            for g in grey:
                labels, _ = ndimage.label(g > t if above else g <= t, structure=eight)
                counts += np.histogram(np.bincount(labels.ravel())[1:], edges)[0]
            out.append(counts / len(grey))
    return np.array(out)


def quantile_gap(a: np.ndarray, b: np.ndarray) -> float:
    """1-D Wasserstein distance between two samples, by 100 quantiles (nan if one is empty)."""
    if not len(a) or not len(b):
        return float("nan")
    q = np.linspace(0.005, 0.995, 100)
    return float(np.abs(np.quantile(a, q) - np.quantile(b, q)).mean())


def component_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """How differently sized the things in fake crops are from those in real ones: at each of
    the real crops' grey levels at SHAPE_LEVELS, for each phase, the L1 distance between the
    two crops' component_counts over the real crops' total, mean over levels and phases. 0: as
    many components of every size; 0.2: a fifth of the real count missing, extra or of
    another octave of size."""
    thresholds = np.quantile(real.mean(axis=1), SHAPE_LEVELS)
    r, f = component_counts(real, thresholds), component_counts(fake, thresholds)
    return float(np.mean(np.abs(r - f).sum(axis=1) / np.maximum(r.sum(axis=1), 1e-12)))


def peakiness(crops: np.ndarray) -> np.ndarray:
    """Per NCHW crop (channels averaged): the mean over its PEAK_WINDOW px windows (half
    overlapping, less their mean, Hann-weighted) of the largest excess of log power over its
    PEAK_SMOOTH-bin local mean, above PEAK_BAND cycles/px. Hatching, stripes and checkerboards
    a few pixels apart make sharp peaks; natural detail has a smooth local spectrum."""
    from scipy import ndimage  # noqa: PLC0415 (as in coherence())

    w = PEAK_WINDOW
    grey = crops.mean(axis=1).astype(np.float64)
    windows = sliding_window_view(grey, (w, w), axis=(1, 2))[:, :: w // 2, :: w // 2]
    windows = windows - windows.mean(axis=(-2, -1), keepdims=True)
    power = np.abs(np.fft.fft2(windows * np.outer(np.hanning(w), np.hanning(w)))) ** 2
    log = np.log(power + 1e-12 * (power.mean(axis=(-2, -1), keepdims=True) + 1e-30))
    local = ndimage.uniform_filter(log, (0, 0, 0, PEAK_SMOOTH, PEAK_SMOOTH), mode="wrap")
    f = np.fft.fftfreq(w)
    band = np.hypot(f[:, None], f[None, :]) > PEAK_BAND
    return (log - local)[..., band].max(axis=-1).mean(axis=(1, 2))


def peak_distance(real: np.ndarray, fake: np.ndarray, real_peakiness: np.ndarray | None = None) -> float:
    """The Wasserstein distance between the peakiness of real and fake crops over the real
    crops' spread of it (`real_peakiness`: the real crops', when already computed)."""
    pr = peakiness(real) if real_peakiness is None else real_peakiness
    return quantile_gap(pr, peakiness(fake)) / max(float(pr.std()), 1e-12)


RUN_SIGMA = 1.0  # px: the Hessian's scale (grass blades are 1 to 2 px wide at the training scale)
RUN_SHARE = 0.2  # each crop's ridge pixels: the strongest fifth of its ridge response
RUN_BINS = 16  # ridge orientations, 11.25 degrees each
RUN_TOLERANCE = 2  # bins: how far a run's next pixel's orientation may turn (22.5 degrees)
RUN_REACH = 20  # px: the longest run counted each way; the crop's border this wide is left out
RUN_CROPS = 256  # crops read (the first): other draws of 256 real crops read within 0.01 of 1


def straight_runs(crops: np.ndarray, bright: bool = True) -> np.ndarray:
    """Per NCHW crop (channels averaged): the mean straight run of its ridge pixels, in px.

    Ridges are the strongest RUN_SHARE of the crop's ridge response (the Hessian's most
    negative eigenvalue at RUN_SIGMA; of the negated crop for dark ridges: gaps, creases). A
    ridge pixel's run counts the steps, each way along its own ridge direction, up to
    RUN_REACH, until the path leaves the ridges or meets one turned by more than
    RUN_TOLERANCE orientation bins. Straight blades and streaks run far; curled strands, forks
    and speckle do not (Geisler et al. 2001 measure such edge co-occurrence in photographs)."""
    from scipy import ndimage  # noqa: PLC0415 (as in coherence())

    grey = crops[:RUN_CROPS].mean(axis=1).astype(np.float64) * (1.0 if bright else -1.0)
    scale = (0, RUN_SIGMA, RUN_SIGMA)
    hyy = ndimage.gaussian_filter(grey, scale, order=(0, 2, 0))
    hxx = ndimage.gaussian_filter(grey, scale, order=(0, 0, 2))
    hxy = ndimage.gaussian_filter(grey, scale, order=(0, 1, 1))
    response = -((hxx + hyy) / 2 - np.hypot((hxx - hyy) / 2, hxy))  # minus the lower eigenvalue
    level = np.quantile(response.reshape(len(grey), -1), 1 - RUN_SHARE, axis=1)[:, None, None]
    ridge = response > level
    # The upper eigenvalue's eigenvector, as an angle from the columns' axis: along the ridge.
    along = np.round(0.5 * np.arctan2(2 * hxy, hxx - hyy) / np.pi * RUN_BINS).astype(int) % RUN_BINS
    run = np.zeros(grey.shape, np.int32)
    for k in range(RUN_BINS):
        turn = np.abs((along - k + RUN_BINS // 2) % RUN_BINS - RUN_BINS // 2)
        near = ridge & (turn <= RUN_TOLERANCE)
        theta = np.pi * k / RUN_BINS
        for sign in (1, -1):
            alive = ridge & (along == k)
            for step in range(1, RUN_REACH + 1):
                dy, dx = round(sign * step * np.sin(theta)), round(sign * step * np.cos(theta))
                alive &= np.roll(near, (-dy, -dx), axis=(1, 2))  # the pixel `step` px along
                run += alive
    inner = (slice(None), slice(RUN_REACH, -RUN_REACH), slice(RUN_REACH, -RUN_REACH))  # no wrapped path
    counted = ridge[inner]
    return (run[inner] * counted).sum(axis=(1, 2)) / np.maximum(counted.sum(axis=(1, 2)), 1)


def run_ratios(real: np.ndarray, fake: np.ndarray, real_runs: tuple[float, float] | None = None) -> dict:
    """{"runs": .., "runs_dark": ..}: the mean straight run of fake crops' bright and dark
    ridges over the real crops' (`real_runs`: those two means, when already computed). 1 is
    the data's; below 1, strands shorter or more curled (a tangle); above 1, streaks, creases
    or worms longer than the data's."""
    if real.shape[-1] <= 2 * RUN_REACH:
        return {}
    if real_runs is None:
        real_runs = tuple(float(straight_runs(real, bright).mean()) for bright in (True, False))
    return {key: float(straight_runs(fake, bright).mean() / max(r, 1e-12))
            for (key, bright), r in zip((("runs", True), ("runs_dark", False)), real_runs)}  # fmt: skip


def shape_figures(kept: dict) -> dict:
    """{"crop", "components", "peaks", "runs", "runs_dark"} on the kept (real, source) crops of
    SHAPE_CROP px (else the largest kept of at least 64): component_distance, peak_distance and
    run_ratios."""
    crop = SHAPE_CROP if SHAPE_CROP in kept else max([c for c in kept if c >= 64], default=None)
    if crop is None:
        return {"skipped": "no crop of 64 px or more measured"}
    real, fake = kept[crop]
    return {"crop": crop, "components": component_distance(real, fake), "peaks": peak_distance(real, fake),
            **run_ratios(real, fake)}  # fmt: skip


# --- Heightmaps: spectrum, slopes and drainage ------------------------------------------------------

TERRAIN_CROP = 128  # px: the crops the heightmap figures read (the largest measured, if not this)
SPECTRUM_BAND = (1 / 32, 1 / 4)  # cycles/px: the middle band the power-spectrum slope is fitted over
DRAINAGE_CROPS = 16  # crops (draw 0's first) whose drainage is traced
AREA_FIT = (4, 1 / 32)  # the CCDF of drainage area is fitted from 4 cells to 1/32 of the crop
MAJOR_SHARE = 0.01  # "major" cells drain at least 1 % of the crop


def power_spectrum(crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies in cycles/px, mean power spectral density) of NCHW crops (channels averaged):
    each crop less its least-squares plane, Hann-windowed, |FFT|^2 over the window's sum of
    squares, averaged over crops and over rings of integer radius."""
    g = crops.mean(axis=1).astype(np.float64)
    n, h, w = g.shape
    yy, xx = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    design = np.stack([np.ones(h * w), yy.ravel(), xx.ravel()], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, g.reshape(n, -1).T, rcond=None)
    g = g - (design @ coefficients).T.reshape(n, h, w)
    window = np.outer(np.hanning(h), np.hanning(w))
    power = (np.abs(np.fft.fft2(g * window)) ** 2).mean(axis=0) / (window**2).sum()
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    radius = np.hypot(fy, fx)
    rings = np.rint(radius * min(h, w)).astype(int)
    count = np.bincount(rings.ravel())
    keep = count > 0
    f = np.bincount(rings.ravel(), radius.ravel())[keep] / count[keep]
    p = np.bincount(rings.ravel(), power.ravel())[keep] / count[keep]
    return f[1:], p[1:]


def spectral_fit(crops: np.ndarray) -> tuple[float, float]:
    """(slope, log10 of the density at 1 cycle/px): the line through log10 power against log10
    radial frequency over SPECTRUM_BAND. Brownian relief gives -3, real elevation about -2 to -3
    (steeper: smoother), white noise 0."""
    f, p = power_spectrum(crops)
    band = (f >= SPECTRUM_BAND[0]) & (f <= SPECTRUM_BAND[1]) & (p > 0)
    slope, intercept = np.polyfit(np.log10(f[band]), np.log10(p[band]), 1)
    return float(slope), float(intercept)


FBM_FLAT_BELOW = SPECTRUM_BAND[0]  # cycles/px: the baseline's power law stops where its fit starts


def fbm(
    side: int,
    slope: float,
    intercept: float,
    rng: np.random.Generator,
    mean: float = 0.0,
    flat_below: float | None = None,
) -> np.ndarray:
    """Spectral fractional Brownian relief, 1 x side x side: white noise with its spectrum
    shaped so the power density is 10^intercept * f^slope (f in cycles/px, nothing at f = 0),
    plus `mean`; the inverse of spectral_fit. `flat_below`: the density stays at its value
    there for lower frequencies (a power law as steep as a DEM's, carried down to 1/side,
    would give relief many times the data's range)."""
    fy, fx = np.meshgrid(np.fft.fftfreq(side), np.fft.fftfreq(side), indexing="ij")
    f = np.hypot(fy, fx)
    f[0, 0] = 1.0
    if flat_below:
        f = np.maximum(f, flat_below)
    gain = np.sqrt(10.0**intercept * f**slope)
    gain[0, 0] = 0.0
    noise = np.fft.fft2(rng.standard_normal((side, side)))
    return (np.real(np.fft.ifft2(noise * gain)) + mean)[None].astype(np.float32)


def slope_magnitudes(crops: np.ndarray) -> np.ndarray:
    """|gradient| of every pixel of NCHW height crops (channels averaged), in data units a px
    (central differences; one-sided at the borders)."""
    g = crops.mean(axis=1).astype(np.float64)
    gy, gx = np.gradient(g, axis=(1, 2))
    return np.hypot(gy, gx).ravel()


def slope_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """The 1-D Wasserstein distance between the |gradient| distributions of real and fake
    height crops, in per cent of the real crops' mean |gradient| (both in the data's units:
    each DEM file spans [-1, 1], and a heightmap model learnt and outputs those units)."""
    a = slope_magnitudes(real)
    return 100.0 * sample_gap(a, slope_magnitudes(fake)) / max(float(a.mean()), 1e-12)


def drainage(heights: np.ndarray) -> tuple[np.ndarray, float]:
    """(drainage area of every cell, in cells, itself included; the longest flow path, in px):
    depressions filled, D8 directions, and the cells taken from the highest down, each passing
    its area (and its longest upstream path plus its step) to its receiver."""
    filled = fill_depressions(heights)
    receiver, step = d8_receivers(filled)
    order = np.argsort(-filled.ravel(), kind="stable").tolist()
    area = [1.0] * filled.size
    upstream = [0.0] * filled.size
    rec, st = receiver.tolist(), step.tolist()
    longest = 0.0
    for i in order:
        r = rec[i]
        if r < 0:
            longest = max(longest, upstream[i])
            continue
        area[r] += area[i]
        upstream[r] = max(upstream[r], upstream[i] + st[i])
    return np.array(area), max(longest, max(upstream))


def drainage_statistics(crops: np.ndarray) -> dict:
    """{"area_exponent", "major_share", "longest_path"} over NCHW height crops: the slope of the
    log-log CCDF P(A >= a) of drainage area, pooled over the crops, fitted from AREA_FIT[0]
    cells to AREA_FIT[1] of a crop (real river networks: about -0.4 to -0.5); the share of
    cells draining at least MAJOR_SHARE of their crop; the longest flow path over the crop
    side (mean over crops)."""
    areas, longest = [], []
    for crop in crops:
        a, path = drainage(crop.mean(axis=0).astype(np.float64))
        areas.append(a)
        longest.append(path / crop.shape[-1])
    cells = crops.shape[-1] * crops.shape[-2]
    pooled = np.sort(np.concatenate(areas))
    grid = np.geomspace(AREA_FIT[0], AREA_FIT[1] * cells, 12)
    ccdf = 1.0 - np.searchsorted(pooled, grid, side="left") / len(pooled)
    keep = ccdf > 0
    exponent = float(np.polyfit(np.log10(grid[keep]), np.log10(ccdf[keep]), 1)[0]) if keep.sum() >= 2 else float("nan")
    return {"area_exponent": exponent, "major_share": float((pooled >= MAJOR_SHARE * cells).mean()),
            "longest_path": float(np.mean(longest))}  # fmt: skip


_TERRAIN_REFERENCE: dict = {}


def terrain_statistics(crops: np.ndarray) -> dict:
    """The heightmap figures of one set of crops: spectral slope, drainage statistics."""
    slope, _ = spectral_fit(crops)
    return {"spectral_slope": slope, **drainage_statistics(crops[:DRAINAGE_CROPS])}


def terrain_figures(real: np.ndarray, fake: np.ndarray) -> dict:
    """{"crop", "spectral_slope", "slope_distance", "area_exponent", "major_share",
    "longest_path", "real": {the same of the real crops}}: the fake crops' figures beside the
    real crops' (computed once per set of real crops)."""
    key = hash(real.tobytes())
    if key not in _TERRAIN_REFERENCE:
        _TERRAIN_REFERENCE.clear()
        _TERRAIN_REFERENCE[key] = terrain_statistics(real)
    return {"crop": int(fake.shape[-1]), **terrain_statistics(fake), "slope_distance": slope_distance(real, fake),
            "real": _TERRAIN_REFERENCE[key]}  # fmt: skip


def terrain_crop(kept: dict) -> int | None:
    """The crop size the heightmap figures read: TERRAIN_CROP if measured, else the largest
    measured of at least 64 px (None: none)."""
    if TERRAIN_CROP in kept:
        return TERRAIN_CROP
    sizes = [c for c in kept if c >= 64]
    return max(sizes) if sizes else None


def extra_figures(kept: dict, data: ImageSet, target: Target, images, *, fresh: bool = False) -> dict:
    """The figures beside SWD and coherence, under their own keys: "memorisation" (each crop
    size kept), "repetition" (of `images`, an iterable of whole images), "shape" (textures and
    materials) and, for heightmaps, "terrain". `fresh`: the source is the real crops (memorisation by the floor's rule)."""
    out: dict = {"memorisation": memorisation_figures(kept, data, target.augment, fresh=fresh),
                 "repetition": repetition_figures(images)}  # fmt: skip
    if target.kind != "heightmap":
        out["shape"] = shape_figures(kept)
    if target.kind == "heightmap":
        crop = terrain_crop(kept)
        out["terrain"] = terrain_figures(*kept[crop]) if crop else {"skipped": "no crop of 64 px or more measured"}
    return out


def _shape_alone(shape: bool | None, held_out: bool, extras: bool, target: Target) -> bool:
    """Whether a measurement without the extras still gets the shape figures (`shape`, by
    default when held out; never for heightmaps; with the extras they come in extra_figures)."""
    return bool(shape if shape is not None else held_out) and not extras and target.kind != "heightmap"


def measure_model(
    path: Path,
    target: Target,
    root: Path,
    threads: int | None = None,
    extras: bool = True,
    held_out: bool = False,
    shape: bool | None = None,
    **kw,
) -> dict[str, dict]:
    """The model's figures: {"32": {"swd", "coherence", ...}, ...} and, with `extras`,
    "memorisation", "repetition" (of REPETITION_IMAGES outputs of OUTPUT px, or one of each
    class if more), "shape" and, for a heightmap, "terrain" (see extra_figures). `held_out`:
    against the first half of each data image only (see measure_baselines). `shape`: the shape
    figures without the other extras (default: with the extras or held out)."""
    gen = load_generator(path, device="cpu", threads=threads)
    data = open_target(root, target)
    data = split_halves(data)[0] if held_out else data
    n = kw.get("n", N)
    kept: dict = {}
    out = measure(lambda crop, d: model_crops(gen, n, crop, 1000 + d), data, target.augment, keep=kept, **kw)
    if _shape_alone(shape, held_out, extras, target):
        out["shape"] = shape_figures(kept)
    if extras:
        images = model_images(gen, max(REPETITION_IMAGES, len(gen.info.classes)), 5000)
        out.update(extra_figures(kept, data, target, images))
    if target.kind == "material":
        out["colour"] = colour_figures(gen, root, target)
    return out


def colour_figures(gen: Generator, root: Path, target: Target, count: int = 8) -> dict:
    """Per class, the mean albedo (sRGB, 0-255) of `count` 256 px outputs and of the data's
    images, the distance between them, and both mean chromas (max - min of R, G, B: 0 is grey)."""
    from trainer.data.material import open_materials  # noqa: PLC0415

    data = open_materials(root / target.data, crop=16, scale=target.scale, classes=target.conditional,
                          log=lambda m: None)  # fmt: skip
    albedo = [data.channel_names.index(f"albedo.{c}") for c in "rgb"]
    made_albedo = [gen.info.channel_names.index(f"albedo.{c}") for c in "rgb"]
    out = {}
    for c, name in enumerate(gen.info.classes or [None]):
        label = name if name is not None else None
        made = np.stack([s.img[..., made_albedo] for s in sample(gen, range(count), size=(256, 256), label=label)])
        real = [(img[albedo] + 1) / 2 for img, lab in zip(data.images, data.labels) if lab == c or name is None]
        real_pixels = np.concatenate([r.reshape(3, -1) for r in real], axis=1).T
        made_pixels = made.reshape(-1, 3)
        m, r = made_pixels.mean(0) * 255, real_pixels.mean(0) * 255
        out[name or "all"] = {
            "model_mean": [round(float(v), 1) for v in m],
            "data_mean": [round(float(v), 1) for v in r],
            "distance": round(float(np.linalg.norm(m - r)), 1),
            "model_chroma": round(float(np.ptp(made_pixels, axis=1).mean() * 255), 1),
            "data_chroma": round(float(np.ptp(real_pixels, axis=1).mean() * 255), 1),
        }
    return out


def fbm_parameters(data: ImageSet, augment: bool) -> tuple[float, float, float]:
    """(slope, intercept, mean) of spectral fBm fitted to the data: spectral_fit of 256 real
    crops of TERRAIN_CROP px (the largest of CROPS the data holds if not that), their mean."""
    crop = max([c for c in CROPS if fitting(data, c) is not None and c <= TERRAIN_CROP] or [min(CROPS)])
    real = real_crops(fitting(data, crop), 256, crop, 5, augment)
    return (*spectral_fit(real), float(real.mean()))


def fbm_crops(
    data: ImageSet,
    n: int,
    crop: int,
    seed: int,
    augment: bool = False,
    parameters: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """n crops of spectral fBm images of max(QUILT_SIDE, crop) px fitted to the data (see
    synthesised_crops; a new image every PER_OUTPUT crops)."""
    slope, intercept, mean = parameters or fbm_parameters(data, augment)
    side = max(QUILT_SIDE, crop)
    return synthesised_crops(data, n, crop, np.random.default_rng([seed, crop, 4]),
                             lambda image, rng: fbm(side, slope, intercept, rng, mean, FBM_FLAT_BELOW), augment=augment)  # fmt: skip


def measure_baselines(
    target: Target, root: Path, extras: bool = True, held_out: bool = False, shape: bool | None = None, **kw
) -> dict[str, dict[str, dict]]:
    """The floor (other real crops), phase randomisation and image quilting, for one data set,
    and for a heightmap spectral fBm fitted to it. With `extras` each also has the figures of
    extra_figures: repetition of the data images' largest squares (real crops) or of
    REPETITION_IMAGES syntheses of OUTPUT px.

    `held_out` (textures; no extras): every row is measured against crops of the first half of
    each data image, the syntheses are made from the second half, and a row "real crops, other
    half" gives what new content of the same material scores, where nothing can copy the
    reference. A model measured so should have learnt the second halves (write_held_out).
    `shape`: as in measure_model."""
    if held_out and (extras or target.kind != "texture"):
        raise ValueError("held_out measures the SWD and coherence of texture data only (extras=False)")
    data = open_target(root, target)
    n = kw.get("n", N)
    aug = target.augment
    data, synthesis_data = split_halves(data) if held_out else (data, data)

    def other_real(crop: int, d: int) -> np.ndarray:
        return real_crops(fitting(data, crop), n, crop, 101 + d, aug)

    def held_out_real(crop: int, d: int) -> np.ndarray | None:
        fit = fitting(synthesis_data, crop)
        return None if fit is None else real_crops(fit, n, crop, 101 + d, aug)

    def made_from_other(make):  # a synthesis source, None where the other half is too small
        def source(crop: int, d: int) -> np.ndarray | None:
            fit = fitting(synthesis_data, crop)
            return None if fit is None else make(fit, crop, d)

        return source

    def syntheses(make, seed: int):
        rng = np.random.default_rng([seed, OUTPUT])
        return (make(image, rng) for image in synthesis_sources(data))

    sources = {"real crops": (other_real, lambda: largest_squares(data)),
               "phase randomisation": (made_from_other(lambda fit, crop, d: phase_randomised_crops(fit, n, crop, 200 + d, aug)),
                                       lambda: syntheses(lambda i, rng: phase_randomised(i, rng, OUTPUT), 200)),
               "image quilting": (made_from_other(lambda fit, crop, d: quilted_crops(fit, n, crop, 300 + d, aug)),
                                  lambda: syntheses(lambda i, rng: quilt(i, OUTPUT, rng), 300))}  # fmt: skip
    if held_out:
        sources = {"real crops, same half": sources["real crops"], "real crops, other half": (held_out_real, None),
                   **{f"{k}, from the other half": v for k, v in sources.items() if k != "real crops"}}  # fmt: skip
    if target.kind == "heightmap":
        fit = fbm_parameters(data, aug)
        sources["spectral fBm"] = (lambda crop, d: fbm_crops(fitting(data, crop), n, crop, 400 + d, aug, fit),
                                   lambda: syntheses(lambda i, rng: fbm(OUTPUT, fit[0], fit[1], rng, fit[2], FBM_FLAT_BELOW), 400))  # fmt: skip
    out = {}
    for label, (source, images) in sources.items():
        kept: dict = {}
        out[label] = measure(source, data, aug, keep=kept, **kw)
        if _shape_alone(shape, held_out, extras, target):
            out[label]["shape"] = shape_figures(kept)
        if extras:
            out[label].update(extra_figures(kept, data, target, images(), fresh=label == "real crops"))
            if label == "spectral fBm":
                out[label]["fbm"] = {
                    "slope": fit[0],
                    "log10_density_at_1": fit[1],
                    "mean": fit[2],
                    "flat_below": FBM_FLAT_BELOW,
                }
    return out


# The columns after SWD and coherence: (header, key under a row, key in that, format, factor).
# Each is shown when some row has its key (rows of old results: the old table).
EXTRA_COLUMNS = (
    (f"mem {MEMORISATION_CROP}", "memorisation", (str(MEMORISATION_CROP), "ratio"), "9.2f", 1.0),
    ("repeat", "repetition", ("score",), "9.2f", 1.0),
    ("comp", "shape", ("components",), "9.2f", 1.0),
    ("peaks", "shape", ("peaks",), "9.2f", 1.0),
    ("runs", "shape", ("runs",), "9.2f", 1.0),
    ("PSD exp", "terrain", ("spectral_slope",), "9.2f", 1.0),
    ("grad W1", "terrain", ("slope_distance",), "9.1f", 1.0),
    ("area exp", "terrain", ("area_exponent",), "9.2f", 1.0),
    ("A>=1%", "terrain", ("major_share",), "9.1f", 100.0),
    ("flow/L", "terrain", ("longest_path",), "9.2f", 1.0),
)


def table(rows: dict[str, dict[str, dict]], crops=CROPS) -> str:
    """One line per row: its SWD, then its coherence distance, at each crop size, then the
    figures of EXTRA_COLUMNS that some row has ('-': not measured)."""
    width = max([44] + [len(name) + 2 for name in rows])
    extra = [col for col in EXTRA_COLUMNS if any(isinstance(f.get(col[1]), dict) for f in rows.values())]
    lines = [f"{'':{width}s}" + "".join(f"{f'SWD {c}':>9s}" for c in crops) + "".join(f"{f'coh {c}':>9s}" for c in crops)
             + "".join(f"{col[0]:>9s}" for col in extra)]  # fmt: skip
    for name, figures in rows.items():
        cells = [figures.get(str(c), {}) for c in crops]
        line = f"{name:{width}s}" + "".join(f"{c[k]:9.1f}" if k in c else f"{'-':>9s}"
                                            for k in ("swd", "coherence") for c in cells)  # fmt: skip
        for _, key, path, fmt, factor in extra:
            value = figures.get(key)
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            line += format(value * factor, fmt) if isinstance(value, (int, float)) else f"{'-':>9s}"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="the folder assets/models/prepare_data.py wrote")
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME[=PATH]",
        help="a bundled model's name (its data is known), NAME=PATH for another file of it; default: all",
    )
    p.add_argument("--n", type=int, default=N, help=f"crops per draw (default {N})")
    p.add_argument("--draws", type=int, default=DRAWS, help=f"independent draws averaged (default {DRAWS})")
    p.add_argument("--device", default=None, help="torch device for the SWD's projections (cuda, cpu); default numpy")
    p.add_argument("--json", type=Path, help="write every figure here")
    p.add_argument(
        "--no-extras",
        action="store_true",
        help="SWD and coherence only (no memorisation, repetition or heightmap figures)",
    )
    p.add_argument(
        "--held-out",
        action="store_true",
        help="measure every row against the first half of each data image only, with the baselines "
        "made from the second half and a row of real crops of it (what new content scores); for "
        "models trained on the second halves (--write-held-out). SWD and coherence only",
    )
    p.add_argument(
        "--write-held-out",
        type=Path,
        metavar="DIR",
        help="write the second half of each data image of the models' data under DIR (to train on) and stop",
    )
    args = p.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"no data folder {args.data}: run `python assets/models/prepare_data.py {args.data}` first")
    models: dict[str, tuple[str, Path]] = {}  # row label -> (bundled name, file)
    for item in args.model or [n for n in TARGETS if (ROOT / "assets" / "models" / f"{n}.onnx").is_file()]:
        name, _, path = item.partition("=")
        if name not in TARGETS:
            raise SystemExit(
                f"unknown model {name!r}: name one of {', '.join(TARGETS)} (NAME=PATH for another file of it)"
            )
        models[f"{name} ({path})" if path else name] = (
            name,
            Path(path) if path else ROOT / "assets" / "models" / f"{name}.onnx",
        )
    if args.write_held_out or args.held_out:
        kinds = {TARGETS[n].data: TARGETS[n].kind for n, _ in models.values()}
        if any(kind != "texture" for kind in kinds.values()):
            raise SystemExit(
                f"--held-out and --write-held-out are for texture data; "
                f"{', '.join(d for d, k in kinds.items() if k != 'texture')} is not (name texture models with --model)"
            )
    if args.write_held_out:  # once per data folder, however many models learnt it
        for target in {TARGETS[n].data: TARGETS[n] for n, _ in models.values()}.values():
            for path in write_held_out(args.data, target, args.write_held_out):
                print(f"wrote {path}")
        return
    kw = dict(n=args.n, draws=args.draws, device=args.device, extras=not (args.no_extras or args.held_out))
    if args.held_out:
        kw["held_out"] = True
    results: dict[str, dict[str, dict]] = {}
    missing = sorted({TARGETS[n].data for n, _ in models.values() if not (args.data / TARGETS[n].data).exists()})
    if missing:
        print(f"note: no {', '.join(missing)} under {args.data} (colour-materials: run "
              f"assets/models/prepare_colour_data.py {args.data}); those models are left out")  # fmt: skip
        models = {k: v for k, v in models.items() if TARGETS[v[0]].data not in missing}
    for data_name in dict.fromkeys(TARGETS[name].data for name, _ in models.values()):
        target = next(TARGETS[name] for name, _ in models.values() if TARGETS[name].data == data_name)
        for label, figures in measure_baselines(target, args.data, **kw).items():
            results[f"{data_name}: {label}"] = figures
        for label, (name, path) in models.items():
            if TARGETS[name].data == data_name:
                results[f"{data_name}: {label}"] = measure_model(path, TARGETS[name], args.data, **kw)
        print(table({k: v for k, v in results.items() if k.startswith(data_name + ":")}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
