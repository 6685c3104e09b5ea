"""Quality at artist scales: each model against the data it learnt, beside classical baselines.

    python bench/bench_quality.py DATA                  # every bundled model (DATA from
                                                        # assets/models/prepare_data.py)
    python bench/bench_quality.py DATA --model stone-texture=runs/x/generator.onnx
    python bench/bench_quality.py DATA --device cuda    # the SWD's sorts on the GPU

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
Prints one table and, with --json, writes every figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Callable

import numpy as np

from texgen.model import Generator, load_generator
from texgen.sampling import sample
from trainer.data import open_dataset
from trainer.data.imageset import ImageSet
from trainer.metrics import swd

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
    "textures-by-kind": Target("cc0-textures", scale=0.5, conditional=True),
    "lanham-gravel-baseline": Target("cc0-textures/gravel", scale=0.5),
    "lanham-grass-baseline": Target("cc0-textures/grass", scale=0.5),
    "lanham-kinds-baseline": Target("cc0-textures", scale=0.5),
}


def open_target(root: Path, target: Target) -> ImageSet:
    return open_dataset(str(root / target.data), kind=target.kind, channels=1, crop=16, scale=target.scale,
                        classes=target.conditional, log=lambda m: None)  # fmt: skip


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
            img = np.moveaxis(s.img, -1, 0) * 2.0 - 1.0
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


def phase_randomised(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random-phase noise of a CxHxW image: its periodic component's amplitude spectrum with
    the phase of white noise (the same phase for every channel), its mean added back."""
    phase = np.exp(1j * np.angle(np.fft.fft2(rng.standard_normal(image.shape[1:]))))
    out = []
    for channel in image:
        p = periodic_component(channel.astype(np.float64))
        mean = p.mean()
        out.append(np.real(np.fft.ifft2(np.fft.fft2(p - mean) * phase)) + mean)
    return np.clip(np.stack(out), -1.0, 1.0).astype(np.float32)


def synthesised_crops(data: ImageSet, n: int, crop: int, rng: np.random.Generator, synthesise, *,
                      augment: bool = False, least_side: int = 0) -> np.ndarray:
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
    from numpy.lib.stride_tricks import sliding_window_view

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
    return synthesised_crops(data, n, crop, np.random.default_rng([seed, crop, 3]),
                             lambda image, rng: quilt(image, side, rng), augment=augment, least_side=QUILT_PATCH)


Source = Callable[[int, int], "np.ndarray | None"]  # (crop, draw) -> crops


def measure(source: Source, data: ImageSet, augment: bool, *, n: int = N, draws: int = DRAWS,
            crops=CROPS, device: str | None = None, projections: int = 512) -> dict[str, dict]:
    """{"32": {"swd": mean, "draws": [...]}, ...}: SWD of `source`'s crops against real crops
    (draw d: real seed 1 + d), or {"skipped": why} where a size cannot be measured."""
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
    from scipy import ndimage  # scikit-image's dependency; the bench's data comes from it too

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
        a, b = coherence(real, scale), coherence(fake, scale)
        n = min(len(a), len(b))
        a = np.sort(a[np.linspace(0, len(a) - 1, n).astype(int)])
        b = np.sort(b[np.linspace(0, len(b) - 1, n).astype(int)])
        out.append(np.abs(a - b).mean())
    return 1e3 * float(np.mean(out))


def measure_model(path: Path, target: Target, root: Path, threads: int | None = None, **kw) -> dict[str, dict]:
    gen = load_generator(path, device="cpu", threads=threads)
    data = open_target(root, target)
    n = kw.get("n", N)
    return measure(lambda crop, d: model_crops(gen, n, crop, 1000 + d), data, target.augment, **kw)


def measure_baselines(target: Target, root: Path, **kw) -> dict[str, dict[str, dict]]:
    """The floor (other real crops), phase randomisation and image quilting, for one data set."""
    data = open_target(root, target)
    n = kw.get("n", N)

    def other_real(crop: int, d: int) -> np.ndarray:
        return real_crops(fitting(data, crop), n, crop, 101 + d, target.augment)

    return {"real crops": measure(other_real, data, target.augment, **kw),
            "phase randomisation": measure(lambda crop, d: phase_randomised_crops(fitting(data, crop), n, crop, 200 + d,
                                                                                  target.augment),
                                           data, target.augment, **kw),
            "image quilting": measure(lambda crop, d: quilted_crops(fitting(data, crop), n, crop, 300 + d, target.augment),
                                      data, target.augment, **kw)}  # fmt: skip


def table(rows: dict[str, dict[str, dict]], crops=CROPS) -> str:
    """One line per row: its SWD, then its coherence distance, at each crop size ('-': not
    measured)."""
    width = max([44] + [len(name) + 2 for name in rows])
    lines = [f"{'':{width}s}" + "".join(f"{f'SWD {c}':>9s}" for c in crops) + "".join(f"{f'coh {c}':>9s}" for c in crops)]
    for name, figures in rows.items():
        cells = [figures.get(str(c), {}) for c in crops]
        lines.append(f"{name:{width}s}" + "".join(f"{c[k]:9.1f}" if k in c else f"{'-':>9s}"
                                                  for k in ("swd", "coherence") for c in cells))  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="the folder assets/models/prepare_data.py wrote")
    p.add_argument("--model", action="append", default=[], metavar="NAME[=PATH]",
                   help="a bundled model's name (its data is known), NAME=PATH for another file of it; default: all")
    p.add_argument("--n", type=int, default=N, help=f"crops per draw (default {N})")
    p.add_argument("--draws", type=int, default=DRAWS, help=f"independent draws averaged (default {DRAWS})")
    p.add_argument("--device", default=None, help="torch device for the SWD's projections (cuda, cpu); default numpy")
    p.add_argument("--json", type=Path, help="write every figure here")
    args = p.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"no data folder {args.data}: run `python assets/models/prepare_data.py {args.data}` first")
    models: dict[str, tuple[str, Path]] = {}  # row label -> (bundled name, file)
    for item in args.model or [n for n in TARGETS if (ROOT / "assets" / "models" / f"{n}.onnx").is_file()]:
        name, _, path = item.partition("=")
        if name not in TARGETS:
            raise SystemExit(f"unknown model {name!r}: name one of {', '.join(TARGETS)} (NAME=PATH for another file of it)")
        models[f"{name} ({path})" if path else name] = (name, Path(path) if path else ROOT / "assets" / "models" / f"{name}.onnx")
    kw = dict(n=args.n, draws=args.draws, device=args.device)
    results: dict[str, dict[str, dict]] = {}
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
