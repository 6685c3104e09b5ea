"""The `texgen generate` command equal to a request: shown by the window so that any export can
be scripted (the GUI has no feature the CLI lacks, and these strings prove it: the tests run
them and compare the files), and written into every file's sidecar as `regenerate`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from texgen.assets import list_models

if TYPE_CHECKING:  # service imports this module to write sidecars
    from texgen.service import GenerateRequest


def model_argument(model: str | None) -> str:
    """A model as the CLI takes it: its name when it is an installed model, else its path."""
    if model is None:
        return ""
    entries = list_models()
    path = Path(model).expanduser().resolve()  # absolute: the command works from any folder
    for entry in entries:
        # By name only when the name leads back to this file (a user model may share a
        # bundled model's name, and names resolve to the first match).
        first = next(e for e in entries if e.name == entry.name)
        if path == entry.path.resolve() and first.path == entry.path:
            return entry.name
    return str(path)


def generate_command(req: GenerateRequest, *, out: bool = True, model: str | None = None) -> str:
    """The `texgen generate` command that makes the same files (in req.out_dir, or without
    `--out` when not `out`: a sidecar's command that means the same wherever the folder moves).
    `model`: `model_argument(req.model)` when the caller has it already (a batch writing
    thousands of sidecars looks the models up once, not once per file)."""
    args = ["texgen", "generate", "--model", model_argument(req.model) if model is None else model]
    if req.interpolate is not None:
        args += ["--interpolate", "{}:{}".format(*req.interpolate), "--frames", str(req.frames)]
    else:
        args += ["--seeds", seed_text(req.seeds)]
    if req.size is not None:
        h, w = req.size
        args += ["--size", str(w) if w == h else f"{w}x{h}"]
    if req.label is not None:
        args += ["--class", str(req.label)]
    if not req.seamless:
        args.append("--no-seamless")
    if req.preset:
        args += ["--preset", req.preset]
    if req.maps:
        args += ["--maps", ",".join(req.maps)]
    if out:
        args += ["--out", str(req.out_dir)]
    if req.name_template:
        args += ["--name", req.name_template]
    if req.normal_strength is not None:
        args += ["--normal-strength", repr(float(req.normal_strength))]  # every digit: the same normals
    if req.normal_convention:
        args += ["--normal", req.normal_convention]
    if req.byte_order:
        args += ["--byte-order", req.byte_order]
    if req.scale != 1.0:
        args += ["--scale", f"{req.scale:g}" if float(f"{req.scale:g}") == req.scale else repr(req.scale)]
    if req.erosion is not None and req.erosion.active:
        args += ["--erosion", req.erosion.flag()]
    if req.skip_existing:
        args.append("--skip-existing")
    if req.device != "auto":
        args += ["--device", req.device]
    return shlex.join(args)


def seed_text(seeds: Iterable[int]) -> str:
    """Seeds as the CLI writes them: runs of consecutive seeds as ranges."""
    seeds = list(seeds)
    parts, i = [], 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        parts.append(str(seeds[i]) if i == j else f"{seeds[i]}-{seeds[j]}")
        i = j + 1
    return ",".join(parts)
