"""CIFAR-100 (the course's data set) from the official python archive, as an ImageSet.

Accepted: `cifar-100-python.tar.gz`, its extracted `cifar-100-python/` folder (or the folder
that holds either), else the cache (~/.cache/texgen), else a download when allowed, checked
against the published MD5. Only the train split is used: a GAN has no use for a test split,
and the course trains on the 500 train images of fine class 33, "forest".

The archive's files are Python 2 pickles. Unpickling can run code, so they are read with an
unpickler that only builds lists, dicts, strings and numpy arrays.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import io
import os
import pickle
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from texgen.errors import RequestError

from .cifar100_names import COARSE_LABEL_NAMES, FINE_LABEL_NAMES
from .imageset import ImageSet
from .pixels import REC709, resize, to_signed_chw

CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
CIFAR100_MD5 = "eb9058c3a382ffc7106e4002c42a8d85"
CIFAR100_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
ARCHIVE_NAME = "cifar-100-python.tar.gz"
FOLDER_NAME = "cifar-100-python"
SIDE = 32
TRAIN_PER_FINE, TRAIN_PER_COARSE = 500, 2500
LICENSE = (
    "no licence stated by the authors; images collected from the web (80 Million Tiny Images). "
    f"Cite Krizhevsky, Learning Multiple Layers of Features from Tiny Images, 2009 ({CIFAR100_PAGE})"
)
LIST_HINT = "`cifar100:list` lists all 100 fine and 20 coarse classes"


@dataclass(frozen=True)
class ClassRef:
    """One class named in a spec: a fine label (0-99) or a coarse superclass (0-19)."""

    level: Literal["fine", "coarse"]
    index: int

    @property
    def name(self) -> str:
        return (FINE_LABEL_NAMES if self.level == "fine" else COARSE_LABEL_NAMES)[self.index]

    def __str__(self) -> str:
        return f"{self.level} class {self.index} '{self.name}'"


def listing() -> str:
    """Every class a spec can name, for `cifar100:list`."""
    fine = ", ".join(f"{i} {n}" for i, n in enumerate(FINE_LABEL_NAMES))
    coarse = ", ".join(COARSE_LABEL_NAMES)
    return f"fine classes: {fine}; coarse classes: {coarse}"


def parse_classes(text: str) -> tuple[ClassRef, ...]:
    """'forest', '33', 'forest,mountain,sea' or a coarse name -> class references, in spec order."""
    refs = []
    for token in text.split(","):
        key = _normalise(token)
        if not key:
            raise RequestError(f"empty CIFAR-100 class in '{text}'", f"name classes like cifar100:forest,sea; {LIST_HINT}")
        if key.isdigit():
            if int(key) >= len(FINE_LABEL_NAMES):
                raise RequestError(f"CIFAR-100 fine class {key} does not exist", f"use 0-99; {LIST_HINT}")
            refs.append(ClassRef("fine", int(key)))
            continue
        fine = [_normalise(n) for n in FINE_LABEL_NAMES]
        coarse = [_normalise(n) for n in COARSE_LABEL_NAMES]
        if key in fine:
            refs.append(ClassRef("fine", fine.index(key)))
        elif key in coarse:
            refs.append(ClassRef("coarse", coarse.index(key)))
        else:
            names = list(FINE_LABEL_NAMES + COARSE_LABEL_NAMES)
            close = difflib.get_close_matches(key, [_normalise(n) for n in names], n=4, cutoff=0.6)
            close_names = [names[[_normalise(n) for n in names].index(c)] for c in close]
            hint = f" (did you mean {', '.join(close_names)}?)" if close_names else ""
            raise RequestError(f"unknown CIFAR-100 class '{token.strip()}'{hint}",
                               f"name a fine class (0-99 or its name) or a coarse class; {LIST_HINT}")
    return tuple(dict.fromkeys(refs))


def describe_classes(refs: tuple[ClassRef, ...]) -> str:
    """'fine class 33 'forest'', 'fine classes 33 'forest', 71 'sea'', 'coarse class 10 '...''."""
    fine = [r for r in refs if r.level == "fine"]
    coarse = [r for r in refs if r.level == "coarse"]
    parts = []
    for level, group in (("fine", fine), ("coarse", coarse)):
        if group:
            listed = ", ".join(f"{r.index} '{r.name}'" for r in group)
            parts.append(f"{level} class{'es' if len(group) > 1 else ''} {listed}")
    return " + ".join(parts)


def expected_count(refs: tuple[ClassRef, ...]) -> int:
    """Train images the official archive holds for these classes (500 per fine, 2500 per coarse)."""
    fine = {r.index for r in refs if r.level == "fine"}
    coarse = {r.index for r in refs if r.level == "coarse"}
    return TRAIN_PER_FINE * len(fine) + TRAIN_PER_COARSE * len(coarse)  # overlap counted twice: a hint only


def default_cache_dir() -> Path:
    """~/.cache/texgen (or $XDG_CACHE_HOME/texgen)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "texgen"


