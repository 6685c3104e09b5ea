"""The one entry point both faces call: a request in, files out.

The CLI turns its arguments into a `GenerateRequest`, the GUI turns its widgets into the same
request, and both call `generate`. Nothing about what gets written lives in either face, so the
GUI writes exactly the files the CLI writes.

A batch streams: each image is generated, exported and dropped before the next batch, so
10,000 textures take the memory of one batch. Every file is written to a temporary name and
renamed, so a cancelled, killed or failed batch leaves only whole files.
"""

from __future__ import annotations

import contextlib

import math
import string
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

from texgen import __version__
from texgen.assets import default_models, resolve_model
from texgen.commands import generate_command, model_argument
from texgen.errors import CancelledError, RequestError
from texgen.atomic import MAX_NAME_BYTES, check_writable, sweep_temp
from texgen.model import Generator, load_generator
from texgen import materials
from texgen.export import MATERIAL_ONLY, UNSAFE_IN_NAMES, check_maps
from texgen.erosion import Erosion, check_erosion, erode, erodes
from texgen.export import export_image, planned_paths
from texgen.presets import ExportPreset, get_preset
from texgen.sampling import Sample, check_batch_size, check_size, interpolate, resolve_label, sample, scaled_size
from texgen.seamless import MIN_SIZE

# The preset used for a model kind when the request names none.
DEFAULT_PRESETS: dict[str, str] = {"texture": "png", "heightmap": "unity-terrain", "material": "png"}
# The output size when neither the request nor the preset gives one, for spatial models
# (a fixed-size model makes its native size).
DEFAULT_SPATIAL_SIZE = 512


@dataclass
class GenerateRequest:
    """Everything that decides what `generate` writes."""

    model: str | None = None  # a path or model name; None = the bundled defaults
    seeds: Sequence[int] = (0,)
    size: tuple[int, int] | None = None  # (height, width); None = the preset's or model's
    label: str | int | None = None  # class name or index, conditional models only
    seamless: bool = True  # make non-tileable outputs tile (tileable models always do)
    preset: str | None = None  # None = DEFAULT_PRESETS for the model's kind
    maps: tuple[str, ...] | None = None  # None = the preset's maps for the model's kind
    out_dir: Path = Path("textures")
    name_template: str | None = None  # None = the preset's, e.g. "{model}_{seed}_{map}"
    device: str = "auto"
    threads: int | None = None
    skip_existing: bool = False  # leave seeds whose files all exist
    resample: bool = False  # snap a size the format cannot take to the nearest it can
    normal_strength: float | None = None  # None = per kind (see normal_strength_for)
    normal_convention: str | None = None  # opengl | directx; None = the preset's
    byte_order: str | None = None  # little | big, for RAW heightfields; None = the preset's
    batch_size: int = 16
    # Interpolation: (seed A, seed B) and a frame count: `frames` images along the latent path
    # from A to B, ends included, instead of one image per seed (`seeds` is then unused).
    interpolate: tuple[int, int] | None = None
    frames: int = 8
    # Erosion of heightmaps (texgen/erosion.py): hydraulic droplets and thermal talus, after
    # sampling, before the maps are derived; None or inactive = none.
    erosion: Erosion | None = None
    # Texel scale: features this many times larger than the model draws them (sampling.scaled_size).
    scale: float = 1.0


@dataclass
class Progress:
    done: int  # images finished (written or skipped) so far, over all models
    total: int
    model: str
    seed: int | None
    files: list[Path] = field(default_factory=list)  # what this step wrote
    frame: int | None = None  # the interpolation frame written, when interpolating
    tile: tuple[int, int] | None = None  # (tiles done, tiles) of the image being made, when in tiles


@dataclass
class GenerateResult:
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, int]] = field(default_factory=list)  # (model, seed or frame) left as they were
    devices: dict[str, str] = field(default_factory=dict)  # model name -> device it ran on
    notes: list[str] = field(default_factory=list)  # fallbacks, resampled sizes, guesses
    seconds: float = 0.0


@dataclass
class _Job:
    gen: Generator
    preset: ExportPreset
    size: tuple[int, int]  # the size of the written files
    gen_size: tuple[int, int]  # the size generated (2^n for a 2^n + 1 terrain)
    extend: bool
    label: int | None
    maps: tuple[str, ...]
    model_arg: str  # the model as its sidecars' `regenerate` names it (installed name, else path)


