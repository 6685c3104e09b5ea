"""ImageSet: what every data source (CIFAR-100, an image folder, a DEM file) yields.

The training loop only ever sees this: a list of CHW float32 images in [-1, 1] with integer
labels, and `batch()` to draw random, augmented square crops from them. Images may differ in
size (a folder of photos), which is why they are a list and not one array; `stacked()` gives one
array when they do share a size, so the trainer can keep the whole set on the GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from texgen.errors import RequestError

# The symmetries of the square a training crop may be given (`augment`), each equally likely:
# "all" 8 (flips and quarter-turns: for textures with no up, such as grass or terrain), "flips"
# 4 (mirrored left-right, up-down, both; never turned: brick courses stay horizontal or
# vertical), "none" the photograph as it is. Every choice also changes the statistics the
# generator learns (on scikit-image's brick a quarter-turn moves SWD from 7 to 177, a flip to 29-35).
# A class-per-folder data set may give some classes their own: "all,brick:flips" turns every
# class but brick, which is only mirrored.
AUGMENTS = ("all", "flips", "none")


def augment_mode(value: bool | str) -> str:
    """`augment` in its written form: each mode lower-cased, true/false (older configs and
    `--set augment=false`) read as all/none; a per-class list keeps its class names as given."""
    if isinstance(value, bool):
        return "all" if value else "none"
    parts = []
    for item in str(value).split(","):
        name, sep, mode = item.rpartition(":")
        low = mode.strip().lower()
        low = {"true": "all", "1": "all", "yes": "all", "on": "all",
               "false": "none", "0": "none", "no": "none", "off": "none"}.get(low, low)  # fmt: skip
        parts.append(f"{name.strip()}:{low}" if sep else low)
    return ",".join(parts)


def parse_augment(value: bool | str) -> tuple[str, dict[str, str]]:
    """(the mode of every class not named, {class: its own mode}), or a RequestError naming the fault.

    Written "MODE" or "[MODE,]CLASS:MODE[,CLASS:MODE...]"; the unnamed classes default to "all".
    """
    fix = "use all (flips and quarter-turns), flips or none, or per class e.g. all,brick:flips"
    default, per_class = None, {}
    for item in augment_mode(value).split(","):
        name, sep, mode = item.rpartition(":")
        if mode not in AUGMENTS:
            where = "" if not sep and item == augment_mode(value) else f": {mode!r}"
            raise RequestError(f"augment {value!r}{where} is not one of {', '.join(AUGMENTS)}", fix)
        if not sep:
            if default is not None:
                raise RequestError(f"augment {value!r} gives two modes for every class ({default}, {mode})", fix)
            default = mode
        elif not name:
            raise RequestError(f"augment {value!r}: {item!r} names no class before the colon", fix)
        elif name in per_class:
            raise RequestError(f"augment {value!r} names class {name!r} twice", fix)
        else:
            per_class[name] = mode
    return default or "all", per_class


def _parse_for(value: bool | str, class_names: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """parse_augment(value), once every class it names is in `class_names`."""
    default, per_class = parse_augment(value)
    unknown = [name for name in per_class if name not in class_names]
    if unknown:
        known = f"its classes are {', '.join(class_names)}" if class_names else "it has no classes (train with --conditional)"
        raise RequestError(f"augment {value!r} names class(es) {', '.join(unknown)} that the data set lacks: {known}",
                           "name the classes as their folders are named, or give one mode for all")
    return default, per_class


def checked_augment(value: bool | str, class_names: tuple[str, ...] = ()) -> str:
    """`augment_mode(value)` once parse_augment accepts it and every class it names is in `class_names`."""
    _parse_for(value, class_names)
    return augment_mode(value)


def augment_codes(value: bool | str, class_names: tuple[str, ...] = ()) -> np.ndarray:
    """Each label's augment as an index into AUGMENTS (one entry when unconditional); checked as checked_augment does."""
    default, per_class = _parse_for(value, class_names)
    modes = [per_class.get(name, default) for name in class_names] or [default]
    return np.array([AUGMENTS.index(m) for m in modes], dtype=np.int64)


