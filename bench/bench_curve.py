"""Quality against training time: a run's checkpoints measured at artist scales, beside the
classical baselines of the same data, in one run.

    python bench/bench_curve.py DATA stone-texture CHECKPOINT.pt [CHECKPOINT.pt ...] [--json F]

Each checkpoint (a run's latest.pt copied as training goes, or its periodic ones) is exported
to a temporary ONNX file and measured by bench_quality.py's code: SWD (x1e3) and the
orientation-coherence distance on 32, 64 and 128 px crops of 512 px outputs, mean of --draws
draws of --n crops, against the data the bundled model NAME learnt. Its rows are in training
order, with the steps and the training minutes the checkpoint records; the floor, phase
randomisation and image quilting come first, measured on the same real crops. Where a model
does not reach a baseline, this is the curve that says whether more time would.

    python bench/bench_curve.py DATA stone-texture --held-out HALF_RUN/checkpoints/*.pt

--held-out (texture data): every row against crops of the first half of each photograph, the
baselines made from the second half, beside crops of that unseen half; the checkpoints should
be of a run trained on the second halves (bench_quality.py --write-held-out). This is the curve
where no source can copy what it is measured against (docs/quality-measures.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_quality import CROPS as SIZES, DRAWS, N, TARGETS, measure_baselines, measure_model  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="the folder assets/models/prepare_data.py wrote")
    p.add_argument("model", help=f"the bundled model whose data the checkpoints learnt: {', '.join(TARGETS)}")
    p.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint files (.pt) of one or more runs")
    p.add_argument("--n", type=int, default=N, help=f"crops per draw (default {N})")
    p.add_argument("--draws", type=int, default=DRAWS, help=f"independent draws averaged (default {DRAWS})")
    p.add_argument("--held-out", action="store_true",
                   help="measure against one half of each photograph, the baselines made from the other half "
                        "(checkpoints of a run trained on the other half)")  # fmt: skip
    p.add_argument("--json", type=Path, help="write every figure here")
    args = p.parse_args()
    if args.model not in TARGETS:
        raise SystemExit(f"unknown model {args.model!r}: name one of {', '.join(TARGETS)}")
    missing = [str(c) for c in args.checkpoints if not c.is_file()]
    if missing:
        raise SystemExit(f"no checkpoint file {', '.join(missing)}: give .pt files a run wrote")
    target = TARGETS[args.model]
    if args.held_out and target.kind != "texture":
        raise SystemExit(f"--held-out measures texture data; {args.model} makes {target.kind}s (leave it out)")
    if not (args.data / target.data).exists():
        raise SystemExit(f"no {target.data} under {args.data}: run assets/models/prepare_data.py first")
    rows = curve(args.data, target, args.checkpoints, n=args.n, draws=args.draws, held_out=args.held_out)
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


def curve(data: Path, target, checkpoints: list[Path], held_out: bool = False, **kw) -> dict[str, dict]:
    """The baselines' rows, then one row per checkpoint in training order (by run, then step):
    {label: {"figures": .., and for a checkpoint "step", "minutes"}}. `kw`: measure()'s
    n, draws, crops, projections."""
    import torch  # noqa: PLC0415

    from trainer.to_onnx import export_generator  # noqa: PLC0415

    kw = dict(kw, extras=False, held_out=held_out, shape=True)
    rows: dict[str, dict] = {}
    for label, figures in measure_baselines(target, data, **kw).items():
        rows[label] = {"figures": figures}
    points = []
    for path in checkpoints:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        # A run is named by its folder: checkpoints copied aside sit in a folder named after the run.
        run = path.parent.parent.name if path.parent.name == "checkpoints" else path.parent.name
        points.append((run, int(ckpt["step"]), float(ckpt.get("elapsed_s", 0.0)), path))
    with tempfile.TemporaryDirectory() as tmp:
        for i, (run, step, elapsed, path) in enumerate(sorted(points, key=lambda p: (p[0], p[1]))):
            onnx = export_generator(path, Path(tmp) / f"{i}.onnx")
            figures = measure_model(onnx, target, data, **kw)
            rows[f"{run} step {step}"] = {"step": step, "minutes": round(elapsed / 60, 1), "figures": figures}
            print(f"measured {run} step {step} ({elapsed / 60:.1f} min)", file=sys.stderr, flush=True)
    return rows


def markdown(rows: dict[str, dict]) -> str:
    """The rows as a Markdown table: steps, minutes, then SWD and coherence at each size, then
    the shape figures (comp, peaks, runs) where some row has them."""
    shape = any(isinstance(r["figures"].get("shape"), dict) and "peaks" in r["figures"]["shape"] for r in rows.values())
    head = (
        "| | steps | minutes | "
        + " | ".join(f"SWD {s}" for s in SIZES)
        + " | "
        + " | ".join(f"coh {s}" for s in SIZES)
        + (" | comp | peaks | runs" if shape else "")
        + " |"
    )
    lines = [head, "|" + " --- |" * (3 + 2 * len(SIZES) + 3 * shape)]
    for label, row in rows.items():
        f = row["figures"]
        cells = [f"{f[str(s)]['swd']:.1f}" if str(s) in f else "" for s in SIZES]
        cells += [f"{f[str(s)]['coherence']:.1f}" if str(s) in f else "" for s in SIZES]
        if shape:
            cells += [
                f"{f['shape'][k]:.2f}" if k in f.get("shape", {}) else "" for k in ("components", "peaks", "runs")
            ]
        lines.append(f"| {label} | {row.get('step', '')} | {row.get('minutes', '')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
