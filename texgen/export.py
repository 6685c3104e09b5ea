"""Write one generated image as the files an export preset asks for, each with a sidecar.

The maps, all derived from the same image:
  albedo     the colour texture (8-bit PNG)           texture models only
  height     the heightfield in the preset's format   a texture model's height is its luminance
  normal     tangent-space normal map (8-bit RGB PNG) from the height, preset's convention
  hillshade  shaded-relief preview (8-bit grey PNG)   a RAW file cannot be looked at
  roughness, ao, metallic                   8-bit grey PNGs, linear   material maps
  metallic_smoothness, mask, orm            packed 8-bit RGBA / RGB   engine material presets

Material maps come from a material model's own channels (texgen.materials.split); a colour
texture model's are derived from its colour (materials.derive_from_photo); a map neither has is
filled with its neutral value (materials.NEUTRAL), and the sidecar says so.

File names come from a template such as "{model}_{seed}_{map}". This module knows nothing of
the preset table (texgen.presets imports it, not the reverse); it reads a preset's fields.
"""

from __future__ import annotations

import os
import re
import string
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from texgen import __version__
from texgen import writers as ex
from texgen.atomic import check_writable
from texgen.errors import RequestError
from texgen.maps import CONVENTIONS, hillshade, luminance, normal_map
from texgen.materials import NEUTRAL, PACKED, Material, derive_from_photo, encode_normals, pack, packed_sources, split
from texgen.seamless import extend_periodic

if TYPE_CHECKING:
    from texgen.presets import ExportPreset

MAPS: tuple[str, ...] = (
    "albedo", "height", "normal", "hillshade", "roughness", "ao", "metallic", *PACKED,
)  # fmt: skip
MATERIAL_ONLY: tuple[str, ...] = ("roughness", "ao", "metallic", *PACKED)
NAME_FIELDS: tuple[str, ...] = ("model", "seed", "map", "class", "size", "index", "preset", "to_seed", "frame")
SUFFIX = {"png16": ".png", "png8": ".png", "raw16": ".raw", "r16": ".r16"}
HILLSHADE = {"azimuth": 315.0, "altitude": 45.0}

