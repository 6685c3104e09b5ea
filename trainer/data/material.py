"""Material data (`--kind material`): scanned map sets or plain colour photographs, as an ImageSet
whose images stack every map of one material (texgen.materials.LAYOUT order).

A folder that holds a map set is one material. Its files are matched by the names the CC0
libraries give them, on the words of the file name (case ignored; separators _ - . and space):

  map        ambientCG (NAME_1K-PNG_Color.png ...)   Poly Haven (name_diff_1k.png ...)   also
  albedo     Color                                    diff                                 albedo, basecolor, diffuse
  height     Displacement                             disp                                 height
  roughness  Roughness                                rough                                roughness
  ao         AmbientOcclusion                         ao                                   occlusion
  normal     NormalGL / NormalDX                      nor_gl / nor_dx                      normal (read as OpenGL)
  metallic   Metalness                                metal                                metallic
  packed     -                                        arm (R AO, G roughness, B metallic)

A folder of images none of which is named as a map is a folder of photographs: each one is a
material whose height, roughness and AO are derived from its colour
(texgen.materials.derive_from_photo), and normals from that height when other materials of the
set have normal maps. Within a set, a map it lacks is derived the same way (AO from its height
when it has one). The layout is the union: metallic appears when any material has it (0 where one
lacks it), normal when any has a normal map. Every map is read at its full bit depth (a 16-bit
displacement stays 16-bit precise) and kept in float from file to batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from texgen import materials
from texgen.errors import RequestError
from texgen.maps import normal_map

from .folder import _class_groups, _read_license, list_files
from .imagefile import IMAGE_SUFFIXES, READ_ERRORS, read_image
from .imageset import ImageSet
from .memory import check_fits
from .pixels import convert_channels, resize

WORDS = materials.MAP_WORDS  # a word of a file name -> the map it names (texgen.materials)
map_of = materials.map_of  # the map a file's name says it holds, or None for a plain photo
# Normal maps derived from a height (a set without its own) count a height step of 1 over a
# pixel as this many pixels tall, as texgen's texture exports do by default.
DERIVED_NORMAL_STRENGTH = 2.0
# How many derived map previews a run folder gets (`derived-maps/`).
PREVIEWS = 4


@dataclass
class Source:
    """One material of the data set: its map files (a set) or one photograph."""

    name: str
    files: dict[str, Path] = field(default_factory=dict)  # map (WORDS values) -> file
    label: int = 0

    @property
    def photo(self) -> bool:
        return set(self.files) == {"photo"}


def find_sources(root: Path, log: Callable[[str], None]) -> list[Source]:
    """Every material under `root` (a folder, recursively, or one file), in sorted order."""
    if root.is_file():
        return [Source(root.stem, {"photo": root})]
    by_folder: dict[Path, list[Path]] = {}
    for f in list_files(root, "texture"):
        by_folder.setdefault(f.parent, []).append(f)
    out = []
    for folder in sorted(by_folder, key=lambda p: p.relative_to(root).as_posix()):
        files = by_folder[folder]
        named = {f: map_of(f) for f in files}
        if not any(named.values()):
            out += [Source(f.relative_to(root).with_suffix("").as_posix(), {"photo": f}) for f in files]
            continue
        relative = folder.relative_to(root).as_posix()
        source = Source(folder.name if relative == "." else relative)  # --data the set's own folder: its name
        for f, m in named.items():
            if m is None:
                log(f"note: {f} is not named as a map of the material in {folder} (left out)")
            elif m in source.files:
                keep = _larger(source.files[m], f)
                log(f"note: {folder} has two {m} maps ({source.files[m].name}, {f.name}); using {keep.name}")
                source.files[m] = keep
            else:
                source.files[m] = f
        if "normal" in source.files and "normal_dx" in source.files:
            log(f"note: {folder} has OpenGL and DirectX normal maps; using the OpenGL one")
            del source.files["normal_dx"]
        out.append(source)
    return out


def _larger(a: Path, b: Path) -> Path:
    """Of two files for one map (1K and 2K downloads), the larger on disk."""
    return b if b.stat().st_size > a.stat().st_size else a


def _read(path: Path, channels: int, log: Callable[[str], None]) -> np.ndarray:
    """HWC float32 in [0, 1] at the file's own bit depth."""
    pixels, full = read_image(path, log)
    img = pixels / full if full else np.clip(pixels, 0.0, 1.0)
    return convert_channels(img.astype(np.float32), channels)


