"""Export a trained generator to a texgen `.onnx` file (the contract in texgen/metadata.py).

1. Rebuild G from the checkpoint's config (the architecture travels with the weights), eval mode.
2. `torch.onnx.export` (TorchScript exporter, opset 17): input `z` (and `label`), output
   `image`; dynamic batch, and dynamic latent grid h, w for spatial models.
3. Write the texgen metadata.
4. Check that onnxruntime (CPU) reproduces torch on fixed latents (spatial models at two grid
   sizes, 3x3 and 5x7, so a size baked into the graph would show): fail above 1e-4.
5. Write the file atomically, and a model card beside it.
"""

from __future__ import annotations

import dataclasses

import datetime as _dt
import io
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from texgen.atomic import write_atomic
from texgen.errors import ExportError
from texgen.materials import colour_space, describe_maps
from texgen.metadata import IMAGE_OUTPUT, LABEL_INPUT, LATENT_INPUT, GeneratorInfo, write_metadata
from trainer.checkpoint import LATEST, load_checkpoint, run_dir_of
from trainer.config import TrainConfig
from trainer.networks import NetSpec, build_generator
from trainer.recipes import RECIPES, reproduce_command

OPSET = 17
SEAM_TOLERANCE = 0.5  # the seam score (wrap-around over interior differences, about 1 +/- 0.2 for a
# model that wraps: 256 samples are few) within which a card says "tiles with no seam"
TOLERANCE = 1e-4
SPATIAL_CHECK_GRIDS = ((3, 3), (5, 7))


def _info(cfg: TrainConfig, spec: NetSpec, ckpt: dict, name: str) -> GeneratorInfo:
    data = ckpt.get("data", {})
    metrics = {
        k: float(v) for k, v in (ckpt.get("metrics") or {}).items() if isinstance(v, (int, float)) and math.isfinite(v)
    }
    classes = tuple(data.get("class_names", ())) if spec.num_classes else ()
    channel_names = tuple(data.get("channel_names", ())) if cfg.kind == "material" else ()
    description = cfg.description or (RECIPES[cfg.preset].description if cfg.preset in RECIPES else "")
    return GeneratorInfo(
        name=name,
        kind=cfg.kind,
        channels=spec.channels,
        latent_kind="spatial" if spec.spatial else "vector",
        latent_size=spec.latent_size,
        native_height=cfg.crop,
        native_width=cfg.crop,
        pixels_per_cell=spec.pixels_per_cell,
        global_channels=spec.global_channels,
        tileable=spec.spatial,  # wrap padding everywhere: exactly periodic by construction
        classes=classes,
        algorithm=cfg.algorithm + ("-conditional" if classes else ""),
        architecture=cfg.preset if cfg.preset in RECIPES else f"custom-{cfg.architecture}",
        dataset=data.get("description", cfg.data),
        data_license=data.get("license", "unknown"),
        training_steps=int(ckpt.get("step", 0)),
        metrics=metrics,
        created=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        description=description,
        channel_names=channel_names,
        channel_spaces=tuple(colour_space(c) for c in channel_names),
    )


def _check_inputs(spec: NetSpec, grid: tuple[int, int] | None, n: int = 3) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1234 + (grid[0] * 31 + grid[1] if grid else 0))
    shape = (n, spec.latent_size, *grid) if grid else (n, spec.latent_size)
    z = torch.randn(shape, generator=g)
    if spec.num_classes:
        return z, torch.arange(n, dtype=torch.int64) % spec.num_classes
    return (z,)