UNSAFE_IN_NAMES = re.compile(r'[\x00-\x1f<>:"/\\|?*]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def format_name(template: str, **fields: Any) -> str:
    """A safe file stem from `template`, e.g. "{model}_{seed}_{map}" -> "gravel_7_albedo".

    Fields: model, seed, map, class, size, index, preset (pass class as **{"class": ...}), and
    for interpolation frames to_seed and frame (the path's end seed, the frame's index);
    format specs work ("{seed:05d}"). Path separators and characters Windows forbids become
    "_", and leading dots are dropped, so a name can never leave the output folder or hide.
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise RequestError(f"file name template {template!r} is malformed ({exc})", "balance the { } braces") from None
    known = ", ".join("{" + f + "}" for f in NAME_FIELDS)
    for _, field, _, _ in parsed:
        if field is None:
            continue
        if field not in NAME_FIELDS:
            raise RequestError(f"file name template {template!r} uses unknown field {{{field}}}", f"use only {known}")
        if fields.get(field) is None:
            raise RequestError(
                f"file name template {template!r} uses {{{field}}}, which has no value here",
                "remove it from the template",
            )
    try:
        name = template.format(**fields)
    except (ValueError, TypeError) as exc:
        raise RequestError(
            f"file name template {template!r} cannot be filled ({exc})", f"use plain fields: {known}"
        ) from None
    for sep in {"/", "\\", os.sep, os.altsep or "/"}:
        name = name.replace(sep, "_")
    name = UNSAFE_IN_NAMES.sub("_", name).strip(" .")
    if not name:
        raise RequestError(f"file name template {template!r} gives an empty name", "use e.g. {model}_{seed}_{map}")
    if name.split(".")[0].upper() in _RESERVED:
        name = "_" + name
    return name


def planned_paths(
    preset: ExportPreset,
    kind: str,
    out_dir: Path,
    template: str | None,
    fields: dict[str, Any],
    maps: tuple[str, ...] | None = None,
) -> list[Path]:
    """The files export_image would write for these fields (to skip work already done).

    `fields` must hold every field the template uses except map and preset; export_image
    fills size from the image, so pass it here when the template uses it.
    """
    chosen = tuple(maps) if maps is not None else preset.maps_for(kind)
    check_maps(chosen, kind)
    stems = _stems(template or preset.name_template, {"preset": preset.name, **fields}, chosen)
    return [Path(out_dir) / f"{stem}{_suffix(m, preset)}" for m, stem in zip(chosen, stems)]


def export_image(
    img: np.ndarray,
    *,
    kind: str,
    preset: ExportPreset,
    out_dir: Path,
    fields: dict[str, Any],
    maps: tuple[str, ...] | None = None,
    normal_strength: float = 1.0,
    normal_convention: str | None = None,
    byte_order: str | None = None,
    extend: bool = False,
    wrap: bool = True,
    sidecar: dict[str, Any] | None = None,
    template: str | None = None,
    channel_names: tuple[str, ...] = (),
) -> list[Path]:
    """Write the maps of one image (`img`: H x W x C or H x W float in [0, 1]) into out_dir.

    kind: the model's kind, "texture", "heightmap" or "material"; picks the preset's default maps.
    channel_names: a material model's channel layout (GeneratorInfo.channel_names).
    fields: file-name fields (model, seed, class, index, ...); map and preset are filled in,
      and size too when absent ("513", or "640x480" when not square).
    maps: override the preset's maps. normal_convention / byte_order / template: override
      the preset's.
    extend: the image is a tileable n x n map and the output is (n+1) x (n+1) with the first
      row and column repeated (seamless.extend_periodic; see ExportPreset.generation_size).
      Normal map and hillshade are computed before extending, across the wrap.
    wrap: derived maps sample across the borders (True for tileable images).
    sidecar: facts shared by every file (model, seed, class, ...); each file gets
      `<file>.json` with these plus its own (map, format, bit depth, byte order, flip, value
      mapping, size, texgen_version).
    Everything is checked before the first file is written; files are written atomically.
    Returns the paths of the written maps, in `maps` order (sidecars: path + ".json").
    """
    # 1. Check the whole request.
    a = _hwc(img, kind, channel_names)
    chosen = tuple(maps) if maps is not None else preset.maps_for(kind)
    check_maps(chosen, kind)
    convention = normal_convention or preset.normal_convention
    if convention not in CONVENTIONS:
        raise RequestError(f"normal map convention {convention!r} is unknown", "use 'opengl' or 'directx'")
    order = byte_order or preset.byte_order
    if order not in ("little", "big"):
        raise RequestError(f"byte order {order!r} is unknown", "use 'little' (Windows) or 'big' (Mac)")
    out_h, out_w = a.shape[0] + extend, a.shape[1] + extend
    preset.check_size(out_h, out_w)
    size = str(out_w) if out_w == out_h else f"{out_w}x{out_h}"
    stems = _stems(template or preset.name_template, {"size": size, "preset": preset.name, **fields}, chosen)
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        # Create it (or say why not). An existing folder is not probed on every image: the
        # service checks it once per batch, and a write that fails still raises ExportError.
        check_writable(out_dir)

    # 2. The height every derived map starts from; the material's maps when a material map is asked.
    material = _material(a, kind, channel_names, chosen, wrap)
    if material is not None:
        height = material.height
    else:
        height = a[..., 0] if a.shape[2] == 1 else luminance(a)
    shared = {"texgen_version": __version__, **(sidecar or {})}
    shared.update(preset=preset.name, engine=preset.engine, size={"width": out_w, "height": out_h})
    if extend:
        shared["shared_edge"] = "last row and column repeat the first (tileable n x n map, n+1 written)"

    # 3. Each map: derive, extend, write, describe.
    written = []
    for m, stem in zip(chosen, stems):
        path = out_dir / f"{stem}{_suffix(m, preset)}"
        facts: dict[str, Any] = {"map": m}
        if m == "albedo":
            albedo = material.albedo if material is not None else a
            ex.save_texture_png(path, _extended(albedo, extend))
            facts.update(
                format="png",
                bit_depth=8,
                channels=albedo.shape[2],
                colour_space="sRGB",
                value_mapping="u8 = round(v * 255) per channel",
            )
        elif m == "height":
            facts.update(_write_height(path, _extended(height, extend), preset, order))
        elif m == "normal":
            if material is not None and material.normal is not None:
                n = encode_normals(material.normal, convention)
                facts["source"] = "the model's normal channels"
            else:
                n = normal_map(height, strength=normal_strength, convention=convention, wrap=wrap)  # type: ignore[arg-type]
            ex.save_normal_png(path, _extended(n, extend))
            facts.update(
                format="png",
                bit_depth=8,
                channels=3,
                normal_convention=convention,
                normal_strength=normal_strength,
                value_mapping="u8 = round((n + 1) / 2 * 255) per axis; flat = (128, 128, 255)",
            )
        elif m == "hillshade":
            ex.save_height_png8(path, _extended(hillshade(height, wrap=wrap, **HILLSHADE), extend))
            facts.update(format="png", bit_depth=8, channels=1, preview="hillshade", **HILLSHADE)
        else:  # a material map: plain or packed
            assert material is not None
            values = pack(material, m) if m in PACKED else material.scalar(m)
            ex.save_texture_png(path, _extended(values, extend))
            facts.update(
                format="png",
                bit_depth=8,
                channels=1 if values.ndim == 2 else values.shape[2],
                colour_space="linear",
                value_mapping="u8 = round(v * 255) per channel",
            )
            if m in PACKED:
                facts["channel_layout"] = PACKED[m].layout
            filled = [s for s in (packed_sources(m) if m in PACKED else (m,)) if s not in material.made()]
            if filled:
                facts["filled"] = {s: NEUTRAL[s] for s in filled}
        if m in ("height", "normal", "hillshade"):
            facts["height_source"] = _height_source(a, kind, material, channel_names)
        if material is not None and m in MATERIAL_ONLY + ("height",) and kind == "texture":
            facts["derived"] = "from the colour by texgen.materials.derive_from_photo (heuristics)"
        ex.write_sidecar(path, {**shared, **facts})
        written.append(path)
    return written


def _write_height(path: Path, h: np.ndarray, preset: ExportPreset, order: str) -> dict[str, Any]:
    fmt = preset.height_format
    if fmt == "png16":
        ex.save_height_png16(path, h)
        return dict(format="png", bit_depth=16, channels=1, value_mapping=ex.FULL_MAPPING)
    if fmt == "png8":
        ex.save_height_png8(path, h)
        return dict(format="png", bit_depth=8, channels=1, value_mapping=ex.BYTE_MAPPING)
    if fmt == "raw16":
        ex.save_raw16(path, h, byte_order=order, flip_vertical=preset.flip_vertical)  # type: ignore[arg-type]
        rows = "bottom row of the image first" if preset.flip_vertical else "top row first"
        return dict(
            format="raw16",
            bit_depth=16,
            byte_order=order,
            flip_vertical=preset.flip_vertical,
            rows=rows,
            header="none",
            value_mapping=ex.UNITY_MAPPING,
        )
    ex.save_r16(path, h)
    return dict(
        format="r16",
        bit_depth=16,
        byte_order="little",
        flip_vertical=False,
        rows="top row first",
        header="none",
        value_mapping=ex.FULL_MAPPING,
    )


def _suffix(m: str, preset: ExportPreset) -> str:
    return SUFFIX[preset.height_format] if m == "height" else ".png"


def _stems(template: str, fields: dict[str, Any], chosen: tuple[str, ...]) -> list[str]:
    stems = [format_name(template, **{**fields, "map": m}) for m in chosen]
    if len(set(stems)) != len(stems):
        raise RequestError(
            f"file name template {template!r} gives {len(chosen)} maps the same name", "add {map} to the template"
        )
    return stems


def _material(
    a: np.ndarray, kind: str, channel_names: tuple[str, ...], chosen: tuple[str, ...], wrap: bool
) -> Material | None:
    """The maps of a material model's image; a texture's derived from its colour when a
    material map is asked; None otherwise (height from the image, as before)."""
    if kind == "material":
        return split(a, channel_names)
    if kind == "texture" and any(m in MATERIAL_ONLY for m in chosen):
        rgb = a if a.shape[2] == 3 else np.repeat(a, 3, axis=2)
        return derive_from_photo(rgb, wrap=wrap)
    return None


def _height_source(a: np.ndarray, kind: str, material: Material | None, channel_names: tuple[str, ...]) -> str:
    if kind == "material":
        return "the model's height channel" if "height" in channel_names else "luminance of the albedo (Rec. 709)"
    if material is not None:
        return "derived from the colour (texgen.materials.derive_from_photo)"
    return "image" if a.shape[2] == 1 else "luminance (Rec. 709)"


def check_maps(chosen: tuple[str, ...], kind: str) -> None:
    """RequestError unless `chosen` is a valid, non-repeating set of maps for a `kind` model."""
    if kind not in ("texture", "heightmap", "material"):
        raise RequestError(f"model kind {kind!r} is unknown", "use 'texture', 'heightmap' or 'material'")
    if not chosen:
        raise RequestError("no maps to write", "choose at least one of " + ", ".join(MAPS))
    for m in chosen:
        if m not in MAPS:
            raise RequestError(f"map {m!r} is unknown", "use " + ", ".join(MAPS))
    if kind == "heightmap" and "albedo" in chosen:
        raise RequestError("a heightmap model has no albedo (colour) map", "choose height, normal or hillshade")
    material = [m for m in chosen if m in MATERIAL_ONLY]
    if kind == "heightmap" and material:
        raise RequestError(
            f"a heightmap model has no material maps ({', '.join(material)})",
            "choose height, normal or hillshade, or a material or colour texture model",
        )
    if len(set(chosen)) != len(chosen):
        raise RequestError(f"maps {', '.join(chosen)} repeat a map", "list each map once")


def _hwc(img: np.ndarray, kind: str = "texture", channel_names: tuple[str, ...] = ()) -> np.ndarray:
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 2:
        a = a[..., None]
    if kind == "material":
        if a.ndim != 3 or a.shape[2] != len(channel_names):
            raise RequestError(
                f"material image has shape {a.shape}, expected H x W x {len(channel_names)} (its channel layout)",
                "pass the generator's output as it is, with its channel_names",
            )
        return a
    if a.ndim != 3 or a.shape[2] not in (1, 3):
        raise RequestError(f"image has shape {a.shape}, expected H x W x 1 or H x W x 3", "pass one image")
    return a


def _extended(a: np.ndarray, extend: bool) -> np.ndarray:
    return extend_periodic(a) if extend else a