def symmetry_ops(rng: np.random.Generator, codes: np.ndarray) -> np.ndarray:
    """One of the 8 symmetries of the square per crop, given each crop's augment code.

    Quarter-turns op % 4, mirrored when op >= 4. The flips are ops 0, 2 (a half-turn: both), 4
    (left-right) and 6 (up-down): a "flips" crop takes (op % 4) * 2, still uniform over them.
    """
    if (codes == AUGMENTS.index("none")).all():
        return np.zeros(len(codes), dtype=np.int64)
    ops = rng.integers(0, 8, size=len(codes))
    ops = np.where(codes == AUGMENTS.index("flips"), (ops % 4) * 2, ops)
    return np.where(codes == AUGMENTS.index("none"), 0, ops)


def turn_normals(patch: np.ndarray, op: int, ix: int, iy: int) -> None:
    """Turn the normal vectors of a CHW patch in place after symmetry `op` (see ImageSet.batch:
    `op % 4` quarter-turns by np.rot90, then the columns mirrored when op >= 4).

    A normal map's (x, y) is a direction on the surface (x right, y up the image, OpenGL), so it
    turns with the picture: a counter-clockwise quarter-turn (np.rot90) takes (x, y) to (-y, x),
    and mirroring the columns takes x to -x. Left as they were, a turned crop's bumps would be
    lit from the wrong side.
    """
    x, y = patch[ix].copy(), patch[iy].copy()
    for _ in range(op % 4):
        x, y = -y, x
    if op >= 4:
        x = -x
    patch[ix], patch[iy] = x, y


def normal_turns() -> np.ndarray:
    """[8, 2, 2] float32: op -> the matrix taking a normal's (x, y) to its turned (x, y), as
    turn_normals does (for feeds that turn whole batches at once)."""
    out = np.zeros((8, 2, 2), dtype=np.float32)
    for op in range(8):
        basis = np.eye(2, dtype=np.float32).reshape(2, 2, 1)  # channel 0: x, 1: y; columns e_x, e_y
        turn_normals(basis, op, 0, 1)
        out[op] = basis[:, :, 0]
    return out


