"""`texgen models` and `texgen presets`: what is installed and how it can be exported."""

from __future__ import annotations

import argparse
import json

from texgen.assets import DEFAULT_MODELS, assets_root, list_models, user_models_dir
from texgen.errors import TexgenError
from texgen.model import load_generator
from texgen.presets import PRESETS


def add_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "models",
        help="list the bundled and user models",
        description="List the bundled models and the models in your user model folder.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(run=run_models)


def add_presets_parser(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "presets", help="list the export presets", description="List the export presets (engine, formats, sizes)."
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(run=run_presets)


def run_models(args: argparse.Namespace) -> int:
    rows = []
    for entry in list_models():
        row = {
            "name": entry.name,
            "source": entry.source,
            "path": str(entry.path),
            "default": entry.source == "bundled" and entry.name in DEFAULT_MODELS,
        }
        try:
            info = load_generator(entry.path, device="cpu").info
            row.update(
                kind=info.kind,
                size=f"{info.native_width}x{info.native_height}",
                tileable=info.tileable,
                classes=list(info.classes),
                description=info.description,
            )
        except TexgenError as exc:
            row["error"] = str(exc)
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    root = assets_root()
    print(f"bundled models: {root / 'models' if root else 'not found'}")
    print(f"user models:    {user_models_dir()}")
    width = max([20, *(len(r["name"]) for r in rows)])  # names line up however long
    for r in rows:
        if "error" in r:
            print(f"  {r['name']:<{width}} {r['source']:<8} unusable: {r['error']}")
            continue
        extra = f", classes: {', '.join(r['classes'])}" if r["classes"] else ""
        star = " (default)" if r["default"] else ""
        line = f"  {r['name']:<{width}} {r['source']:<8} {r['kind']:<9} {r['size']:>9} {'tileable' if r['tileable'] else '':<8}{extra}{star}"
        print(line.rstrip())
    if not rows:
        print("  no models found")
    return 0


def run_presets(args: argparse.Namespace) -> int:
    if args.json:
        import dataclasses  # noqa: PLC0415

        print(json.dumps({n: dataclasses.asdict(p) for n, p in PRESETS.items()}, indent=2, default=str))
        return 0
    for name, p in PRESETS.items():
        print(f"  {name:<20} {p.description}")
    return 0
