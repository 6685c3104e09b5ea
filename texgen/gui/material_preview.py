"""Before a material run starts: the maps the trainer will read from the chosen folder, shown for
its first material, read from its files where it has them and derived from its colour where not.

The trainer reads the data itself (trainer/data/material.py); the app never imports the trainer
(training runs as a child process), so this reads a folder the same way, small: the same words
in file names name the maps (ambientCG's NAME_1K-PNG_Color.png, Poly Haven's name_diff_1k.png,
...); a folder with images none of which is named as a map holds photographs, whose height,
roughness and AO are derived (texgen.materials.derive_from_photo, unwrapped as for a photo). The
first material is the first folder of a set, or the first photo, in sorted order, as the trainer
lists them. Read at most PREVIEW_SIDE pixels a side, on a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from texgen import materials
from texgen.errors import RequestError, TexgenError
from texgen.gui import imaging
from texgen.gui.workers import Latest

PREVIEW_SIDE = 256
THUMB = 84
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
DERIVED_NORMAL_STRENGTH = 2.0  # as the trainer derives a set's missing normals
SHOWN = ("albedo", "height", "normal", "roughness", "ao", "metallic")


map_of = materials.map_of  # the words the trainer reads too


@dataclass
class MaterialPreview:
    """The first material of a folder as the trainer would read it."""

    folder: Path
    name: str
    photo: bool  # a photograph (every map but the albedo derived) rather than a map set
    material: materials.Material
    read: tuple[str, ...]  # the maps read from files
    derived: tuple[str, ...]  # the maps derived from the colour or the height
    found: int  # materials in the folder: map sets and photos

    def summary(self) -> str:
        what = "a photo" if self.photo else "a map set"
        text = f"{self.name}: {what}; read {', '.join(self.read)}"
        if self.derived:
            text += f"; derived {', '.join(self.derived)}"
        more = self.found - 1
        return text + (f" (and {more} more material{'s' if more != 1 else ''})" if more else "")


def _images(root: Path) -> list[Path]:
    return sorted(
        (
            p
            for p in root.rglob("*")
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        ),
        key=lambda p: p.relative_to(root).as_posix(),
    )


def first_material(root: Path) -> tuple[str, dict[str, Path], int]:
    """(name, map -> file ({"photo": file} for a photograph), materials found) of a folder."""
    root = Path(root).expanduser()
    if root.is_file():
        return root.stem, {"photo": root}, 1
    if not root.is_dir():
        raise RequestError(f"folder {root} does not exist", "pick a folder of material map sets or colour photos")
    by_folder: dict[Path, list[Path]] = {}
    for f in _images(root):
        by_folder.setdefault(f.parent, []).append(f)
    if not by_folder:
        raise RequestError(f"no images in {root}", f"put map sets or colour photos ({', '.join(IMAGE_SUFFIXES)}) in it")
    found, first = 0, None
    for folder in sorted(by_folder, key=lambda p: p.relative_to(root).as_posix()):
        named = {f: map_of(f) for f in by_folder[folder]}
        if not any(named.values()):
            found += len(named)
            first = first or (by_folder[folder][0].stem, {"photo": by_folder[folder][0]})
            continue
        found += 1
        files: dict[str, Path] = {}
        for f, m in named.items():
            if m is not None and m not in files:
                files[m] = f
        rel = folder.relative_to(root).as_posix()
        first = first or (folder.name if rel == "." else rel, files)
    return first[0], first[1], found


def _read(path: Path, colour: bool, size: tuple[int, int] | None) -> np.ndarray:
    """An image in [0, 1]: H x W x 3 when `colour`, else H x W; resized to `size` (w, h)."""
    with Image.open(path) as im:
        if colour:
            im = im.convert("RGB")
            full = 255.0
        elif im.mode.startswith("I"):  # 16-bit grey (a displacement map): kept 16-bit precise
            full = 65535.0
            im = (im.convert("I") if im.mode != "I" else im).convert("F")
        else:
            full = 255.0
            im = im.convert("L")
        if size is not None and im.size != size:
            im = im.resize(size, Image.Resampling.BILINEAR)
        return np.clip(np.asarray(im, np.float32) / full, 0.0, 1.0)


def preview_material(root: Path, side: int = PREVIEW_SIDE) -> MaterialPreview:
    """The first material of `root`, its maps at most `side` px a side (module docstring)."""
    name, files, found = first_material(Path(root))
    colour_file = files.get("photo") or files.get("albedo")
    if colour_file is None:
        raise RequestError(f"{name} has no colour map", "name one *_Color, *_diff or *_albedo")
    try:
        with Image.open(colour_file) as im:
            w, h = im.size
        scale = min(1.0, side / max(w, h))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        albedo = _read(colour_file, True, size)
        grey = {m: _read(files[m], False, size) for m in ("height", "roughness", "ao", "metallic") if m in files}
        arm = _read(files["arm"], True, size) if "arm" in files else None
        normal_file = files.get("normal") or files.get("normal_dx")
        encoded = _read(normal_file, True, size) if normal_file is not None else None
    except (OSError, ValueError, UnidentifiedImageError) as exc:
        raise RequestError(
            f"could not read {name}'s images ({exc})", "check the files open in an image viewer"
        ) from None
    derived = materials.derive_from_photo(albedo, wrap=False)
    height = grey.get("height")
    ao = grey.get("ao", arm[..., 0] if arm is not None else None)
    if ao is None and height is not None:
        ao = materials.ao_from_height(height, wrap=False)
    roughness = grey.get("roughness", arm[..., 1] if arm is not None else None)
    metallic = grey.get("metallic", arm[..., 2] if arm is not None else None)
    normal = None
    if encoded is not None:
        if "normal" not in files:  # DirectX stores green inverted
            encoded[..., 1] = 1.0 - encoded[..., 1]
        normal = materials.decode_normals(encoded)
    material = materials.Material(
        albedo=albedo,
        height=height if height is not None else derived.height,
        normal=normal,
        roughness=roughness if roughness is not None else derived.roughness,
        ao=ao if ao is not None else derived.ao,
        metallic=metallic,
    )
    read = {
        "albedo",
        *grey,
        *(("ao", "roughness", "metallic") if arm is not None else ()),
        *(("normal",) if normal is not None else ()),
    }
    return MaterialPreview(
        folder=Path(root),
        name=name,
        photo="photo" in files,
        material=material,
        read=tuple(m for m in SHOWN if m in read),
        derived=tuple(m for m in SHOWN[:5] if m not in read),
        found=found,
    )


def map_pictures(p: MaterialPreview) -> dict[str, np.ndarray]:
    """Each map of a preview as a picture in [0, 1] (normals encoded), metallic only when read."""
    m = p.material
    out = {
        "albedo": m.albedo,
        "height": m.height,
        "normal": materials.encode_normals(m.normals(DERIVED_NORMAL_STRENGTH, False)),
        "roughness": m.scalar("roughness"),
        "ao": m.scalar("ao"),
    }
    if m.metallic is not None:
        out["metallic"] = m.metallic
    return out


def _read_folder(folder: str) -> tuple[str, MaterialPreview | None, str | None]:
    """(folder, its preview or None, why not): a user's folder that cannot be read is news for
    the caption, not an error of the app."""
    try:
        return folder, preview_material(Path(folder)), None
    except TexgenError as exc:
        return folder, None, str(exc)


class MaterialMaps(QGroupBox):
    """The maps of a folder's first material, as small pictures with their names; refreshed a
    moment after the folder changes (a typed path is not read at every key)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Maps the trainer will use", parent)
        self.setToolTip(
            "The first material of the folder: maps read from files named as ambientCG or Poly Haven name them\n"
            "(Color, Displacement, Roughness, AmbientOcclusion, NormalGL, Metalness; diff, disp, rough, ao, nor_gl, arm),\n"
            "the rest derived from the colour. A folder of plain photos: each photo's maps derived from its colour."
        )
        self.caption = QLabel("Pick a folder of material map sets or colour photos")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #9aa0a8")
        grid = QGridLayout()
        self.pictures: dict[str, QLabel] = {}
        self.names: dict[str, QLabel] = {}
        for i, m in enumerate(SHOWN):
            picture, name = QLabel(), QLabel(m)
            picture.setFixedSize(THUMB, THUMB)
            picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
            picture.setStyleSheet("border: 1px solid #444")
            name.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(picture, (i // 3) * 2, i % 3)
            grid.addWidget(name, (i // 3) * 2 + 1, i % 3)
            self.pictures[m], self.names[m] = picture, name
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addLayout(grid)
        self.folder: str = ""
        self.preview: MaterialPreview | None = None  # what is shown
        self.error: str | None = None
        self._reads = Latest(self)
        self._reads.result.connect(self._on_read)
        self._reads.failed.connect(self._on_failed)
        self._timer = QTimer(self, singleShot=True, interval=300, timeout=self._read)
        self._clear()

    def show_folder(self, folder: str) -> None:
        """Read `folder`'s first material shortly (the newest folder asked wins)."""
        folder = folder.strip()
        if folder == self.folder and (self.preview is not None or self.error is not None):
            return
        self.folder = folder
        self.preview, self.error = None, None
        self._timer.start()

    @property
    def ready(self) -> bool:
        """The folder asked for has been read (or failed to be)."""
        return not self._timer.isActive() and (
            (self.preview is not None and str(self.preview.folder) == self.folder) or self.error is not None
        )

    def _read(self) -> None:
        folder = self.folder
        if not folder:
            self._clear()
            return
        self.caption.setText("Reading…")
        self._reads.submit(lambda report, cancelled: _read_folder(folder))

    def _on_read(self, result) -> None:
        folder, preview, error = result
        if folder != self.folder:
            return  # another folder was chosen since; its read is queued
        if preview is None:
            self._on_failed(error)
            return
        self.preview, self.error = preview, None
        self.caption.setText(preview.summary())
        pictures = map_pictures(preview)
        for m, label in self.pictures.items():
            shown = m in pictures
            label.setVisible(shown)
            self.names[m].setVisible(shown)
            if shown:
                image = imaging.thumbnail(imaging.to_qimage(pictures[m]), THUMB - 2)
                label.setPixmap(QPixmap.fromImage(image))
                self.names[m].setText(m + ("" if m in preview.read else " (derived)"))

    def _on_failed(self, message: str) -> None:
        self.error = message
        self.preview = None
        self._clear(message)

    def _clear(self, text: str = "Pick a folder of material map sets or colour photos") -> None:
        self.caption.setText(text)
        for m, label in self.pictures.items():
            label.clear()
            self.names[m].setText(m)
            label.setVisible(m != "metallic")
            self.names[m].setVisible(m != "metallic")
