"""What the window remembers between runs: last model, folders, preset, layout.

A thin typed layer over QSettings so the keys live in one place. The app uses the user's
settings (organisation "texgen"); tests and screenshots pass their own QSettings on a temporary
INI file so they never read or change the user's.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "texgen"
APPLICATION = "texgen"


def user_settings() -> QSettings:
    return QSettings(ORGANIZATION, APPLICATION)


def file_settings(path: str | Path) -> QSettings:
    """Settings kept in one INI file (tests, screenshots, `texgen gui --settings FILE`)."""
    return QSettings(str(path), QSettings.Format.IniFormat)


class Settings:
    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else user_settings()

    # Typed accessors. QSettings returns strings from INI files, so convert on the way out.
    def text(self, key: str, default: str = "") -> str:
        value = self.store.value(key, default)
        return default if value is None else str(value)

    def number(self, key: str, default: int) -> int:
        try:
            return int(self.store.value(key, default))
        except (TypeError, ValueError):
            return default

    def real(self, key: str, default: float) -> float:
        try:
            return float(self.store.value(key, default))
        except (TypeError, ValueError):
            return default

    def flag(self, key: str, default: bool) -> bool:
        value = self.store.value(key, default)
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        return bool(value)

    def blob(self, key: str) -> QByteArray | None:
        value = self.store.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set(self, key: str, value) -> None:
        self.store.setValue(key, value)

    def sync(self) -> None:
        self.store.sync()

    # Folders: the last one used for a purpose, or a sensible start.
    def folder(self, purpose: str) -> str:
        path = self.text(f"folders/{purpose}")
        return path if path and Path(path).is_dir() else str(Path.home())

    def set_folder(self, purpose: str, path: str | Path) -> None:
        self.set(f"folders/{purpose}", str(path))