def _plan(req: GenerateRequest, gen: Generator, notes: list[str]) -> _Job:
    """Check the request against one model and its preset before generating anything."""
    info = gen.info
    preset = get_preset(req.preset or DEFAULT_PRESETS[info.kind])
    label = resolve_label(gen, req.label)
    if (
        req.seamless
        and not info.tileable
        and not info.spatial
        and min(info.native_height, info.native_width) < MIN_SIZE
    ):
        raise RequestError(
            f"model {info.name!r} makes {info.native_width}x{info.native_height} images, too small to make "
            f"seamless (at least {MIN_SIZE}x{MIN_SIZE})",
            "add --no-seamless (in the app: untick Seamless) to keep its images as they are",
        )
    if req.size is not None:
        size = check_size(gen, req.size)
    elif preset.sizes or preset.square or preset.shared_edge:
        size = (preset.default_size, preset.default_size)  # an engine's size, e.g. 513
    elif info.spatial:
        size = (DEFAULT_SPATIAL_SIZE, DEFAULT_SPATIAL_SIZE)
    else:
        size = check_size(gen, None)  # a fixed-size model's own: no upscaling unless asked
    if req.resample:
        snapped = preset.nearest_size(*size)
        if snapped != size:
            notes.append(
                f"{info.name}: size {size[1]}x{size[0]} resampled to {snapped[1]}x{snapped[0]} for preset {preset.name}"
            )
            size = snapped
    try:
        preset.check_size(*size)
    except RequestError as exc:  # with the bundled defaults, say which model it was
        raise RequestError(
            f"model {info.name!r}: {exc.problem}", f"{exc.fix}, or add --resample to snap to the nearest"
        ) from None
    gh, gw, extend = preset.generation_size(*size)
    if extend and not (req.seamless or info.tileable):
        # Repeating the first row and column only makes a shared edge of a tileable map; an
        # image that does not tile is generated at the odd size itself.
        gh, gw, extend = size[0], size[1], False
    if req.erosion is not None and req.erosion.active and info.kind != "heightmap":
        if req.model:  # asked of this model by name
            raise RequestError(
                f"model {info.name!r} makes textures, and erosion is for heightmaps",
                "leave out --erosion, or use a heightmap model such as terrain",
            )
        notes.append(f"{info.name}: erosion is for heightmaps; its textures are written without it")
    scaled_size(gen, (gh, gw), req.scale)  # refused before any work when the model cannot
    maps = req.maps or default_maps(preset, info)
    try:
        check_maps(tuple(maps), info.kind)
    except RequestError as exc:
        raise RequestError(f"model {info.name!r}: {exc.problem}", exc.fix) from None
    notes += _material_notes(info, tuple(maps))
    # Options that decide nothing here are said to, not silently dropped.
    if req.byte_order is not None and not ("height" in maps and preset.height_format == "raw16"):
        notes.append(
            f"{info.name}: --byte-order applies to RAW heights, which preset {preset.name} does not write here (ignored)"
        )
    if req.normal_convention is not None and "normal" not in maps:
        notes.append(
            f"{info.name}: no normal map is written (maps: {', '.join(maps)}), so the normal convention is ignored"
        )
    return _Job(gen, preset, size, (gh, gw), extend, label, tuple(maps), model_argument(str(gen.path)))


def default_maps(preset, info) -> tuple[str, ...]:
    """The maps a request that names none gets: the preset's for the model's kind, and with
    png every map a material model makes (metallic too, which png's list leaves out)."""
    maps = preset.maps_for(info.kind)
    if preset.name == "png" and "metallic" in material_maps(info) and "metallic" not in maps:
        maps = (*maps, "metallic")
    return maps


def material_maps(info) -> tuple[str, ...]:
    """The material maps a model makes itself: a material's named channels; none otherwise."""
    return materials.maps_in(info.channel_names) if info.kind == "material" else ()


def _material_notes(info, maps: tuple[str, ...]) -> list[str]:
    """One note per map that is derived or filled rather than made by the model."""
    wanted = [m for m in maps if m in MATERIAL_ONLY]
    sources = sorted({s for m in wanted for s in (materials.packed_sources(m) if m in materials.PACKED else (m,))})
    if not sources:
        return []
    made = material_maps(info)
    if info.kind == "texture":
        derived = [s for s in sources if s in ("roughness", "ao")]
        out = []
        if derived or "height" in maps:
            out.append(
                f"{info.name}: makes colour only; its height, roughness and AO are derived from the colour "
                "(heuristics, docs/materials.md)"
            )
        sources = [s for s in sources if s not in ("roughness", "ao")]
    else:
        out = []
    for s in sources:
        if s not in made:
            out.append(f"{info.name}: has no {s} map; written as {materials.NEUTRAL[s]:g} ({_NEUTRAL_WORDS[s]})")
    return out


