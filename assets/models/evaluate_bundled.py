"""Measure the bundled models against the quality bar and draw their contact sheets.

    python assets/models/evaluate_bundled.py data/    (after prepare_data.py and train_bundled.sh)

For each model, with the runtime exactly as users run it (texgen sampling, onnxruntime, CPU):
- SWD against its training data at a common crop size (32 px, at the pixel scale it was
  trained at; a spatial model's crops come from OUTPUT px outputs, as users generate them), for
  the texture models and the course's baseline (lanham-wgan-32 on the same data, same wall
  time): the bar is SWD <= half the baseline's, each the mean over DRAWS draws. stone-texture
  is held to lanham-gravel-baseline (both trained on gravel); textures-by-kind, asked for its
  four classes equally often, to lanham-kinds-baseline (both trained on the four photographs,
  crops of each class equally often), and its gravel class also to the gravel baseline, which
  spent all its time on gravel (a stricter reading). grass-texture is held to
  lanham-grass-baseline (both trained on grass), and textures-by-kind's grass class too (the
  stricter reading again). Other draws of real crops give the floor ("gravel-real-crops",
  "grass-real-crops", "kinds-real-crops": what a perfect model would score);
- the memorisation check: nearest-training-crop distance of samples over that of training crops
  among themselves (below 1 would mean copying), the mean over DRAWS draws;
- the seam score of 512x512 outputs against the same score of their interior lines (the image
  rolled by whole latent cells), both at the phase of the cells: the bar is seam within 10% of
  the interior's;
- a contact sheet in docs/: four seeds, each tiled 3x3 (heightmaps also as hillshade).
Writes docs/bundled-metrics.json and appends a "Quality bar" section to each model card.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]  # texgen itself comes from the installed package (pip install -e .)

from texgen.maps import hillshade  # noqa: E402
from texgen.model import load_generator  # noqa: E402
from texgen.sampling import sample  # noqa: E402
from texgen.seamless import seam_scores, tile  # noqa: E402
from trainer.data import open_dataset  # noqa: E402
from trainer.metrics import memorisation, swd  # noqa: E402

MODELS = ROOT / "assets" / "models"
RUNS = ROOT / "runs" / "bundled"  # where train_bundled.sh trains them
# Trained and measured, but not shipped, to keep assets/ small (under 25 MB then). Read from its run folder.
UNSHIPPED = ("lanham-grass-baseline",)
DOCS = ROOT / "docs"
CROP = 32  # the baseline's size: every texture model is compared at it
# Spatial models are cropped from outputs of this side, not their native (training) size: an
# output of n latent cells tiles with a period of n cells, so at 2 or 4 cells the crop would
# measure that tiny period rather than the texture (a model trained on 32 px crops scored SWD
# 40.9 from its 32 px native outputs and 20.9 from 128 px ones). Users generate 256 to 2048 px.
OUTPUT = 128
SEAM_IMAGES = 128  # one border pair per image: over 64 brick images the mean spread by 0.06 (sd 0.48 each)
N = 1024  # samples per side (at 256 the memorisation ratio moves by about 0.02 between draws)
DRAWS = 4  # SWD and memorisation: independent draws of N samples and N real crops, averaged


def to_batch(images: list[np.ndarray]) -> np.ndarray:
    """HWC [0, 1] images to NCHW [-1, 1]."""
    return np.stack([np.moveaxis(i, -1, 0) for i in images]) * 2.0 - 1.0


def crops_of(gen, seeds, label=None, rng=None, crop=CROP) -> np.ndarray:
    """One crop x crop crop per seed, from OUTPUT px outputs (a vector model's: its own size)."""
    out = []
    size = (OUTPUT, OUTPUT) if gen.info.spatial else None
    for s in sample(gen, seeds, size=size, label=label, seamless=False, batch_size=32):
        img = s.img
        y, x = rng.integers(0, img.shape[0] - crop + 1), rng.integers(0, img.shape[1] - crop + 1)
        out.append(img[y : y + crop, x : x + crop])
    return to_batch(out)


def sheet(gen, label=None, size=128, seeds=(1, 2, 3, 4)) -> np.ndarray:
    """A row of seeds, each tiled 3x3; heightmaps get a hillshade row beneath."""
    imgs = [s.img for s in sample(gen, list(seeds), size=(size, size), label=label)]
    gap = np.ones((size * 3, 8, 1), np.float32)
    row = np.concatenate(
        sum(([tile(i[..., :1] if i.shape[2] == 1 else i.mean(-1, keepdims=True), 3), gap] for i in imgs), [])[:-1],
        axis=1,
    )
    if gen.info.kind == "heightmap":
        shade = [hillshade(i[..., 0], wrap=True)[..., None] for i in imgs]
        row2 = np.concatenate(sum(([tile(h, 3), gap] for h in shade), [])[:-1], axis=1)
        row = np.concatenate([row, np.ones((8, row.shape[1], 1), np.float32), row2], axis=0)
    return row


def seam_at_512(gen, label=None) -> dict[str, float]:
    """Seam score of 512x512 outputs beside the same score of interior lines, each a mean over
    SEAM_IMAGES images. Both compare a pair of rows (columns) with the pairs at the same phase
    of the model's latent cells (`seam_score(img, period)`); the interior lines are those same
    pairs, each scored as if the image were cut there (`seam_scores`: every one of them,
    31 per image at 16 px a cell). A spatial generator's output is the same whichever cell it
    starts at, so for a model that tiles the two agree up to sampling noise, which the many
    interior lines and SEAM_IMAGES images keep small; the interior's score also carries what a
    one-pair, max-of-two-axes score reads above 1 on this texture."""
    p = gen.info.seam_period
    imgs = [s.img for s in sample(gen, list(range(11, 11 + SEAM_IMAGES)), size=(512, 512), label=label)]
    scores = [seam_scores(i, p) for i in imgs]
    seam = float(np.mean([border for border, _ in scores]))
    inner = float(np.mean([lines for _, lines in scores]))
    return {"seam_score_512": seam, "interior_score_512": inner, "seam_over_interior": seam / inner}


def over_draws(fakes, reals, swd_key: str) -> dict[str, float]:
    """SWD (as `swd_key`) and the memorisation ratio over DRAWS independent draws (draw i:
    `fakes(i)` against `reals(i)`): each one's mean, which the bar reads, and its least and
    greatest value. One draw of 1024 moved the memorisation ratio by about 0.03 (the moon class:
    0.977 to 1.039; real crops against real crops 1.00 to 1.03) and a model's SWD by about 1 in
    16, as much as the margins the bar is judged by."""
    swds, ratios = [], []
    for i in range(DRAWS):
        fake, real = fakes(i), reals(i)
        swds.append(swd(real, fake)["swd"])
        ratios.append(memorisation(fake, real)["memorisation_ratio"])
    return {
        swd_key: float(np.mean(swds)),
        "swd_min": min(swds),
        "swd_max": max(swds),
        "memorisation_ratio": float(np.mean(ratios)),
        "memorisation_min": min(ratios),
        "memorisation_max": max(ratios),
    }


def model_crops(gen, label=None, crop=CROP):
    """Draw i of a model's crops: N seeds of its own, one random crop each."""
    return lambda i: crops_of(
        gen, range(1000 + i * N, 1000 + (i + 1) * N), label=label, rng=np.random.default_rng(100 + i), crop=crop
    )


def every_class_crops(gen, crop=CROP):
    """Draw i of a conditional model's crops: N seeds, each class asked for N / classes of them."""
    classes = gen.info.classes
    per = N // len(classes)
    seeds = lambda i, c: range(1000 + i * N + c * per, 1000 + i * N + (c + 1) * per)  # noqa: E731
    return lambda i: np.concatenate(
        [
            crops_of(gen, seeds(i, c), label=name, rng=np.random.default_rng([100 + i, c]), crop=crop)
            for c, name in enumerate(classes)
        ]
    )


def real_crops(dataset, crop=CROP, augment=False, first=1):
    """Draw i of real crops (seed first + i)."""
    return lambda i: dataset.batch(np.random.default_rng(first + i), N, crop, augment=augment)[0]


def model_path(name: str) -> Path:
    """A model's ONNX file: assets/models/NAME.onnx, or an unshipped baseline's latest run."""
    if name not in UNSHIPPED:
        return MODELS / f"{name}.onnx"
    runs = sorted(RUNS.glob(f"*-{name}/generator.onnx"))
    if not runs:
        raise SystemExit(
            f"no trained {name} in {RUNS} (it is not shipped, to keep assets/ under 25 MB): "
            "train it with assets/models/train_bundled.sh, then run this again"
        )
    return runs[-1]


def main(data: Path) -> None:
    results: dict[str, dict] = {}
    # Each single-texture model, its baseline and the conditional model's class of that texture,
    # against crops of the photograph at the same crop size and pixel scale; other draws of real
    # crops give the floor, scored like a model's (no model is below it).
    for texture, names in (
        ("gravel", ("stone-texture", "lanham-gravel-baseline")),
        ("grass", ("grass-texture", "lanham-grass-baseline")),
    ):
        photo = open_dataset(str(data / "cc0-textures" / texture), channels=1, crop=CROP, scale=0.5, log=lambda m: None)
        reals, key = real_crops(photo), f"swd_vs_{texture}_32px"
        results[f"{texture}-real-crops"] = over_draws(real_crops(photo, first=101), reals, key)
        for name, label in ((names[0], None), (names[1], None), ("textures-by-kind", texture)):
            gen = load_generator(model_path(name), device="cpu")
            r = over_draws(model_crops(gen, label), reals, key)
            if gen.info.tileable:
                r.update(seam_at_512(gen, label))
            results[name if label is None else f"{name}[{label}]"] = r

    # The conditional model over all its classes, and the baseline trained on the same four
    # photographs, against crops of each class equally often (stratified by class).
    kinds = load_generator(MODELS / "textures-by-kind.onnx", device="cpu")
    four = open_dataset(str(data / "cc0-textures"), channels=1, crop=CROP, scale=0.5, classes=True, log=lambda m: None)
    if four.class_names != kinds.info.classes:
        raise SystemExit(f"textures-by-kind's classes {kinds.info.classes} are not the data's {four.class_names}")
    kind_reals = real_crops(four)
    results["kinds-real-crops"] = over_draws(real_crops(four, first=101), kind_reals, "swd_vs_kinds_32px")
    results["textures-by-kind[all]"] = over_draws(every_class_crops(kinds), kind_reals, "swd_vs_kinds_32px")
    results["lanham-kinds-baseline"] = over_draws(
        model_crops(load_generator(MODELS / "lanham-kinds-baseline.onnx", device="cpu")),
        kind_reals,
        "swd_vs_kinds_32px",
    )

    # The conditional model's other classes, each against its own data.
    for cls in kinds.info.classes:
        if cls in ("gravel", "grass"):
            continue
        own = real_crops(
            open_dataset(str(data / "cc0-textures" / cls), channels=1, crop=CROP, scale=0.5, log=lambda m: None)
        )
        results[f"textures-by-kind[{cls}]"] = {
            **over_draws(model_crops(kinds, cls), own, "swd_vs_own_class_32px"),
            **seam_at_512(kinds, cls),
        }

    # Terrain: against the DEM crops at its own training crop.
    terrain = load_generator(MODELS / "terrain.onnx", device="cpu")
    dem = real_crops(
        open_dataset(str(data / "dem"), kind="heightmap", channels=1, crop=64, log=lambda m: None),
        crop=64,
        augment=True,
    )
    results["terrain"] = {**over_draws(model_crops(terrain, crop=64), dem, "swd_vs_dem_64px"), **seam_at_512(terrain)}

    for key, baseline in BASELINE_OF.items():
        swd_key = _swd_key(results[key])
        results[key]["swd_over_baseline"] = results[key][swd_key] / results[baseline][swd_key]

    # Contact sheets.
    DOCS.mkdir(exist_ok=True)
    for name in (
        "stone-texture",
        "grass-texture",
        "terrain",
        "lanham-gravel-baseline",
        "lanham-grass-baseline",
        "lanham-kinds-baseline",
    ):
        gen = load_generator(model_path(name), device="cpu")
        size = 128 if gen.info.spatial else gen.info.native_height * 4
        _save(sheet(gen, size=size), DOCS / f"contact-{name}.png")
    rows = [sheet(kinds, label=c) for c in kinds.info.classes]
    _save(
        np.concatenate(sum(([r, np.ones((8, r.shape[1], 1), np.float32)] for r in rows), [])[:-1], axis=0),
        DOCS / "contact-textures-by-kind.png",
    )

    (DOCS / "bundled-metrics.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    for name in BUNDLED:
        _append_quality(MODELS / f"{name}.md", name, results)
    print(json.dumps(results, indent=2, sort_keys=True))


BUNDLED = (
    "stone-texture",
    "grass-texture",
    "lanham-gravel-baseline",
    "lanham-kinds-baseline",
    "terrain",
    "textures-by-kind",
)
# Rows a card shows beside its own: the real-crop floors and the baselines it is held to.
BESIDE = {
    "stone-texture": ("gravel-real-crops", "lanham-gravel-baseline"),
    "grass-texture": ("grass-real-crops", "lanham-grass-baseline"),
    "lanham-gravel-baseline": ("gravel-real-crops",),
    "lanham-kinds-baseline": ("kinds-real-crops",),
    "textures-by-kind": (
        "gravel-real-crops",
        "grass-real-crops",
        "kinds-real-crops",
        "lanham-gravel-baseline",
        "lanham-grass-baseline",
        "lanham-kinds-baseline",
    ),
}
BASELINE_OF = {
    "stone-texture": "lanham-gravel-baseline",
    "grass-texture": "lanham-grass-baseline",
    "textures-by-kind[all]": "lanham-kinds-baseline",
    "textures-by-kind[gravel]": "lanham-gravel-baseline",
    "textures-by-kind[grass]": "lanham-grass-baseline",
}
# The stricter readings: a class of the conditional model against a baseline that spent all its
# time on that class, where the conditional model spent a quarter of its steps on it.
STRICTER = {"textures-by-kind[gravel]": "gravel", "textures-by-kind[grass]": "grass"}
MARK = "\n## Quality bar (assets/models/evaluate_bundled.py)\n"


def _append_quality(card: Path, name: str, results: dict[str, dict]) -> None:
    """Replace the card's quality section with the measured figures for this model."""
    text = card.read_text().split(MARK)[0].rstrip() + "\n"
    lines = [
        MARK,
        f"Measured with the runtime on CPU, {N} samples against {N} real crops.",
        "",
        "| measured on | metric | value |",
        "| --- | --- | --- |",
    ]
    for key, values in sorted(results.items()):
        if _of_model(key, name) or key in BESIDE.get(name, ()):
            for metric, value in sorted(values.items()):
                lines.append(f"| {key} | {metric} | {value:.4g} |")
    if any(key == name or key.startswith(name + "[") for key in BASELINE_OF):
        swd_bar = (
            "SWD at 32 px at most half the lanham-wgan-32 baseline's (trained on the same data for\nthe same wall time)"
        )
    elif name in BASELINE_OF.values():
        swd_bar = "SWD (this model is the baseline that texture models are measured against)"
    else:
        swd_bar = (
            "SWD (the bar compares texture models with their baseline; this model has none, so its SWD\n"
            "is reported, not judged)"
        )
    lines += [
        "",
        f"Bars: {swd_bar}, each the mean of {DRAWS} draws (swd_min and swd_max: the least and greatest);",
        f"memorisation_ratio, the mean of {DRAWS} draws of {N} samples, not below 1",
        "(samples are not copies); seam_over_interior within 1 +/- 0.10 (the wrap-around scores like",
        f"the interior lines at the same phase of the latent cells, {SEAM_IMAGES} images of 512 px).",
        f"Contact sheet: `docs/contact-{name}.png`.",
        "",
    ]
    lines += [f"- {verdict}" for verdict in _verdicts(name, results)]
    lines += ["", TRAINED_ON, ""]
    card.write_text(text + "\n".join(lines))


TRAINED_ON = (
    "The shipped files were trained on a 2-core CPU (no GPU was available to us), each in one\n"
    "uninterrupted run on one core beside another run on the second. See\n"
    "`assets/models/train_bundled.sh`."
)


def _swd_key(r: dict[str, float]) -> str:
    """The SWD a results row holds ("swd_vs_gravel_32px", ...)."""
    return next(k for k in r if k.startswith("swd_vs_"))


def _of_model(key: str, name: str) -> bool:
    """Whether a results key ("model" or "model[class]") measures this model."""
    return key == name or key.startswith(name + "[")


def _verdicts(name: str, results: dict[str, dict]) -> list[str]:
    """Each bar this model is held to, with its measured value: met or NOT met."""
    out = []
    for key, r in sorted(results.items()):
        if not _of_model(key, name) or name.startswith("lanham-"):
            continue
        if "swd_over_baseline" in r:
            v, base = r["swd_over_baseline"], BASELINE_OF[key]
            swd_key = _swd_key(r)
            spread = f"mean of {DRAWS} draws, {r['swd_min']:.2f} to {r['swd_max']:.2f}"
            stricter = f" (stricter: that baseline spent all its time on {STRICTER[key]})" if key in STRICTER else ""
            out.append(
                f"{key}: SWD / {base} {v:.3f} (SWD {r[swd_key]:.2f} against {results[base][swd_key]:.2f}, "
                f"{spread}; bar <= 0.5){stricter}: {'met' if v <= 0.5 else 'NOT met'}"
            )
        v = r["memorisation_ratio"]
        spread = f"mean of {DRAWS} draws, {r['memorisation_min']:.3f} to {r['memorisation_max']:.3f}; "
        out.append(f"{key}: memorisation ratio {v:.3f} ({spread}bar >= 1): {'met' if v >= 1 else 'NOT met'}")
        if "seam_over_interior" in r:
            v = r["seam_over_interior"]
            out.append(f"{key}: seam / interior {v:.3f} (bar 0.9 to 1.1): {'met' if abs(v - 1) <= 0.1 else 'NOT met'}")
    return out


def _save(img: np.ndarray, path: Path) -> None:
    Image.fromarray(np.round(np.clip(img[..., 0], 0, 1) * 255).astype(np.uint8)).save(path, optimize=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data"))
