"""Do the shape figures see what the eye sees? The pieces of docs/ that looked wrong, measured.

    python bench/bench_shape.py DATA        # DATA from assets/models/prepare_data.py and
                                            # prepare_colour_data.py

SWD and the coherence distance passed models that looked wrong (docs/quality-measures.md,
"Blind spots"); bench_quality.py's shape figures ("comp": the sizes of the level sets'
components; "peaks": sharp peaks in local spectra, as hatching makes; "runs": how far ridges
run straight, over the data's, for the tangles of curled strands that passed comp and peaks on
grass) were added for them. This prints, for gravel, grass and rock, those figures of the
pieces that docs/ shows as looking wrong (the models are gone; their pictures are the record),
beside the shipped model's piece in the same picture, fresh outputs of the bundled model, the
baselines and other real crops: comp and peaks at 64 and 128 px crops, runs (bright ridges,
then dark ones) at 128 px. A piece is 256 px (160 px from grass-reach.png and
grass-wide-reach.png; the docs' pictures at 2x are halved back), so its 128 px crops overlap
heavily: read the order, not the third digit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_quality import (  # noqa: E402
    REC709,
    TARGETS,
    component_distance,
    model_images,
    open_target,
    peak_distance,
    peakiness,
    phase_randomised,
    quilt,
    real_crops,
    run_ratios,
    straight_runs,
)
from texgen.errors import TexgenError  # noqa: E402
from texgen.model import load_generator  # noqa: E402

DOCS = ROOT / "docs"
N = 256

# (picture, panel, panel side in the file, gap between panels, how large it is shown): the
# pieces that docs/models.md shows, and what the eye said of them there.
PIECES = {
    "stone-texture": [
        ("shipped, beside the 72 min run", "stone-wide-critic-72min.png", 0, 512, 8, 2),
        ("wide critic 72 min: long dark creases", "stone-wide-critic-72min.png", 1, 512, 8, 2),
        ("patch_swd=1: smeared stones", "stone-patch-swd.png", 2, 256, 6, 1),
        ("patch_swd=4: smeared, swirling", "stone-patch-swd.png", 3, 256, 6, 1),
    ],
    "grass-texture": [
        ("shipped, beside the wide critic", "grass-wide-critic.png", 0, 512, 8, 2),
        ("wide critic: worms, hatching", "grass-wide-critic.png", 1, 512, 8, 2),
        ("wide_shrink=blur: mesh of curled strands", "grass-wide-blur.png", 2, 512, 8, 2),
        ("no coarse field: short tangled strands", "grass-no-field.png", 1, 256, 8, 1),
        ("no field, spectral=10: the same tangle", "grass-no-field.png", 2, 256, 8, 1),
        ("staged 24 + 12: web around dark gashes", "grass-staged.png", 2, 256, 4, 1),
        ("cell_convs=4 + wide critic: mat of curves", "grass-reach.png", 3, 320, 6, 2),
        ("64 px stage: hooks and swirls", "grass-reach.png", 4, 320, 6, 2),
        ("wide_reach=2: web in diagonal bands", "grass-wide-reach.png", 3, 320, 6, 2),
        ("wide_weight=0.25: shorter, fuzzier strands", "grass-wide-weight.png", 2, 256, 4, 1),
        ("wide_weight=0.5: a mat of short curved strands", "grass-wide-weight.png", 3, 256, 4, 1),
        ("the photograph (panel of grass-staged.png)", "grass-staged.png", 0, 256, 4, 1),
    ],
    "rock-material": [
        ("shipped, beside the wide critic", "rock-wide-critic.png", 0, 256, 16, 1),
        ("wide critic: blur, diagonal hatching", "rock-wide-critic.png", 1, 256, 16, 1),
        ("wide critic, upsample_blur: worms", "rock-wide-critic.png", 2, 256, 16, 1),
    ],
}


def piece(name: str, index: int, side: int, gap: int, zoom: int) -> np.ndarray:
    """One panel of a docs picture as a 1 x H x W image in [-1, 1] (colour: Rec. 709 luminance
    of the stored values, as bench_quality reads a material's albedo)."""
    a = np.asarray(Image.open(DOCS / name), np.float32)
    a = a[..., :3] @ REC709 if a.ndim == 3 else a
    x = index * (side + gap)
    return (a[:side, x : x + side][::zoom, ::zoom] / 127.5 - 1.0)[None]  # the first row of panels


def crops(images: list[np.ndarray], n: int, crop: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, crop])
    out = []
    for _ in range(n):
        img = images[rng.integers(len(images))]
        y, x = rng.integers(0, img.shape[1] - crop + 1), rng.integers(0, img.shape[2] - crop + 1)
        out.append(img[:, y : y + crop, x : x + crop])
    return np.stack(out).astype(np.float32)


def gen(model: str):
    return load_generator(ROOT / "assets" / "models" / f"{model}.onnx", device="cpu")


def sources(model: str, data) -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    big = [img for img in data.images if min(img.shape[1:]) >= 128]
    out = {
        "image quilting": [quilt(img, 512, rng) for img in big],
        "phase randomisation": [phase_randomised(img, rng, 512) for img in big],
        f"{model} (bundled, 4 fresh 512 px outputs)": list(model_images(gen(model), 4, 700)),
    }
    for label, *where in PIECES[model]:
        out[label] = [piece(*where)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="the data root of prepare_data.py and prepare_colour_data.py")
    args = parser.parse_args()
    for model, pieces in PIECES.items():
        target = TARGETS[model]
        try:
            data = open_target(args.data, target)
        except (OSError, ValueError, TexgenError) as e:
            raise SystemExit(f"bench_shape: cannot read {target.data} under {args.data} ({e}); run "
                             f"assets/models/prepare_data.py {args.data} and prepare_colour_data.py {args.data} first") from None  # fmt: skip
        rows = {"real crops (floor)": None, **sources(model, data)}
        print(
            f"\n{model}: {target.data} (comp, peaks: lower is better; runs: 1 is the data's; the eye's verdict in the row's name)"
        )
        print(
            f"{'':46s}{'comp 64':>9s}{'comp 128':>9s}{'peaks 64':>9s}{'peaks 128':>10s}{'runs 128':>9s}{'dark 128':>9s}"
        )
        real = {crop: real_crops(data, N, crop, 1, target.augment) for crop in (64, 128)}
        real_peaks = {crop: peakiness(r) for crop, r in real.items()}
        real_runs = tuple(float(straight_runs(real[128], bright).mean()) for bright in (True, False))
        for label, images in rows.items():
            comps, peaks = [], []
            for crop, r in real.items():
                made = real_crops(data, N, crop, 2, target.augment) if images is None else crops(images, N, crop, 3)
                comps.append(component_distance(r, made))
                peaks.append(peak_distance(r, made, real_peaks[crop]))
            runs = run_ratios(real[128], made, real_runs).values()  # bright ridges, then dark ones
            print(
                f"{label:46s}"
                + "".join(f"{v:9.2f}" for v in comps)
                + f"{peaks[0]:9.2f}{peaks[1]:10.2f}"
                + "".join(f"{v:9.3f}" for v in runs)
            )


if __name__ == "__main__":
    main()