def open_cifar100(
    refs: tuple[ClassRef, ...],
    *,
    archive: Path | None,
    channels: int,
    crop: int,
    scale: float,
    classes: bool,
    cache_dir: Path | None,
    download: bool,
    log: Callable[[str], None],
) -> ImageSet:
    """The train images of the named classes; with `classes`, each fine class is one label."""
    side = max(1, round(SIDE * scale))
    if crop > side:
        raise RequestError(f"CIFAR-100 images are {SIDE}x{SIDE} ({side}x{side} after scale {scale:g}); crop {crop} does not fit",
                           f"use a crop of {side} or less")
    spec_hint = "cifar100:" + ",".join(r.name for r in refs)
    source = locate(archive, cache_dir or default_cache_dir(), download, spec_hint, log)
    meta = read_member(source, "meta")
    if tuple(meta.get("fine_label_names", ())) != FINE_LABEL_NAMES:
        raise RequestError(f"{source} is not the official CIFAR-100 archive (its fine class names differ)",
                           f"download cifar-100-python.tar.gz from {CIFAR100_PAGE}")
    train = read_member(source, "train")

    # 1. Pick the images of the named classes.
    fine_labels = np.asarray(train.get("fine_labels", ()), dtype=np.int64)
    coarse_labels = np.asarray(train.get("coarse_labels", ()), dtype=np.int64)
    pixels = np.asarray(train.get("data", ()))
    if pixels.shape != (len(fine_labels), 3 * SIDE * SIDE) or len(coarse_labels) != len(fine_labels):
        raise RequestError(f"{FOLDER_NAME}/train in {source} is not laid out as CIFAR-100 (data {pixels.shape}, "
                           f"{len(fine_labels)} fine labels)", f"download {ARCHIVE_NAME} again ({CIFAR100_PAGE})")
    keep = np.zeros(len(fine_labels), dtype=bool)
    for ref in refs:
        keep |= (fine_labels if ref.level == "fine" else coarse_labels) == ref.index
    if not keep.any():
        raise RequestError(f"{source} holds no train image of {describe_classes(refs)}",
                           f"check the archive against the one at {CIFAR100_PAGE}")
    # 2. Labels: the fine classes, in spec order (a coarse class adds its members in label order).
    class_ids = _class_order(refs, fine_labels[keep], coarse_labels[keep])
    if classes and len(class_ids) < 2:
        raise RequestError(f"conditional training needs at least 2 classes, {spec_hint} names one",
                           "name several (cifar100:forest,sea or a coarse class) or leave out --conditional")
    lookup = np.zeros(len(FINE_LABEL_NAMES), dtype=np.int64)
    lookup[class_ids] = np.arange(len(class_ids))
    labels = lookup[fine_labels[keep]] if classes else np.zeros(int(keep.sum()), dtype=np.int64)
    # 3. Pixels: rows of 1024 red, 1024 green, 1024 blue, each 32x32 row-major -> HWC in [0, 1].
    data = pixels.astype(np.uint8, copy=False)[keep]
    hwc = data.reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1).astype(np.float32) / 255.0
    if channels == 1:
        hwc = (hwc @ REC709)[..., None]
    images = [to_signed_chw(resize(img, scale)) for img in hwc]

    description = f"CIFAR-100 {describe_classes(refs)} ({len(images)} train images"
    description += ", grey" if channels == 1 else ""
    description += f", scaled x{scale:g})" if scale != 1.0 else ")"
    log(f"loaded {description} from {source}")
    return ImageSet(
        images=images,
        labels=labels,
        class_names=tuple(FINE_LABEL_NAMES[i] for i in class_ids) if classes else (),
        description=description,
        license=LICENSE,
        skipped=[],
    )


def locate(archive: Path | None, cache_dir: Path, download: bool, spec_hint: str, log: Callable[[str], None]) -> Path:
    """The archive or extracted folder to read: the given path, else the cache, else a download."""
    fix = (f"download {ARCHIVE_NAME} ({CIFAR100_PAGE}) and pass {spec_hint}@PATH "
           f"(the .tar.gz or its extracted {FOLDER_NAME} folder)")
    if archive is not None:
        found = find_archive(archive.expanduser())
        if found is None:
            raise RequestError(f"CIFAR-100 not found at {archive}", fix)
        return found
    found = find_archive(cache_dir)
    if found is not None:
        return found
    if not download:
        raise RequestError(f"CIFAR-100 not found at {cache_dir / ARCHIVE_NAME}", fix + ", or add --set download=true to fetch it")
    return download_archive(cache_dir / ARCHIVE_NAME, spec_hint, log)


