"""`texgen info MODEL`: what a generator makes, its graph, and where it would run."""

from __future__ import annotations

import argparse
import dataclasses
import json

from texgen.assets import resolve_model
from texgen.devices import DEVICES, available_devices
from texgen.materials import describe_maps
from texgen.model import load_generator


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "info",
        help="show a model's metadata, inputs, outputs and device",
        description="Show what a generator makes, its inputs and outputs, and the device it would run on.",
    )
    p.add_argument("model", help="model name (see `texgen models`) or path to an .onnx file")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(run=run)


def describe(model: str, device: str = "auto") -> dict:
    gen = load_generator(resolve_model(model), device=device)
    session = gen.runtime.session
    io = lambda args: [  # noqa: E731
        {"name": a.name, "type": a.type, "shape": [d if isinstance(d, int) else (d or "?") for d in a.shape]}
        for a in args
    ]  # noqa: E731
    return {
        "path": str(gen.path),
        "metadata": dataclasses.asdict(gen.info),
        "texgen_metadata": not gen.guesses,
        "guesses": gen.guesses,
        "inputs": io(session.get_inputs()),
        "outputs": io(session.get_outputs()),
        "device": gen.device,
        "provider": gen.provider,
        "device_notes": gen.runtime.notes + gen.runtime.quiet_notes,
        "available_devices": available_devices(),
    }


def run(args: argparse.Namespace) -> int:
    d = describe(args.model, args.device)
    if args.json:
        print(json.dumps(d, indent=2))
        return 0
    m = d["metadata"]
    size = f"{m['native_width']}x{m['native_height']}"
    latent = f"{m['latent_kind']} latent of {m['latent_size']}"
    if m["latent_kind"] == "spatial":
        latent += f" per cell, {m['pixels_per_cell']} px per cell (any multiple of {m['pixels_per_cell']} px)"
        if m.get("global_channels"):
            latent += f"; the first {m['global_channels']} one draw per image, the same in every cell"
    lines = [
        f"{m['name']}  ({d['path']})",
        f"  makes       {m['kind']}, {m['channels']} channel{'s' if m['channels'] > 1 else ''}, native {size}, "
        f"{'tileable' if m['tileable'] else 'not tileable (seamless post-process)'}",
        f"  latent      {latent}",
    ]
    if m["kind"] == "material":
        lines.append(f"  maps        {describe_maps(tuple(m['channel_names']), tuple(m['channel_spaces']))}")
    if m["classes"]:
        lines.append(f"  classes     {', '.join(f'{i}:{c}' for i, c in enumerate(m['classes']))}")
    for key, label in (
        ("algorithm", "algorithm"),
        ("architecture", "network"),
        ("dataset", "trained on"),
        ("data_license", "data licence"),
        ("training_steps", "steps"),
        ("created", "created"),
        ("description", "about"),
    ):
        if m[key]:
            lines.append(f"  {label:<11} {m[key]}")
    if m["metrics"]:
        lines.append(
            "  metrics     "
            + ", ".join(
                f"{k} {v:.4g}" if isinstance(v, (int, float)) else f"{k} {v}" for k, v in sorted(m["metrics"].items())
            )
        )
    for kind in ("inputs", "outputs"):
        for t in d[kind]:
            lines.append(f"  {kind[:-1]:<11} {t['name']} {t['type']} [{', '.join(map(str, t['shape']))}]")
    lines.append(f"  runs on     {d['device']} ({d['provider']}); available: {', '.join(d['available_devices'])}")
    lines += [f"  note        {n}" for n in d["device_notes"]]
    if d["guesses"]:
        lines.append("  no texgen metadata; guessed: " + "; ".join(d["guesses"]))
    print("\n".join(lines))
    return 0
