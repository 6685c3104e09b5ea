"""Where models are: the bundled ones, the user's own, and a name or path given by the user.

One function, `assets_root`, decides where the bundled assets are, for each way texgen can be
run: a frozen desktop app (PyInstaller puts them under `sys._MEIPASS/assets`), a source checkout
or editable install (`assets/` beside the `texgen/` package), and an installed wheel (the wheel
carries them as data files under `<prefix>/share/texgen/assets`, or under the user base for
`pip install --user`). `TEXGEN_ASSETS` overrides all.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from texgen.errors import ModelError

# The models `texgen generate` uses when no model is named: a texture and a terrain.
DEFAULT_MODELS: tuple[str, ...] = ("stone-texture", "terrain")
MODEL_SUFFIX = ".onnx"


def assets_root(
    *,
    env: dict[str, str] | None = None,
    frozen: bool | None = None,
    meipass: str | None = None,
    package_dir: Path | None = None,
    prefix: str | None = None,
    userbase: str | None = None,
) -> Path | None:
    """The folder holding `models/` and `icons/`, or None when none is found.

    The keyword arguments default to this process's values; tests pass others to check each
    layout.
    """
    env = os.environ if env is None else env
    if env.get("TEXGEN_ASSETS"):
        return Path(env["TEXGEN_ASSETS"])
    frozen = getattr(sys, "frozen", False) if frozen is None else frozen
    meipass = getattr(sys, "_MEIPASS", None) if meipass is None else meipass
    if frozen and meipass:
        return Path(meipass) / "assets"
    package_dir = Path(__file__).resolve().parent if package_dir is None else package_dir
    checkout = package_dir.parent / "assets"
    if (checkout / "models").is_dir():
        return checkout
    if userbase is None:
        import site  # noqa: PLC0415

        userbase = site.getuserbase()
    # pip install (prefix), pip install --user (user base), and the prefix the package itself
    # sits in (pip install --prefix DIR; Debian's /usr/local beside /usr; Windows' Lib\):
    # <prefix>/lib/pythonX.Y/site-packages/texgen or <prefix>/Lib/site-packages/texgen; and
    # pip install --target DIR, which puts share/ beside the package.
    # The package's own first: an older copy elsewhere must not stand in for this one's.
    bases = [str(package_dir.parents[i]) for i in (3, 2, 0) if len(package_dir.parents) > i]
    bases += [sys.prefix if prefix is None else prefix, userbase]
    for base in bases:
        installed = Path(base) / "share" / "texgen" / "assets"
        if (installed / "models").is_dir():
            return installed
    return _recorded_assets() if prefix is None else None


def _recorded_assets() -> Path | None:
    """Where pip put the data files, as the installed distribution's RECORD says (any layout)."""
    from importlib import metadata  # noqa: PLC0415

    try:
        dist = metadata.distribution("texgen")
    except metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.suffix == MODEL_SUFFIX and entry.parts[-4:-1] == ("texgen", "assets", "models"):
            models = Path(str(dist.locate_file(entry))).resolve().parent
            if models.is_dir():
                return models.parent
    return None


def user_models_dir(env: dict[str, str] | None = None, platform: str | None = None) -> Path:
    """The folder for the user's own models (trained with the GUI or copied there)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if env.get("TEXGEN_USER_MODELS"):
        return Path(env["TEXGEN_USER_MODELS"])
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if platform.startswith("win"):
        base = Path(env["APPDATA"]) if env.get("APPDATA") else home / "AppData" / "Roaming"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else home / ".local" / "share"
    return base / "texgen" / "models"


@dataclass(frozen=True)
class ModelEntry:
    name: str  # the file stem: what `--model NAME` takes
    path: Path
    source: str  # "bundled" or "user"


def list_models() -> list[ModelEntry]:
    """Bundled models first, then the user's, each sorted by name."""
    out = []
    root = assets_root()
    for source, folder in (("bundled", root / "models" if root else None), ("user", user_models_dir())):
        if folder is not None and folder.is_dir():
            out += [ModelEntry(p.stem, p, source) for p in sorted(folder.glob("*" + MODEL_SUFFIX))]
    return out


def resolve_model(spec: str | os.PathLike) -> Path:
    """A model given as a path (anything with a separator or .onnx, or an existing file) or as
    a known name. A folder that happens to share an installed model's name (say an output
    folder called terrain) does not hide the model."""
    text = os.fspath(spec)
    if text.endswith(MODEL_SUFFIX) or os.sep in text or "/" in text or Path(text).is_file():
        return Path(text).expanduser()
    models = list_models()
    for entry in models:
        if entry.name == text:
            return entry.path
    if Path(text).exists():
        return Path(text)  # a folder: the loader says it is not a model file
    known = ", ".join(e.name for e in models) or "none installed"
    raise ModelError(
        f"no model named {text!r} (known: {known})",
        "pass a path to an .onnx file, or run `texgen models` to list the installed models",
    )


def default_models() -> list[Path]:
    """The bundled default models; a clear error if the installation lacks them."""
    found = {e.name: e.path for e in list_models() if e.source == "bundled"}
    missing = [n for n in DEFAULT_MODELS if n not in found]
    if missing:
        raise ModelError(
            f"the bundled default model{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"{'are' if len(missing) > 1 else 'is'} missing from this installation",
            "reinstall texgen, or name a model with --model PATH",
        )
    return [found[n] for n in DEFAULT_MODELS]