def onnx_bytes(G: torch.nn.Module, spec: NetSpec, info: GeneratorInfo) -> tuple[bytes, float]:
    """The exported model with metadata, and onnxruntime's max abs difference from torch."""
    import onnx  # noqa: PLC0415
    import onnxruntime as ort  # noqa: PLC0415

    G = G.to("cpu", memory_format=torch.contiguous_format).float().eval()
    example = _check_inputs(spec, (3, 3) if spec.spatial else None, n=2)
    names = [LATENT_INPUT] + ([LABEL_INPUT] if spec.num_classes else [])
    z_axes = {0: "batch", 2: "grid_h", 3: "grid_w"} if spec.spatial else {0: "batch"}
    axes = {LATENT_INPUT: z_axes, IMAGE_OUTPUT: {0: "batch"}}
    if spec.spatial:
        axes[IMAGE_OUTPUT] = {0: "batch", 2: "height", 3: "width"}
    if spec.num_classes:
        axes[LABEL_INPUT] = {0: "batch"}
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            G, example, buf, dynamo=False, opset_version=OPSET, input_names=names,
            output_names=[IMAGE_OUTPUT], dynamic_axes=axes, do_constant_folding=True,
        )  # fmt: skip
    model = onnx.load_from_string(buf.getvalue())
    write_metadata(model, info)
    data = model.SerializeToString()
    # Parity: onnxruntime against torch on inputs the export never saw.
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    worst = 0.0
    for grid in SPATIAL_CHECK_GRIDS if spec.spatial else (None,):
        inputs = _check_inputs(spec, grid)
        with torch.no_grad():
            expected = G(*inputs).numpy()
        got = session.run([IMAGE_OUTPUT], {k: v.numpy() for k, v in zip(names, inputs)})[0]
        if got.shape != expected.shape:
            raise ExportError(
                f"the exported graph gives shape {got.shape} where torch gives {expected.shape}",
                "report this export bug; the architecture uses an operator that does not export",
            )
        worst = max(worst, float(np.abs(got - expected).max()))
    if worst > TOLERANCE:
        raise ExportError(
            f"onnxruntime differs from torch by {worst:.2e} (tolerance {TOLERANCE:.0e})",
            "report this export bug; the model was not written",
        )
    return data, worst


def export_generator(
    run_or_checkpoint: Path, out: Path | None = None, *, name: str | None = None, description: str | None = None
) -> Path:
    """Write `generator.onnx` (default: in the run folder; from another checkpoint than
    latest.pt, `generator-<its name>.onnx`, e.g. generator-best.onnx) and its model card;
    returns the path.
    `name` and `description` replace the run's own in the file's metadata and the card."""
    # 1. Rebuild the generator from the checkpoint.
    ckpt = load_checkpoint(run_or_checkpoint, "cpu")
    cfg: TrainConfig = ckpt["config"]
    run_dir = run_dir_of(ckpt["path"])
    num_classes = len(ckpt.get("data", {}).get("class_names", ())) if cfg.conditional else 0
    spec = cfg.net_spec(num_classes)
    G = build_generator(spec)
    G.load_state_dict(ckpt.get("G_ema") or ckpt["G"])  # the moving average when there is one
    # 2-4. Export, metadata, parity.
    info = _info(cfg, spec, ckpt, name or cfg.name or run_dir.name)
    if description is not None:
        info = dataclasses.replace(info, description=description.strip())
    data, worst = onnx_bytes(G, spec, info)
    # 5. Write the model and its card.
    # Another checkpoint than the run's latest (best.pt, a copy) does not overwrite its model.
    source = Path(ckpt["path"])
    default = "generator.onnx" if source.name == LATEST else f"generator-{source.stem}.onnx"
    out = Path(out) if out is not None else run_dir / default
    if out.is_dir():
        out = out / default
    if not out.parent.is_dir():
        raise ExportError(f"folder {out.parent} does not exist", "create it or give another --out")
    try:
        write_atomic(out, data, export_errors=False)
        card = out.parent / "model-card.md" if out.name == "generator.onnx" else out.with_suffix(".md")
        write_atomic(card, model_card(info, cfg, ckpt, worst).encode("utf-8"), export_errors=False)
    except OSError as exc:
        raise ExportError(
            f"cannot write {out} ({exc.strerror or exc})", "choose a writable folder with --out"
        ) from None
    return out


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"