_NEUTRAL_WORDS = {"metallic": "not metal", "roughness": "half rough", "ao": "no occlusion", "height": "flat"}


def normal_strength_for(kind: str, size: tuple[int, int]) -> float:
    """The default bumpiness of a derived normal map.

    A texture's height is its brightness: a full black-to-white step over a few pixels is a
    strong bump, so the slope per pixel is scaled a little (2). A terrain's height in [0, 1]
    spans the whole map: read as a landscape whose relief is a tenth of its width, a pixel's
    slope is scaled by a tenth of the width in pixels (about 50 for a 513 terrain).
    """
    return max(size) / 10 if kind == "heightmap" else 2.0


def _fields(job: _Job, seed: int, index: int, frame: tuple[int, int] | None = None) -> dict:
    """Name fields; `frame` = (frame index, end seed) for an interpolation frame."""
    info = job.gen.info
    return {
        "model": info.name,
        "seed": seed,
        "frame": frame[0] if frame else None,
        "to_seed": frame[1] if frame else None,
        "class": info.classes[job.label] if job.label is not None else "",
        "size": str(job.size[1]) if job.size[0] == job.size[1] else f"{job.size[1]}x{job.size[0]}",
        "index": index,
        "preset": job.preset.name,
    }


def _rewritten(template: str) -> bool:
    """Whether format_name rewrites the template's own text (not its fields' values): path
    separators or characters a file system refuses in it, or dots and spaces at its ends."""
    literal = "".join(text for text, *_ in string.Formatter().parse(template))
    return (
        bool(UNSAFE_IN_NAMES.search(literal))
        or any(sep in literal for sep in ("/", "\\"))
        or template[:1] in (".", " ")
        or template[-1:] in (".", " ")
    )


