"""`--data` spec strings -> the source that reads them; one entry point for every data set.

    cifar100:forest                 fine class by name      cifar100:33   fine class by number
    cifar100:forest,mountain,sea    several fine classes    cifar100:large_natural_outdoor_scenes (coarse)
    cifar100:forest@/path/to/cifar-100-python.tar.gz  (or @ the extracted cifar-100-python/ folder)
    cifar100:list                   lists every class
    /path/to/folder  or  folder:/path/to/folder       images, recursive (sub-folders = classes)
    /path/to/dem.npz                one file (any image, or .npy/.npz/.raw/.r16 for heightmaps)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from texgen.errors import RequestError

from . import cifar100
from .folder import check_kind, list_files, open_path, suffixes_for
from .imageset import ImageSet
from .material import open_materials

MAX_SCALE = 8.0


@dataclass(frozen=True)
class CifarSpec:
    """`cifar100:CLASSES[@PATH]`."""

    classes: tuple[cifar100.ClassRef, ...]
    archive: Path | None  # None: look in the cache (and download when allowed)


@dataclass(frozen=True)
class PathSpec:
    """A folder of images or one file."""

    path: Path


def parse_spec(spec: str) -> CifarSpec | PathSpec:
    """Read a `--data` string. Only the `cifar100:` and `folder:` prefixes are schemes, so a
    Windows path such as C:\\textures is a path."""
    text = spec.strip()
    if not text:
        raise RequestError("empty --data", "give a folder of images, a heightfield file, or cifar100:CLASS")
    scheme, _, rest = text.partition(":")
    if scheme.lower() == "cifar100":
        classes, at, archive = rest.partition("@")
        if classes.strip().lower() == "list":
            raise RequestError("cifar100:list lists the classes; it is not a data set", f"pick from these: {cifar100.listing()}")
        if not classes.strip():
            raise RequestError("cifar100: needs a class, e.g. cifar100:forest", cifar100.LIST_HINT)
        if at and not archive.strip():
            raise RequestError(f"nothing after '@' in {text}", "give the path of cifar-100-python.tar.gz after '@'")
        return CifarSpec(cifar100.parse_classes(classes), Path(archive.strip()) if at else None)
    if scheme.lower() == "folder":
        if not rest.strip():
            raise RequestError("folder: needs a path, e.g. folder:./my_textures", "give the folder after 'folder:'")
        return PathSpec(Path(rest))
    return PathSpec(Path(text))


def open_dataset(
    spec: str,
    *,
    kind: Literal["texture", "heightmap"] = "texture",
    channels: int = 3,
    crop: int = 32,
    scale: float = 1.0,
    classes: bool = False,
    cache_dir: Path | None = None,
    download: bool = False,
    log: Callable[[str], None] = print,
) -> ImageSet:
    """Open any data source as an ImageSet (images CHW float32 in [-1, 1]).

    kind="heightmap" forces one channel and normalises each file to its own min/max; `scale`
    resizes every image once at load (Lanczos; < 1 makes a crop cover more of the texture);
    images smaller than `crop` after scaling are skipped; `classes` makes a conditional set
    (sub-folders, or the several CIFAR-100 fine classes named).
    """
    channels = _check_options(kind, channels, crop, scale)
    parsed = parse_spec(spec)
    if isinstance(parsed, CifarSpec):
        if kind == "heightmap":
            raise RequestError("CIFAR-100 holds photos, not heightfields",
                               "use kind texture (channels 1 for grey), or a folder of heightmaps / a DEM file")
        if kind == "material":
            raise RequestError("CIFAR-100's 32 px photos of scenes are not materials",
                               "train --kind material on a folder of map sets or close-up colour photos")
        return cifar100.open_cifar100(parsed.classes, archive=parsed.archive, channels=channels, crop=crop,
                                      scale=scale, classes=classes, cache_dir=cache_dir, download=download, log=log)
    if kind == "material":
        return open_materials(parsed.path, crop=crop, scale=scale, classes=classes, log=log)
    return open_path(parsed.path, kind=kind, channels=channels, crop=crop, scale=scale, classes=classes, log=log)


def describe_spec(spec: str, *, kind: Literal["texture", "heightmap"] = "texture", classes: bool = False,
                  cache_dir: Path | None = None) -> str:
    """What `spec` would load, without decoding any image (for `--dry-run`); a missing path or
    archive raises the same RequestError that open_dataset would."""
    if spec.strip().lower().partition("@")[0] == "cifar100:list":
        return f"CIFAR-100 {cifar100.listing()}"
    parsed = parse_spec(spec)
    if isinstance(parsed, CifarSpec):
        hint = "cifar100:" + ",".join(r.name for r in parsed.classes)
        if parsed.archive is not None:
            where = str(cifar100.locate(parsed.archive, Path(), False, hint, lambda _: None))
        else:
            cache = cache_dir or cifar100.default_cache_dir()
            found = cifar100.find_archive(cache)
            where = str(found) if found else f"{cache} (not there yet: needs the download)"
        labels = " (one label per fine class)" if classes else ""
        return (f"CIFAR-100 {cifar100.describe_classes(parsed.classes)}, train split, "
                f"{cifar100.expected_count(parsed.classes)} images of 32x32{labels}, from {where}")
    path = parsed.path.expanduser()
    if path.is_file():
        check_kind(path, kind)
        return f"one {kind} file: {path}"
    if not path.is_dir():
        raise RequestError(f"no such file or folder: {path}",
                           "give a folder of images, one image or heightfield file, or cifar100:CLASS")
    files = list_files(path, kind)
    text = f"{len(files)} {kind} files ({', '.join(suffixes_for(kind))}) under {path}"
    if classes:
        folders = sorted({f.relative_to(path).parts[0] for f in files if len(f.relative_to(path).parts) > 1})
        text += f", classes from sub-folders: {', '.join(folders) or 'none'}"
    return text


def _check_options(kind: str, channels: int, crop: int, scale: float) -> int:
    """Validate the numeric options; returns the channel count to use (1 for heightmaps)."""
    if kind not in ("texture", "heightmap", "material"):
        raise RequestError(f"unknown kind '{kind}'", "use texture, heightmap or material")
    if kind == "heightmap":
        channels = 1
    if kind == "material":
        channels = 3  # the maps' channels come from the data; its colour is RGB
    if channels not in (1, 3):
        raise RequestError(f"{channels} channels is not supported", "use 1 (grey) or 3 (RGB)")
    if not isinstance(crop, (int, np.integer)) or isinstance(crop, bool) or crop < 1:
        raise RequestError(f"crop {crop} is not a positive whole number of pixels", "use e.g. 32 or 64")
    if not 0 < scale <= MAX_SCALE:
        raise RequestError(f"scale {scale} is out of range", f"use a factor above 0 and at most {MAX_SCALE:g} (0.5 halves each image)")
    return channels
