"""What a light install lacks: `pip install texgen` gives the runtime, the CLI and the app;
training and exporting runs need the `train` extra (PyTorch, and matplotlib for the run's plot).

Imported by the trainer's command line and the app's Train tab alike, so it imports neither
torch, the trainer nor Qt, and looks the packages up without importing them.
"""

from __future__ import annotations

import importlib.util
from typing import Callable

from texgen.errors import TexgenError

INSTALL_TRAINER = 'pip install "texgen[train]" (or, from a checkout, pip install -e ".[train]")'
TRAIN_EXTRA = {"torch": "PyTorch", "matplotlib": "matplotlib"}  # module: the name users know
EXPORT_NEEDS = ("torch",)  # exporting a run draws no plot

FindSpec = Callable[[str], object]


def installed(module: str, find_spec: FindSpec = importlib.util.find_spec) -> bool:
    """Whether `module` can be imported, asked without importing it (torch takes seconds)."""
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed install
        return False


def missing_extra(what: str = "training", modules: tuple[str, ...] = tuple(TRAIN_EXTRA),
                  find_spec: FindSpec = importlib.util.find_spec) -> TexgenError | None:  # fmt: skip
    """The one-line error naming the `train` extra's packages that `what` ("training",
    "exporting a run") needs and that are not installed; None when all are."""
    absent = [TRAIN_EXTRA[m] for m in modules if not installed(m, find_spec)]
    if not absent:
        return None
    return missing_error(what, absent)


def missing_error(what: str, absent: list[str]) -> TexgenError:
    names = " and ".join(absent)
    verb = "is" if len(absent) == 1 else "are"
    return TexgenError(
        f"{what} needs {names}, which {verb} not installed",
        f"install {'it' if len(absent) == 1 else 'them'}: {INSTALL_TRAINER}",
    )


def extra_module_missing(exc: BaseException) -> str | None:
    """The users' name of the `train` extra's package whose absence raised `exc`, else None."""
    if not isinstance(exc, ModuleNotFoundError):
        return None
    return TRAIN_EXTRA.get((exc.name or "").split(".")[0])