def load_source(source: Source, log: Callable[[str], None]) -> materials.Material:
    """The maps of one material at full resolution; missing ones derived as the module says.

    `normal` holds unit vectors (OpenGL) when the set has a normal map, else None.
    """
    files = source.files
    albedo_file = files.get("photo") or files.get("albedo")
    if albedo_file is None:
        raise ValueError("no colour map (name one *_Color, *_diff or *_albedo)")
    albedo = _read(albedo_file, 3, log)
    size = albedo.shape[:2]

    def grey(m: str) -> np.ndarray | None:
        return _fit(_read(files[m], 1, log)[..., 0], size, files[m], log) if m in files else None

    arm = _fit(_read(files["arm"], 3, log), size, files["arm"], log) if "arm" in files else None
    derived = materials.derive_from_photo(albedo, wrap=False)
    height = grey("height")
    ao = grey("ao")
    if ao is None and arm is not None:
        ao = arm[..., 0]
    if ao is None:
        ao = materials.ao_from_height(height, wrap=False) if height is not None else derived.ao
    roughness = grey("roughness")
    if roughness is None:
        roughness = arm[..., 1] if arm is not None else derived.roughness
    metallic = grey("metallic")
    if metallic is None and arm is not None:
        metallic = arm[..., 2]
    normal = None
    for m in ("normal", "normal_dx"):
        if m in files:
            encoded = _fit(_read(files[m], 3, log), size, files[m], log)
            if m == "normal_dx":
                encoded[..., 1] = 1.0 - encoded[..., 1]  # DirectX stores green inverted
            normal = materials.decode_normals(encoded)
    return materials.Material(
        albedo=albedo,
        height=height if height is not None else derived.height,
        normal=normal,
        roughness=roughness,
        ao=ao,
        metallic=metallic,
    )


def _fit(img: np.ndarray, size: tuple[int, int], path: Path, log: Callable[[str], None]) -> np.ndarray:
    """A map resized to the colour map's size when it differs (said once per file)."""
    if img.shape[:2] == size:
        return img
    log(f"note: {path} is {img.shape[1]}x{img.shape[0]}, its colour map {size[1]}x{size[0]}; resized to match")
    planes = img if img.ndim == 3 else img[..., None]
    scaled = np.stack(
        [resize(planes[..., c : c + 1], size[0] / planes.shape[0])[..., 0] for c in range(planes.shape[2])], axis=-1
    )
    scaled = _crop_or_pad(scaled, size)
    return scaled if img.ndim == 3 else scaled[..., 0]