def download_archive(dest: Path, spec_hint: str, log: Callable[[str], None]) -> Path:
    """Fetch CIFAR100_URL to `dest` via a temporary file, renamed only once its MD5 matches."""
    url, md5 = CIFAR100_URL, CIFAR100_MD5  # read at call time so tests can point them elsewhere
    fix = f"download {ARCHIVE_NAME} on a machine that is online ({CIFAR100_PAGE}) and pass {spec_hint}@PATH"
    tmp = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
        digest = hashlib.md5(usedforsecurity=False)
        log(f"downloading {url} to {dest}")
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            total, done, next_report = int(response.headers.get("Content-Length") or 0), 0, 0.1
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if total and done >= next_report * total:
                    log(f"downloaded {done >> 20} of {total >> 20} MiB")
                    next_report += 0.1
        if digest.hexdigest() != md5:
            raise RequestError(f"the download from {url} is corrupt (MD5 {digest.hexdigest()}, expected {md5})",
                               f"try again, or {fix}")
        os.replace(tmp, dest)
        tmp = None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", None) or err
        raise RequestError(f"CIFAR-100 not found at {dest} and the download from {url} failed ({reason})", fix) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
    return dest


def read_member(source: Path, name: str) -> dict:
    """One pickle of the archive (`meta`, `train` or `test`) as a dict with str keys."""
    try:
        if source.is_dir():
            raw = (source / name).read_bytes()
        else:
            with tarfile.open(source, "r:*") as tar:
                member = tar.extractfile(f"{FOLDER_NAME}/{name}")
                if member is None:
                    raise KeyError(name)
                raw = member.read()
        value = _SafeUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except (OSError, KeyError, EOFError, tarfile.TarError, pickle.UnpicklingError, ValueError) as err:
        if isinstance(err, tarfile.ReadError):  # its text runs over several lines
            why = "not a tar archive" + (": this is the extracted 'train' file; pass the folder that holds it"
                                         if source.name in ("train", "test", "meta") else "")
        else:
            why = " ".join(str(err).split()) or type(err).__name__
        raise RequestError(f"cannot read {FOLDER_NAME}/{name} from {source} ({why})",
                           f"pass the official {ARCHIVE_NAME} or its extracted folder ({CIFAR100_PAGE})") from None
    if not isinstance(value, dict):
        raise RequestError(f"{FOLDER_NAME}/{name} in {source} is not a CIFAR-100 pickle",
                           f"pass the official {ARCHIVE_NAME} ({CIFAR100_PAGE})")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in value.items()}


def find_archive(path: Path) -> Path | None:
    """The archive or extracted folder at `path` (which may also be the folder holding either)."""
    if path.is_file():
        return path
    for candidate in (path, path / FOLDER_NAME):
        if (candidate / "meta").is_file() and (candidate / "train").is_file():
            return candidate
    return path / ARCHIVE_NAME if (path / ARCHIVE_NAME).is_file() else None


def _class_order(refs: tuple[ClassRef, ...], fine: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """Fine label ids in spec order; a coarse class adds its fine members in label order."""
    order: list[int] = []
    for ref in refs:
        members = [ref.index] if ref.level == "fine" else sorted(set(fine[coarse == ref.index].tolist()))
        order += [m for m in members if m not in order]
    return np.array(order, dtype=np.int64)


def _normalise(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _numpy_global(submodule: str, name: str) -> object:
    for module in (f"numpy._core.{submodule}", f"numpy.core.{submodule}"):  # numpy 2, numpy 1
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"numpy has no {submodule}.{name}")


class _SafeUnpickler(pickle.Unpickler):
    """Builds only numpy arrays and plain containers: a tampered archive cannot run code."""

    NUMPY = {("numpy", "ndarray"), ("numpy", "dtype")}
    NUMPY_CORE = {("multiarray", "_reconstruct"), ("multiarray", "scalar"), ("numeric", "_frombuffer")}
    PLAIN = {("_codecs", "encode"), ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),
             ("__builtin__", "object"), ("builtins", "object")}

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in self.NUMPY:
            return getattr(np, name)
        core = module.removeprefix("numpy._core.").removeprefix("numpy.core.")
        if core != module and (core, name) in self.NUMPY_CORE:
            return _numpy_global(core, name)
        if (module, name) in self.PLAIN:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (not part of a CIFAR-100 pickle)")