def _fixed_index(template: str | None, index: int) -> str | None:
    """`template` with its {index} fields written out (e.g. "{index:03d}_{seed}" -> "007_{seed}"):
    a one-seed command would number its only image 0, and name another file."""
    if template is None or "index" not in template:
        return template
    out = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if name == "index":
            out.append(format(index, spec or ""))
        elif name is not None:
            out.append("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
    return "".join(out)


def _sidecar(job: _Job, req: GenerateRequest, seed: int, t: float | None = None, index: int = 0) -> dict:
    info = job.gen.info
    # The command that writes this file again (into the folder it is run from, or --out): this
    # model (by name when installed, else its path), this seed (or the whole interpolation),
    # size, class, preset and every option given.
    one = replace(
        req,
        model=str(job.gen.path),
        seeds=[seed],
        size=job.size,
        preset=job.preset.name,
        label=info.classes[job.label] if job.label is not None else None,
        skip_existing=False,
        name_template=req.name_template if req.interpolate is not None else _fixed_index(req.name_template, index),
    )
    return {
        "texgen_version": __version__,
        "model": info.name,
        "model_file": job.gen.path.name,
        "seed": seed,
        **(
            {"interpolation": {"from_seed": req.interpolate[0], "to_seed": req.interpolate[1], "t": t}}
            if t is not None
            else {}
        ),
        "class": info.classes[job.label] if job.label is not None else None,
        "size": [job.size[1], job.size[0]],
        "preset": job.preset.name,
        "seamless": bool(req.seamless or info.tileable),
        "scale": req.scale,
        **({"erosion": req.erosion.describe()} if erodes(req.erosion, info.kind) else {}),
        "device": job.gen.device,
        "regenerate": generate_command(one, out=False, model=job.model_arg),
    }


def _template(req: GenerateRequest, job: _Job) -> str:
    """The file-name template of a job: the request's, or its preset's made unique per class
    and per interpolation frame."""
    template = req.name_template or job.preset.name_template
    if req.name_template is None and job.label is not None and "{class}" not in template:
        # Default names of a conditional model carry the class, so a batch of another
        # class does not overwrite this one.
        template = template.replace("{model}", "{model}_{class}", 1)
    if req.name_template is None and req.interpolate is not None:
        template = template.replace("{seed}", "{seed}-{to_seed}_f{frame:03d}", 1)
    return template


def _names(req: GenerateRequest, job: _Job, key: int, index: int) -> dict:
    """The name fields of one image: seed `key`, or interpolation frame `key`."""
    if req.interpolate is None:
        return _fields(job, key, index)
    return _fields(job, req.interpolate[0], key, (key, req.interpolate[1]))


def _plan_files(
    req: GenerateRequest, jobs: list[_Job], keys: list[int], position: dict[int, int], out_dir: Path
) -> list[tuple[str, dict[int, list[Path]]]]:
    """Each job's file-name template and every file it writes, per key, checked before the
    first is written:
    no two images may share a file (a template without {seed}, or two models without
    {model}, would silently overwrite one with the next), and no name may be longer than a
    file system takes (with its sidecar's ".json")."""
    planned: list[tuple[str, dict[int, list[Path]]]] = []
    owner: dict[Path, str] = {}
    for job in jobs:
        template = _template(req, job)
        files: dict[int, list[Path]] = {}
        for key in keys:
            paths = planned_paths(
                job.preset, job.gen.info.kind, out_dir, template, _names(req, job, key, position[key]), job.maps
            )
            what = f"{job.gen.info.name} {'frame' if req.interpolate else 'seed'} {key}"
            for path in paths:
                longest = len((path.name + ".json").encode("utf-8"))
                if longest > MAX_NAME_BYTES:
                    raise RequestError(
                        f"file name {path.name[:40]}… is {longest - 5} bytes long (its sidecar "
                        f"{longest}), more than the {MAX_NAME_BYTES} a file system takes",
                        "shorten the file name template (--name)",
                    )
                first = owner.setdefault(path, what)
                if first != what:
                    raise RequestError(
                        f"file name template {template!r} gives {first} and {what} the same file {path.name}, "
                        "so one would overwrite the other",
                        (
                            "add {frame} to the template"
                            if req.interpolate is not None
                            else "add {seed} (and {model} when several models write into one folder) to the template"
                        ),
                    )
            files[key] = paths
        planned.append((template, files))
    return planned


MAX_FRAMES = 10_000


def frame_positions(frames: int) -> list[float]:
    """`frames` evenly spaced positions from 0 to 1, both ends included."""
    return [i / (frames - 1) for i in range(frames)]


def _keys(req: GenerateRequest) -> list[int]:
    """What the request makes one image of: its seeds, or its interpolation frames' indices."""
    check_batch_size(req.batch_size)  # before anything loads; interpolation batches here too
    if req.interpolate is None:
        seeds = list(dict.fromkeys(req.seeds))  # a seed given twice makes its image once
        if not seeds:
            raise RequestError("no seeds to generate", "give --seeds or --count")
        return seeds
    a, b = req.interpolate
    if a == b:
        raise RequestError(
            f"interpolating seed {a} to itself makes {req.frames} copies of one image",
            "give two different seeds, e.g. 3:7",
        )
    if not 2 <= req.frames <= MAX_FRAMES:
        raise RequestError(
            f"{req.frames} frames cannot make an interpolation", f"ask for 2 (the two ends) to {MAX_FRAMES} frames"
        )
    return list(range(req.frames))


def _samples(
    job: _Job, req: GenerateRequest, keys: list[int], should_cancel, on_tile=None
) -> Iterator[tuple[int, Sample]]:
    """(key, sample) for each key: one image per seed, or the interpolation frames, in batches."""
    if req.interpolate is None:
        samples = sample(
            job.gen, keys, size=job.gen_size, label=job.label, seamless=req.seamless,
            batch_size=req.batch_size, should_cancel=should_cancel, on_tile=on_tile, scale=req.scale,
        )  # fmt: skip
        yield from ((s.seed, s) for s in samples)
        return
    ts = frame_positions(req.frames)
    tiled = job.gen_size is not None and job.gen.runs_in_tiles(*scaled_size(job.gen, job.gen_size, req.scale))
    step = 1 if tiled else req.batch_size  # big frames one at a time: they are written as they come
    for start in range(0, len(keys), step):
        if should_cancel is not None and should_cancel():
            return
        chunk = keys[start : start + step]
        frames = interpolate(
            job.gen, *req.interpolate, [ts[k] for k in chunk], size=job.gen_size, label=job.label,
            seamless=req.seamless, on_tile=on_tile, scale=req.scale,
        )  # fmt: skip
        yield from zip(chunk, frames)


def generate(
    req: GenerateRequest,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    generators: Sequence[Generator] | None = None,
) -> GenerateResult:
    """Generate and export one image per seed (or per interpolation frame) for the requested
    model (or the defaults).

    `generators` lets a caller that already holds loaded models (the GUI) skip loading.
    Raises TexgenError subclasses for bad requests before writing anything, and
    CancelledError when `should_cancel` turns true (files written so far are whole).
    """
    started = time.perf_counter()
    result = GenerateResult()
    keys = _keys(req)  # seeds, or frame indices along an interpolation path
    strength = req.normal_strength
    if strength is not None and not (math.isfinite(strength) and strength > 0):
        raise RequestError(f"normal map strength {strength} is not a positive number", "use a value above 0, e.g. 2")
    if req.erosion is not None:
        check_erosion(req.erosion)

    # 1. Load the models and plan every job: all checks happen before the first file.
    if generators is None:
        paths = [resolve_model(req.model)] if req.model else default_models()
        generators = [load_generator(p, device=req.device, threads=req.threads) for p in paths]
    jobs = []
    for gen in generators:
        result.devices[gen.info.name] = gen.device
        # A device that could not start is the machine's news, not a model's: said once.
        result.notes += [n for n in gen.runtime.notes if n not in result.notes]
        result.notes += [f"{gen.info.name}: guessed {g}" for g in gen.guesses]
        jobs.append(_plan(req, gen, result.notes))
    out_dir = Path(req.out_dir).expanduser()
    position = {key: i for i, key in enumerate(keys)}  # for the {index} name field
    planned = _plan_files(req, jobs, keys, position, out_dir)  # names checked before the folder is made
    if req.name_template and planned and _rewritten(req.name_template):
        first = next(iter(planned[0][1].values()))[0].name
        result.notes.append(f"file name template {req.name_template!r} holds path separators, leading dots or characters "
                            f"a file system refuses; they are written as '_' or left out, so every file stays in "
                            f"{out_dir} (e.g. {first})")  # fmt: skip
    made = [p for p in (out_dir, *out_dir.parents) if not p.exists()]  # the folders this run makes
    try:
        check_writable(out_dir)
        _write_all(req, jobs, planned, keys, position, out_dir, result, on_progress, should_cancel)
    except BaseException:
        if not result.files:  # nothing written: leave no empty folder behind (a cancel, a bad model)
            for folder in made:
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise
    result.seconds = time.perf_counter() - started
    return result


def _write_all(
    req: GenerateRequest,
    jobs: list[_Job],
    planned,
    keys: list[int],
    position: dict[int, int],
    out_dir: Path,
    result: GenerateResult,
    on_progress,
    should_cancel,
) -> None:
    """generate()'s second half: every planned image, made and written, streaming."""
    swept = sweep_temp(out_dir)
    if swept:
        result.notes.append(f"removed {len(swept)} temporary files left by an interrupted run")

    # 2. Generate and export, streaming.
    total, done = len(keys) * len(jobs), 0
    for job, (template, paths) in zip(jobs, planned):
        todo = keys
        if req.skip_existing:
            todo = []
            for key in keys:
                # Done when every map and its sidecar are there: a run killed between a map
                # and its sidecar (each written whole) left that image unfinished.
                if all(p.exists() and p.with_name(p.name + ".json").exists() for p in paths[key]):
                    result.skipped.append((job.gen.info.name, key))
                    done += 1
                else:
                    todo.append(key)
            if on_progress and done:
                on_progress(Progress(done, total, job.gen.info.name, None))
        # An image made in tiles says each tile (a progress with its `tile`), so it is seen moving.
        made = 0

        def tile_done(i: int, n: int, job=job, todo=todo) -> None:
            key = todo[min(made, len(todo) - 1)]  # tiled images are made one at a time, in order
            seed, frame = (None, key) if req.interpolate is not None else (key, None)
            on_progress(Progress(done, total, job.gen.info.name, seed, frame=frame, tile=(i, n)))

        eroded = erodes(req.erosion, job.gen.info.kind)
        for key, s in _samples(job, req, todo, should_cancel, tile_done if on_progress else None):
            names = _names(req, job, key, position[key])
            # Eroded with the image's seed (an interpolation's frames all with its first seed,
            # so the droplets fall alike along the morph): a regenerate command gives it again.
            # On the GPU where the model runs on one (the droplets and the talus; the rivers on the CPU).
            img = (erode(s.img, req.erosion, wrap=s.tileable, seed=names["seed"], device=job.gen.device,
                         notes=result.notes) if eroded else s.img)  # fmt: skip
            files = export_image(
                img,
                kind=job.gen.info.kind,
                preset=job.preset,
                out_dir=out_dir,
                fields=names,
                template=template,
                maps=job.maps,
                normal_strength=req.normal_strength or normal_strength_for(job.gen.info.kind, job.size),
                normal_convention=req.normal_convention,
                byte_order=req.byte_order,
                extend=job.extend,
                wrap=s.tileable,
                sidecar=_sidecar(job, req, names["seed"], s.t, names["index"]),
                channel_names=job.gen.info.channel_names,
            )
            result.files += files
            done += 1
            made += 1
            if on_progress:
                on_progress(Progress(done, total, job.gen.info.name, s.seed, files, names["frame"]))
        if should_cancel is not None and should_cancel():
            raise CancelledError()