def _crop_or_pad(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    a = a[:h, :w]
    if a.shape[0] < h or a.shape[1] < w:
        a = np.pad(a, ((0, h - a.shape[0]), (0, w - a.shape[1]), (0, 0)), mode="edge")
    return a


def to_stack(m: materials.Material, maps: tuple[str, ...], scale: float) -> np.ndarray:
    """CHW float32 in [-1, 1]: the channels of `maps` (LAYOUT order), resized by `scale`."""
    planes = []
    for name in materials.MATERIAL_MAPS:
        if name not in maps:
            continue
        if name == "albedo":
            planes += [m.albedo[..., i] for i in range(3)]
        elif name == "normal":
            n = m.normals(DERIVED_NORMAL_STRENGTH, wrap=False)
            planes += [(n[..., i] + 1.0) * 0.5 for i in range(3)]
        else:
            planes.append(m.scalar(name))
    img = resize(np.stack(planes, axis=-1).astype(np.float32), scale)
    img = np.clip(img, 0.0, 1.0)
    if "normal" in maps:  # Lanczos moves lengths off 1: unit vectors again
        i = 3
        img[..., i : i + 3] = (materials.decode_normals(img[..., i : i + 3]) + 1.0) * 0.5
    return np.ascontiguousarray(img.transpose(2, 0, 1) * 2.0 - 1.0, dtype=np.float32)


def open_materials(path: Path, *, crop: int, scale: float, classes: bool, log: Callable[[str], None]) -> ImageSet:
    """A material data set (module docstring) as an ImageSet with `channel_names`."""
    path = Path(path).expanduser()
    if not path.exists():
        raise RequestError(f"no such file or folder: {path}", "give a folder of material map sets or colour photos")
    if path.is_file() and path.suffix.lower() not in IMAGE_SUFFIXES:
        raise RequestError(f"{path} is not an image", "give a colour photo, or a folder of map sets or photos")
    if classes and path.is_file():
        raise RequestError(f"--conditional needs a folder with one sub-folder per class, got the file {path}",
                           "pass the folder, or leave out --conditional")  # fmt: skip
    groups = {name: [] for name in _class_groups(path, "texture")} if classes else {"": []}
    for label, name in enumerate(groups):
        for source in find_sources(path / name if name else path, log):
            source.label = label
            groups[name].append(source)
    sources = [s for group in groups.values() for s in group]
    if not sources:
        raise RequestError(f"no images in {path}", f"put map sets or colour photos ({', '.join(IMAGE_SUFFIXES)}) in it")
    check_fits(path, [s.files.get("photo") or s.files.get("albedo") or next(iter(s.files.values())) for s in sources],
               "texture", 9, scale)  # fmt: skip

    loaded: list[tuple[Source, materials.Material]] = []
    skipped: list[tuple[str, str]] = []
    for source in sources:
        try:
            loaded.append((source, load_source(source, log)))
        except (*READ_ERRORS, RequestError) as err:
            reason = getattr(err, "problem", None) or str(err) or type(err).__name__
            log(f"skipped material {source.name}: {reason}")
            skipped.append((source.name, reason))
    maps = ["albedo", "height", "roughness", "ao"]
    if any(m.normal is not None for _, m in loaded):
        maps.append("normal")
    if any(m.metallic is not None for _, m in loaded):
        maps.append("metallic")
    names, _ = materials.layout_of(tuple(maps))

    images, labels, previews, too_small = [], [], [], []
    for source, m in loaded:
        stack = to_stack(m, tuple(maps), scale)
        if min(stack.shape[1:]) < crop:
            too_small.append(source.name)
            skipped.append(
                (
                    source.name,
                    f"{stack.shape[2]}x{stack.shape[1]} after scale {scale:g} is smaller than the crop {crop}",
                )
            )
            continue
        images.append(stack)
        labels.append(source.label)
        derived = _derived(source, m)
        if derived and len(previews) < PREVIEWS:
            previews.append((source.name, derived))
    if not images:
        why = skipped[0][1] if skipped else "nothing readable"
        raise RequestError(f"no material in {path} could be used ({why})",
                           "check the files open in an image viewer, and use a smaller --crop for small images")  # fmt: skip
    lost = [name for label, name in enumerate(groups) if label not in labels]
    if classes and lost:
        raise RequestError(f"no usable material left in class folder(s) {', '.join(lost)}",
                           "add readable map sets or photos of that class, or remove the folder")  # fmt: skip
    n_sets = sum(1 for s, _ in loaded if not s.photo)
    n_photos = len(loaded) - n_sets
    parts = [f"{n_sets} map set{'s' if n_sets != 1 else ''}"] if n_sets else []
    parts += [f"{n_photos} photo{'s' if n_photos != 1 else ''} (maps derived)"] if n_photos else []
    description = (
        f"{' and '.join(parts)} from {path}; maps {', '.join(m for m in materials.MATERIAL_MAPS if m in maps)}"
    )
    class_names = tuple(groups) if classes else ()
    if class_names:
        description += f", {len(class_names)} classes: {', '.join(class_names)}"
    if scale != 1.0:
        description += f", scaled x{scale:g}"
    files = [f for s in sources for f in s.files.values()]
    return ImageSet(
        images=images,
        labels=np.array(labels, dtype=np.int64),
        class_names=class_names,
        description=description,
        license=_read_license(path, files) if path.is_dir() else _read_license(path.parent),
        skipped=skipped,
        channel_names=names,
        derived_maps=previews,
    )


def _derived(source: Source, m: materials.Material) -> dict[str, np.ndarray]:
    """The maps of a material that were derived, not read (for `derived-maps/` in the run)."""
    read = set(source.files) - {"photo"}
    if "arm" in read:
        read |= {"ao", "roughness", "metallic"}
    out = {}
    for name in ("height", "roughness", "ao"):
        if name not in read:
            out[name] = getattr(m, name)
    if out:
        out["albedo"] = m.albedo
    return out
