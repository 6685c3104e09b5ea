"""Whole files or none: every file texgen and the trainer write goes through `atomic_path`.

The bytes land in a temporary file beside the target and replace it only once complete
(`os.replace`, atomic on one file system), so a crash, a full disk or a cancelled batch never
leaves a truncated PNG, RAW, checkpoint or model that a reader would take for a whole one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

from texgen.errors import ExportError

# The longest file name (in bytes) that NTFS, ext4, APFS and their kin all take.
MAX_NAME_BYTES = 255

_NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG)
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def _os_error(exc: OSError, target: Path) -> ExportError | None:
    """The user-facing error for an OSError while writing `target`; None if not one of ours."""
    if exc.errno in _NO_SPACE:
        return ExportError(
            f"cannot write {target}: the disk is full (or the file system refuses a file this large)",
            "free disk space or choose another folder",
        )
    if exc.errno in _NOT_WRITABLE:
        return ExportError(
            f"cannot write {target}: permission denied (a read-only folder, or the file is open in another program)",
            "choose a writable folder, or close the file",
        )
    if exc.errno == errno.ENOENT:
        return ExportError(f"cannot write {target}: its folder does not exist", "create the folder or choose another")
    if exc.errno == errno.ENAMETOOLONG:
        return ExportError(
            f"cannot write {target}: the file name or path is too long for this file system",
            "use a shorter file name template or a folder nearer the drive's root",
        )
    if exc.errno in (errno.EISDIR, errno.ENOTDIR):
        return ExportError(f"cannot write {target}: a folder is in the way", "choose another file name or folder")
    return None


@contextlib.contextmanager
def atomic_path(final: Path, *, keep_suffix: bool = False, export_errors: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success move it onto `final`.

    The temporary name starts with '.' and ends with '.tmp' (hidden, and ignored by engine
    asset importers); with `keep_suffix` it ends with `final`'s suffix after that
    ('.x.PID-xxxxxxxx.tmp.png'), for writers that read the format from the name (Pillow,
    matplotlib). On success it is renamed with os.replace (atomic on one file system,
    and it overwrites an existing file): a process killed at any point leaves either the old
    file or the whole new one. There is no fsync per file: a batch writes thousands, and an
    fsync each would double the export time (1,000 textures: 7 s instead of 4); after a power
    cut the operating system's own flush decides what reached the disk. On any exception it is removed, the
    existing `final` is untouched, and the exception propagates; a full disk or a read-only
    folder becomes an ExportError that names the path and the fix (with `export_errors=False`,
    an OSError that names `final`, never the temporary file: the trainer's own one line adds
    how to resume).
    """
    final = Path(final)
    # The writer's pid in the name lets a later run remove what a killed one left (sweep_temp).
    # The final name is cut short in it, so a name near the file system's limit of 255 bytes
    # still has a temporary name that fits.
    tail = f".{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp" + (final.suffix if keep_suffix else "")
    room = MAX_NAME_BYTES - 1 - len(tail.encode("utf-8"))
    stem = final.name.encode("utf-8")[:room].decode("utf-8", "ignore")
    tmp = final.parent / f".{stem}{tail}"
    try:
        with naming(final, temporary=tmp):
            yield tmp
            os.replace(tmp, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and export_errors:
            mapped = _os_error(exc, final)
            if mapped is not None:
                raise mapped from exc
        raise


@contextlib.contextmanager
def naming(path: Path, temporary: Path | None = None) -> Iterator[None]:
    """A failed write (disk full, file too large) raises an OSError that names no file, and a
    failed open or rename (the folder gone) one that names the `temporary` file the user never
    asked for: make it name `path`, so the one-line error says which file could not be written."""
    try:
        yield
    except OSError as exc:
        named = exc.filename is not None and (temporary is None or str(exc.filename) != str(temporary))
        if exc.errno is None or named:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


def write_atomic(path: Path, data: bytes, *, export_errors: bool = True) -> Path:
    """`data` as the whole of `path`, or nothing (see atomic_path); returns `path`."""
    path = Path(path)
    with atomic_path(path, export_errors=export_errors) as tmp:
        tmp.write_bytes(data)
    return path


_TEMP = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.tmp(\.[^.]+)?$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or cannot tell: leave its files alone
    return True


def sweep_temp(folder: Path) -> list[Path]:
    """Remove temporary files that a killed texgen process left in `folder`.

    A process killed between writing and renaming leaves its `.name.PID-xxxxxxxx.tmp`; a file
    whose writer is still running (another batch into the same folder) is left alone.
    """
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            m = _TEMP.match(entry.name)
            if m and not _alive(int(m.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def check_writable(folder: Path) -> None:
    """Create `folder` if needed and prove it takes files, before a batch starts writing."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".texgen-check-", suffix=".tmp"):
            pass
    except FileExistsError:
        raise ExportError(f"{folder} exists and is not a folder", "choose a folder for the output") from None
    except OSError as exc:
        raise ExportError(
            f"cannot write into {folder} ({exc.strerror or exc})",
            "choose a writable folder with free space",
        ) from exc
