"""A folder of the user's images (or one file) as an ImageSet.

The folder is read recursively in sorted order, so image indices (and so a resumed run's
batches) do not depend on the file system's listing order. With classes, each immediate
sub-folder is one class. A file that cannot be read is skipped and reported, never fatal: one
broken download among a thousand textures should not stop a training run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from texgen.errors import RequestError

from .heightfield import HEIGHTFIELD_SUFFIXES, HeightfieldError, load_heightfield
from .imagefile import IMAGE_SUFFIXES, READ_ERRORS, read_image
from .imageset import ImageSet
from .memory import check_fits
from .pixels import convert_channels, resize, to_signed_chw

Kind = Literal["texture", "heightmap"]
USER_LICENSE = "unknown (user data)"
LICENSE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "LICENCE.txt", "COPYING")


def suffixes_for(kind: Kind) -> tuple[str, ...]:
    """File types read for a texture or a heightmap data set."""
    return HEIGHTFIELD_SUFFIXES if kind == "heightmap" else IMAGE_SUFFIXES


def list_files(root: Path, kind: Kind) -> list[Path]:
    """Readable-looking files under `root`, recursively, sorted; hidden files and folders skipped.

    Hidden entries (".DS_Store", macOS "._name.png" resource forks, "__MACOSX") are left out
    silently: they are never images, and reporting them as corrupt would only be noise.
    """
    wanted = suffixes_for(kind)
    found = []
    seen = set()  # folders already walked, by real path: a symlink loop is walked once
    for folder, dirs, files in os.walk(root, followlinks=True):  # symlinked folders count, as in classes
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not _hidden(d)]
        found += [Path(folder, f) for f in files if not _hidden(f) and Path(f).suffix.lower() in wanted]
    return sorted((p for p in found if p.is_file()), key=lambda p: p.relative_to(root).as_posix())


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def check_kind(path: Path, kind: Kind) -> None:
    """A heightfield-only file (.npy, .npz, .raw, .r16) given for a texture data set is refused
    with the fix, rather than failing as an unreadable image."""
    if kind == "texture" and path.suffix.lower() in set(HEIGHTFIELD_SUFFIXES) - set(IMAGE_SUFFIXES):
        raise RequestError(f"{path} is a heightfield file, not a texture image", "add --kind heightmap to train terrain on it")


def load_texture(path: Path, channels: int, scale: float, log: Callable[[str], None] = print) -> np.ndarray:
    """One image file as a CHW float32 array in [-1, 1] with `channels` channels."""
    pixels, full_scale = read_image(path, log)
    img = pixels / full_scale if full_scale else pixels  # float TIFFs are taken as [0, 1]
    if full_scale is None and (img.min() < 0 or img.max() > 1):  # said, not clipped in silence
        log(f"{path}: float values {img.min():g} to {img.max():g} lie outside 0-1 and are clipped "
            "(scale them to 0-1, or train it as a heightmap with --kind heightmap)")
    img = resize(convert_channels(img, channels), scale)
    return to_signed_chw(img)


def open_path(
    path: Path, *, kind: Kind, channels: int, crop: int, scale: float, classes: bool, log: Callable[[str], None]
) -> ImageSet:
    """An image folder (recursive; sub-folders are classes when `classes`) or a single file."""
    path = Path(path).expanduser()
    if path.is_file():
        check_kind(path, kind)
        if classes:
            raise RequestError(f"--conditional needs a folder with one sub-folder per class, got the file {path}",
                               "pass the folder, or leave out --conditional")
        groups = {"": [path]}
    elif path.is_dir():
        groups = _class_groups(path, kind) if classes else {"": list_files(path, kind)}
    else:
        raise RequestError(f"no such file or folder: {path}",
                           "give a folder of images, one image or heightfield file, or cifar100:CLASS")

    check_fits(path, [f for files in groups.values() for f in files], kind, channels, scale)
    images: list[np.ndarray] = []
    labels: list[int] = []
    skipped: list[tuple[str, str]] = []
    too_small: list[tuple[Path, tuple[int, int]]] = []
    for label, files in enumerate(groups.values()):
        for file in files:
            try:
                img = (load_heightfield(file, scale, log) if kind == "heightmap"
                       else load_texture(file, channels, scale, log))
            except (*READ_ERRORS, HeightfieldError) as err:
                reason = str(err) or type(err).__name__
                log(f"skipped {file}: {reason}")
                skipped.append((str(file), reason))
                continue
            if min(img.shape[1:]) < crop:
                too_small.append((file, img.shape[1:]))
                continue
            images.append(img)
            labels.append(label)

    if path.is_file() and skipped:
        redo = "a square 16-bit RAW, .npy, PNG or TIFF" if kind == "heightmap" else "PNG"
        raise RequestError(f"cannot read {path} ({skipped[0][1]})", f"check the file, or re-export it as {redo}")
    _check_usable(path, groups, labels, skipped, too_small, crop, scale, kind, log)
    for file, (h, w) in too_small:
        skipped.append((str(file), f"{w}x{h} after scale {scale:g} is smaller than the crop {crop}"))
    class_names = tuple(groups) if classes else ()
    return ImageSet(
        images=images,
        labels=np.array(labels, dtype=np.int64),
        class_names=class_names,
        description=_describe(path, kind, len(images), class_names, scale),
        license=_read_license(path, [f for files in groups.values() for f in files]) if path.is_dir()
        else _read_license(path.parent),
        skipped=skipped,
    )


def _class_groups(root: Path, kind: Kind) -> dict[str, list[Path]]:
    """Class name -> its files: one class per immediate sub-folder, in sorted name order."""
    loose = [p.name for p in sorted(root.iterdir())
             if p.is_file() and not _hidden(p.name) and p.suffix.lower() in suffixes_for(kind)]
    if loose:
        shown = ", ".join(loose[:5]) + (f" and {len(loose) - 5} more" if len(loose) > 5 else "")
        raise RequestError(
            f"--conditional reads one class per sub-folder of {root}, but files lie directly in it: {shown}",
            "move them into a sub-folder named after their class, or leave out --conditional",
        )
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not _hidden(p.name))
    if len(folders) < 2:
        raise RequestError(
            f"--conditional needs at least 2 sub-folders (one per class) in {root}, found {len(folders)}",
            "add one sub-folder of images per class, or leave out --conditional to train on all images as one class",
        )
    groups = {folder.name: list_files(folder, kind) for folder in folders}
    empty = [name for name, files in groups.items() if not files]
    if empty:
        raise RequestError(f"class folder(s) with no {kind} files: {', '.join(empty)} in {root}",
                           f"add images ({', '.join(suffixes_for(kind))}) or remove the folder(s)")
    return groups


def _check_usable(
    path: Path,
    groups: dict[str, list[Path]],
    labels: list[int],
    skipped: list[tuple[str, str]],
    too_small: list[tuple[Path, tuple[int, int]]],
    crop: int,
    scale: float,
    kind: Kind,
    log: Callable[[str], None],
) -> None:
    """Raise a RequestError saying what to do when nothing (or a whole class) can be trained on."""
    n_files = sum(len(files) for files in groups.values())
    if n_files == 0:
        raise RequestError(f"no {kind} files in {path}",
                           f"put images ({', '.join(suffixes_for(kind))}) in it, or point --data elsewhere")
    if not labels and not too_small:
        raise RequestError(
            f"none of the {n_files} files in {path} could be read ({skipped[0][0]}: {skipped[0][1]})",
            "check that the files open in an image viewer, or re-export them as PNG",
        )
    if not labels:
        sides = [min(hw) for _, hw in too_small]
        raise RequestError(
            f"all {len(too_small)} readable images are smaller than the crop {crop} after scale {scale:g} "
            f"(smallest side {min(sides)} px, largest {max(sides)} px)",
            f"use a crop of at most {max(sides)}, a larger --scale, or larger images",
        )
    for file, (h, w) in too_small:
        log(f"skipped {file}: {w}x{h} after scale {scale:g} is smaller than the crop {crop}")
    counts = np.bincount(labels, minlength=len(groups))
    lost = [name for name, count in zip(groups, counts) if count == 0]
    if len(groups) > 1 and lost:
        raise RequestError(f"no usable image left in class folder(s) {', '.join(lost)} (unreadable or smaller "
                           f"than the crop {crop})", "add readable images of that class, or remove the folder")


def _describe(path: Path, kind: Kind, n: int, class_names: tuple[str, ...], scale: float) -> str:
    """E.g. '3 images from /data/stone, 3 classes: a, b, c, scaled x0.5' for the model card."""
    what = "heightfield" if kind == "heightmap" else "image"
    what += "" if n == 1 else "s"
    what += " (each normalised to its own min/max)" if kind == "heightmap" else ""
    text = f"{n} {what} from {path}"
    if class_names:
        text += f", {len(class_names)} classes: {', '.join(class_names)}"
    if scale != 1.0:
        text += f", scaled x{scale:g}"
    return text


def _read_license(folder: Path, files: Sequence[Path] = ()) -> str:
    """The first line of a LICENSE/COPYING file beside the images, else 'unknown (user data)'.

    A folder with no licence file of its own whose `files` all lie in sub-folders (one per
    class, or just grouped) takes those sub-folders' licences: one line when they all agree,
    else each sub-folder's, so a card never claims more than the files say. A file lying
    directly in a folder without a licence makes it unknown.
    """
    found = _license_line(folder)
    where = [Path(f).relative_to(folder).parts for f in files]
    tops = {parts[0] for parts in where if len(parts) > 1}
    loose = any(len(parts) == 1 for parts in where)
    if found or loose or not tops:
        return found or USER_LICENSE
    per_folder = {name: _license_line(folder / name) or USER_LICENSE for name in sorted(tops)}
    if len(set(per_folder.values())) == 1:
        return next(iter(per_folder.values()))
    return "; ".join(f"{name}: {text}" for name, text in per_folder.items())


def _license_line(folder: Path) -> str | None:
    """'FIRST LINE (from NAME)' of the first licence file in `folder`, or None."""
    for name in LICENSE_FILES:
        file = folder / name
        if file.is_file():
            lines = [ln.strip() for ln in file.read_text(errors="replace").splitlines() if ln.strip()]
            if lines:
                return f"{lines[0][:200]} (from {file.name})"
    return None