@dataclass
class ImageSet:
    """Training images with their labels and the facts a model card needs."""

    images: list[np.ndarray] = field(repr=False)  # each CHW float32 in [-1, 1], C = 1 or 3
    labels: np.ndarray = field(repr=False)  # int64 [len(images)]; 0 when unconditional
    class_names: tuple[str, ...]  # () when unconditional, else label i -> class_names[i]
    description: str  # for model cards, e.g. "CIFAR-100 fine class 33 'forest' (500 train images)"
    license: str  # licence of the data, "unknown (user data)" when not known
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) left out
    # Materials (trainer/data/material.py): each channel's name (texgen.materials.LAYOUT), and
    # for a few materials the maps derived rather than read, {map: H x W (x 3) in [0, 1]}.
    channel_names: tuple[str, ...] = ()
    derived_maps: list[tuple[str, dict[str, np.ndarray]]] = field(default_factory=list, repr=False)

    # Per-class image indices, concatenated in class order, and where each class starts in it;
    # built once so stratified picks in batch() are vectorised.
    _order: np.ndarray = field(init=False, repr=False)
    _starts: np.ndarray = field(init=False, repr=False)
    _counts: np.ndarray = field(init=False, repr=False)
    _heights: np.ndarray = field(init=False, repr=False)
    _widths: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.class_names = tuple(self.class_names)
        if len(self.labels) != len(self.images):
            raise ValueError(f"{len(self.labels)} labels for {len(self.images)} images")
        channels = {img.shape[0] for img in self.images}
        for img in self.images:
            if img.ndim != 3 or img.dtype != np.float32:
                raise ValueError(f"images must be CHW float32, got {img.dtype} {img.shape}")
        self.channel_names = tuple(self.channel_names)
        allowed = {len(self.channel_names)} if self.channel_names else {1, 3}
        if len(channels) > 1 or not channels <= allowed:
            raise ValueError(f"images must all have {' or all have '.join(map(str, sorted(allowed)))} channels, got {sorted(channels)}")
        n_classes = max(len(self.class_names), 1)
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= n_classes):
            raise ValueError(f"labels must lie in [0, {n_classes}), got {self.labels.min()}..{self.labels.max()}")
        self._order = np.argsort(self.labels, kind="stable")
        self._counts = np.bincount(self.labels, minlength=n_classes)
        if len(self.images) and not self._counts.all():
            empty = [self.class_names[i] for i in np.flatnonzero(self._counts == 0)]
            raise ValueError(f"classes without images cannot be sampled: {', '.join(empty)}")
        self._starts = np.concatenate([[0], np.cumsum(self._counts)[:-1]])
        self._heights = np.array([img.shape[1] for img in self.images], dtype=np.int64)
        self._widths = np.array([img.shape[2] for img in self.images], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def channels(self) -> int:
        """Channels of every image (1 grey / heightmap, 3 RGB, a material's stacked maps)."""
        return int(self.images[0].shape[0]) if self.images else len(self.channel_names)

    @property
    def normal_channels(self) -> tuple[int, int] | None:
        """Indices of a material's normal x and y channels, which turn with the crop; else None."""
        if "normal.x" not in self.channel_names:
            return None
        return self.channel_names.index("normal.x"), self.channel_names.index("normal.y")

    @property
    def min_side(self) -> int:
        """The largest square crop every image can give."""
        return int(min(self._heights.min(), self._widths.min())) if self.images else 0

    def batch(
        self, rng: np.random.Generator, n: int, crop: int, *, augment: bool | str = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """n random crops (NCHW float32 in [-1, 1], crop x crop) and their int64 labels.

        Every crop position is equally likely: an image is picked in proportion to the crops it
        holds, so a 344x403 elevation model is not outweighed by a 91x120 one beside it (picked
        per image, half the crops of the bundled terrain came from the small one). With several
        classes the class is picked uniformly first, then a crop of it, so a rare class is seen
        as often as a common one (a conditional generator is asked for every class equally
        often too). With `augment` (see AUGMENTS; True is "all"; "all,brick:flips" per class)
        each crop gets one of the 8 flips/quarter-turns of the square, or of its 4 flips, all
        equally likely: textures and terrain have no up or left, so this multiplies the data for
        free. All random numbers come from `rng` in a fixed order, so the same rng state gives
        the same batch (training resume depends on that).
        """
        if n < 1:
            raise ValueError(f"batch size must be at least 1, got {n}")
        if not self.images:
            raise RequestError("the data set is empty", "give a data set with at least one image")
        if crop < 1 or crop > self.min_side:
            raise RequestError(
                f"crop {crop} does not fit the smallest image ({self.min_side} px on its short side)",
                f"use a crop between 1 and {self.min_side}",
            )
        # 1. Which images: stratified by class when conditional, then by crop positions.
        n_classes = len(self._counts)
        classes = rng.integers(0, n_classes, size=n) if n_classes > 1 else np.zeros(n, dtype=np.int64)
        positions = (self._heights - crop + 1) * (self._widths - crop + 1)
        if (positions == positions[0]).all():  # images of one size: uniform, and fewer draws
            within = rng.integers(0, self._counts[classes]) if n_classes > 1 else rng.integers(0, len(self.images), size=n)
            picks = self._order[self._starts[classes] + within]
        else:  # the inverse CDF of positions, within each class's run of _order
            cum = np.cumsum(positions[self._order])
            before = np.concatenate([[0], cum])[self._starts[classes]]
            total = cum[self._starts[classes] + self._counts[classes] - 1] - before
            target = before + (rng.random(n) * total).astype(np.int64)
            picks = self._order[np.searchsorted(cum, target, side="right")]
        # 2. Where to crop each.
        ys = rng.integers(0, self._heights[picks] - crop + 1)
        xs = rng.integers(0, self._widths[picks] - crop + 1)
        # 3. Which of the 8 symmetries of the square, by each crop's class (see symmetry_ops).
        ops = symmetry_ops(rng, augment_codes(augment, self.class_names)[self.labels[picks]])
        # 4. Cut, turn, flip (and turn a material's normal vectors with it).
        out = np.empty((n, self.channels, crop, crop), dtype=np.float32)
        normals = self.normal_channels
        for i, (k, y, x, op) in enumerate(zip(picks, ys, xs, ops)):
            patch = self.images[k][:, y : y + crop, x : x + crop]
            patch = np.rot90(patch, k=int(op) % 4, axes=(1, 2))
            out[i] = patch[:, :, ::-1] if op >= 4 else patch
            if normals is not None and op:
                turn_normals(out[i], int(op), *normals)
        return out, self.labels[picks].copy()

    def stacked(self) -> np.ndarray | None:
        """All images as one NCHW float32 array when they share a size (GPU-resident data), else None."""
        if not self.images or len({img.shape for img in self.images}) != 1:
            return None
        return np.stack(self.images)
