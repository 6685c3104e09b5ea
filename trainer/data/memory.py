"""Whether a folder of training images fits in memory, known before any pixel is decoded.

The trainer holds its whole data set in memory as float32 (CHW, after `scale`), so a folder of
full-size photos can ask for more than the machine has: 200 photos of 4096 x 4096 are 40 GB.
Decoding them one by one until the system kills the process (or swaps for an hour) is the
worst way to find out. Image headers give every size in milliseconds, so the total is worked
out first and refused, with a scale that fits, when it cannot be held.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from texgen.errors import RequestError

from .heightfield import raw_layout
from .imagefile import IMAGE_SUFFIXES, MAX_PIXELS, exif_orientation, pixel_limit

GIB = 1 << 30
# What the data may take of the memory that is free: the rest is for torch, the networks,
# the batches and everything else the machine runs.
SHARE_OF_FREE = 0.6


def available_memory() -> int | None:
    """Bytes of memory free for a new process to use (Linux: MemAvailable; macOS: physical
    memory; Windows: available physical memory), or None where it cannot be told."""
    try:
        if sys.platform.startswith("linux"):
            free = None
            with open("/proc/meminfo", encoding="ascii") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        free = int(line.split()[1]) * 1024
            room = _cgroup_room()  # a container's or a Slurm job's limit, which MemAvailable ignores
            return min(v for v in (free, room) if v is not None) if free is not None or room is not None else None
        if sys.platform == "win32":
            class Status(ctypes.Structure):
                _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong), ("total", ctypes.c_ulonglong),
                            ("avail", ctypes.c_ulonglong), ("page_total", ctypes.c_ulonglong),
                            ("page_avail", ctypes.c_ulonglong), ("virtual_total", ctypes.c_ulonglong),
                            ("virtual_avail", ctypes.c_ulonglong), ("extended", ctypes.c_ulonglong)]  # fmt: skip

            status = Status(length=ctypes.sizeof(Status))
            return int(status.avail) if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)) else None
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")  # macOS: it pages out the rest
    except (OSError, ValueError, AttributeError):
        return None


def _cgroup_room(root: Path = Path("/sys/fs/cgroup"), proc: Path = Path("/proc/self/cgroup")) -> int | None:
    """What this process's cgroups may still take, or None without a limit: the least, over
    its group and every group above it (Slurm sets a job's limit on the job, above the step and
    task the process runs in), of limit less use. cgroup v2 (memory.max, memory.current) or v1
    (the memory controller's limit_in_bytes, usage_in_bytes)."""
    try:
        lines = proc.read_text().strip().splitlines()
    except OSError:
        lines = []
    groups = {kinds: path for _, kinds, path in (line.split(":", 2) for line in lines if line.count(":") >= 2)}
    v1 = next((path for kinds, path in groups.items() if "memory" in kinds.split(",")), None)
    trees = [(root, groups.get("", "/"), "memory.max", "memory.current"),
             (root / "memory", v1 or "/", "memory.limit_in_bytes", "memory.usage_in_bytes")]  # fmt: skip
    rooms = []
    for base, own, limit_file, used_file in trees:
        folder = base / own.strip("/")
        while True:
            try:
                limit = (folder / limit_file).read_text().strip()
                used = int((folder / used_file).read_text().strip())
                if limit != "max" and int(limit) < 1 << 60:  # v1 writes "no limit" as a huge number
                    rooms.append(max(0, int(limit) - used))
            except (OSError, ValueError):
                pass
            if folder == base or base not in folder.parents:
                break
            folder = folder.parent
    return min(rooms) if rooms else None


def loaded_shape(path: Path, kind: str) -> tuple[int, int] | None:
    """(height, width) of a file's pixels as read, from its header alone; None when only
    decoding would tell (an .npz, an unreadable file: the loader reports those)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
            dims = [s for s in shape if s > 1]
            return (dims[0], dims[1]) if len(dims) == 2 else None
        if kind == "heightmap" and suffix in (".raw", ".r16"):  # as the loader reads it
            layout = raw_layout(path.stat().st_size, suffix)
            return (layout[0], layout[0]) if layout is not None else None
        if suffix in IMAGE_SUFFIXES:
            with pixel_limit(None), Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_PIXELS:  # the loader skips it (and says so): it takes no memory
                    return None
                turned = exif_orientation(im) in (5, 6, 7, 8)  # EXIF turns a quarter
            return (w, h) if turned else (h, w)
    except Exception:  # noqa: BLE001 (any unreadable header: the loader says why, file by file)
        return None
    return None


def data_bytes(files: Iterable[Path], kind: str, channels: int, scale: float) -> int:
    """Bytes the loaded data set takes: float32, `channels` planes (1 for heightmaps), each
    file's size times `scale` rounded as pixels.resize rounds it."""
    planes = 1 if kind == "heightmap" else channels
    total = 0
    for path in files:
        shape = loaded_shape(path, kind)
        if shape is not None:
            h, w = shape if scale == 1.0 else (max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale)))
            total += h * w * planes * 4
    return total


def fitting_scale(need: int, budget: int, scale: float) -> float:
    """The largest scale, in steps of 0.05 below `scale`, at which `need` bytes at `scale` fit
    in `budget` (memory goes with the square of the scale); at least 0.05."""
    fit = scale * math.sqrt(budget / need)
    return max(0.05, math.floor(fit * 20) / 20)


def check_fits(path: Path, files: list[Path], kind: str, channels: int, scale: float) -> None:
    """Refuse, with a scale that fits, a data set larger than SHARE_OF_FREE of free memory
    (shared by the processes torchrun starts on this machine: each holds its own copy)."""
    free = available_memory()
    if free is None or not files:
        return
    copies = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))
    need, budget = data_bytes(files, kind, channels, scale), int(SHARE_OF_FREE * free / copies)
    if need <= budget:
        return
    fit = fitting_scale(need, budget, scale)
    room = f"{_size(free)} {'of memory' if sys.platform == 'darwin' else 'free'}"
    each = f", once for each of the {copies} processes on this machine" if copies > 1 else ""
    raise RequestError(
        f"the {len(files)} {kind} files in {path} take {_size(need)} of memory as training data "
        f"(float32 at scale {scale:g}{each}), more than this machine can hold with {room}",
        f"downscale them with --set scale={fit:g} (about {_size(need * (fit / scale) ** 2)}), "
        "train on fewer files, or close other programs",
    )


def _size(n: float) -> str:
    return f"{n / GIB:.1f} GiB" if n >= GIB / 10 else f"{n / (1 << 20):.1f} MiB"