def model_card(info: GeneratorInfo, cfg: TrainConfig, ckpt: dict[str, Any], parity: float) -> str:
    """A short Markdown card: what the model makes, from what data, how to make it again.
    Every judgement in it comes from a figure beside it: the seam claim from the measured seam
    score, the health line from the run's last check (trainer/health.py)."""
    health = ckpt.get("health") or {}
    seam = info.metrics.get("seam_score")
    if not info.spatial:
        size = f"{info.native_height} x {info.native_width} px"
    else:
        size = (f"any multiple of {info.pixels_per_cell} px (latent grid h x w gives {info.pixels_per_cell}h x "
                f"{info.pixels_per_cell}w); trained at {info.native_height} px; ")  # fmt: skip
        if seam is not None and abs(seam - 1) <= SEAM_TOLERANCE and health.get("healthy", True):
            size += f"tiles with no seam (seam score {seam:.3g})"
        elif seam is not None:
            size += (f"wraps around by construction, but its seam score reads {seam:.4g} (about 1 means no "
                     "visible seam): look at a tiled sample before using it")  # fmt: skip
        else:
            size += "wraps around by construction (no seam score was measured)"
    if health.get("healthy") is False:
        verdict = "NOT healthy: " + "; ".join(health.get("problems", []))
    elif health.get("healthy"):
        verdict = "healthy at the end of training (no exploding loss, saturation or collapse found)"
    else:
        verdict = ("not checked: the run checks its health at the end, in its last checkpoint; this one was saved "
                   "before (best.pt, a periodic one) or by an older texgen")  # fmt: skip
    if health.get("reverted_from_step") and not health.get("untrained"):
        verdict += f"; training diverged at step {health['reverted_from_step']} and this is the last healthy step"
    weights = (f"moving average of the generator, half-life {cfg.ema_halflife:g} steps" if ckpt.get("G_ema")
               else "the generator as last trained")  # fmt: skip
    lines = [
        f"# {info.name}",
        "",
        info.description or "A texgen generator.",
        "",
        "| | |",
        "| --- | --- |",
        f"| makes | {_makes(info)}, {info.channels} channel{'s' if info.channels > 1 else ''}, {size} |",
        f"| classes | {', '.join(info.classes) if info.classes else 'none (unconditional)'} |",
        f"| network | `{info.architecture}` ({cfg.architecture}), {info.latent_kind} latent of {info.latent_size}"
        + (f", the first {info.global_channels} global (one draw per image)" if info.global_channels else "")
        + " |",
        f"| algorithm | {info.algorithm}, {cfg.optimizer} lr G {cfg.lr_g:g} / D {cfg.lr_d:g}, batch {cfg.batch}, n_critic {cfg.n_critic} |",
        f"| data | {info.dataset} |",
        f"| data licence | {info.data_license} |",
        f"| training | {_training(info, ckpt)} |",
        f"| weights | {weights} |",
        f"| seed | {cfg.seed} |",
        f"| health | {verdict} |",
        f"| export check | onnxruntime matches torch to {parity:.1e} |",
        f"| created | {info.created} |",
        "",
        "## Metrics",
        "",
    ]
    if info.metrics:
        lines += ["| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {v:.4g} |" for k, v in sorted(info.metrics.items())]
        lines += [
            "",
            f"Measured by the trainer at the end of the run, {cfg.eval_samples} samples against as many real "
            "crops: a quick check whose figures move from one draw to the next; to compare models, "
            "draw more samples and average several draws. "
            "`swd`: multi-scale sliced Wasserstein distance to real crops (x1e3, lower is closer). "
            "`memorisation_ratio`: nearest-training-image distance of samples over that of training "
            "images among themselves (well below 1 suggests copying). `seam_score`: wrap-around "
            "differences over interior ones (about 1: no visible seam).",
        ]
    else:
        lines.append("No metrics recorded.")
    lines += ["", "## Reproduce", "", *_reproduce(cfg, ckpt.get("origin")), ""]
    return "\n".join(lines)


def _reproduce(cfg: TrainConfig, origin: dict | None) -> list[str]:
    """The command that rebuilds the run; for a staged run (--init-from), every stage's, in order."""
    last = ["```", reproduce_command(cfg), "```"]
    earlier = (origin or {}).get("commands")
    if not earlier:
        return last
    lines = [f"In {len(earlier) + 1} stages: each after the first starts from the weights of the run the stage "
             "before made (its `init_from`: that run's folder)."]  # fmt: skip
    for i, command in enumerate(earlier, 1):
        lines += ["", f"Stage {i}:", "", "```", command, "```"]
    return [*lines, "", f"Stage {len(earlier) + 1}:", "", *last]


def _training(info: GeneratorInfo, ckpt: dict[str, Any]) -> str:
    """Steps and time on which device; for a run started from another's weights (--init-from),
    the earlier stages' steps and time too, and the sums."""
    line = f"{info.training_steps} generator steps in {_duration(ckpt.get('elapsed_s', 0.0))} on {ckpt.get('device', 'unknown')}"
    origin = ckpt.get("origin")
    if not origin:
        return line
    steps, elapsed = info.training_steps + origin["steps"], ckpt.get("elapsed_s", 0.0) + origin["elapsed_s"]
    source = Path(origin["path"])  # a run's checkpoints/latest.pt: the run's name, else the file's
    name = source.parent.parent.name if source.parent.name == "checkpoints" else source.name
    return (f"{line}, started from the weights of `{name}` "
            f"(`--init-from`: {origin['steps']} steps in {_duration(origin['elapsed_s'])} before): "
            f"{steps} steps in {_duration(elapsed)} in all")  # fmt: skip


def _makes(info) -> str:
    """The kind, and for a material its maps with their colour spaces."""
    if info.kind != "material":
        return info.kind
    return f"material: {describe_maps(info.channel_names, info.channel_spaces)}"
