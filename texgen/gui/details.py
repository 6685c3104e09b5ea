"""What the preview shows, in words: seed, size, class, tileability, a material's maps and their
colour spaces, and the command that makes the same file from a terminal
(`texgen generate ... --seeds SEED`)."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from texgen.commands import generate_command
from texgen.erosion import Erosion, erodes
from texgen.errors import RequestError
from texgen.model import Generator
from texgen.presets import get_preset
from texgen.service import DEFAULT_PRESETS, GenerateRequest
from texgen.gui import imaging
from texgen.gui.state import Variation


def regenerate_command(
    gen: Generator, v: Variation, seamless: bool, scale: float = 1.0, erosion: Erosion | None = None
) -> str | None:
    """The CLI command that writes this variation (None for an interpolated image)."""
    request = regenerate_request(gen, v, seamless, scale, erosion)
    return generate_command(request) if request is not None else None


def regenerate_request(
    gen: Generator, v: Variation, seamless: bool, scale: float = 1.0, erosion: Erosion | None = None
) -> GenerateRequest | None:
    """The request behind regenerate_command (its size says when a terrain's edge is shared);
    `erosion`: what the window eroded the heightmap with."""
    if v.seed is None:
        return None
    h, w = v.img.shape[:2]
    size, preset = (h, w), None
    default = get_preset(DEFAULT_PRESETS[gen.info.kind])
    try:
        default.check_size(h, w)
    except RequestError:
        try:  # a tileable 512 terrain is the tile of a 513 Unity terrain, which repeats its first row and column
            default.check_size(h + 1, w + 1)
            size = (h + 1, w + 1) if default.shared_edge and v.sample.tileable else size
        except RequestError:
            pass
        if size == (h, w):
            preset = "png"  # any size: this very image, as a 16-bit height PNG
    return GenerateRequest(
        model=str(gen.path),
        seeds=[v.seed],
        size=size,
        label=v.sample.class_name,
        seamless=seamless,
        preset=preset,
        out_dir="textures",
        scale=scale,
        erosion=erosion if erodes(erosion, gen.info.kind) else None,
    )


def tiles_text(v: Variation) -> str:
    """Whether the image tiles, and its seam score judged against its own interior lines: one
    pair of rows and of columns is a noisy sample, so a bare 1.15 says little; beside the spread
    of the same score at every interior line (the 5th to 95th percentile) it says whether the
    seam stands out from the texture."""
    text = f"{'yes' if v.sample.tileable else 'no'} (seam score {v.seam:.2f}"
    if v.seam_lines is None:
        return text + "; 1.0 = invisible)"
    lo, hi = v.seam_lines
    verdict = "above them: the seam may show" if v.seam > hi else "no seam stands out"
    return text + f"; interior lines {lo:.2f}–{hi:.2f}: {verdict})"


def maps_text(gen: Generator, v: Variation) -> str:
    """A material's maps and their colour spaces; says when its Normal view is derived from its
    height (a model that makes no normal map: the exporters derive it the same way)."""
    text = imaging.describe_maps(v.names, gen.info.channel_spaces)
    note = imaging.layout_note(v.names, v.img.shape[2] if v.img.ndim == 3 else 1)
    if note:
        return f"{text}: {note}"
    made = imaging.material_maps(v.names)
    if made and "normal" not in made:
        text += "; the normal view is derived from the height"
    return text


class VariationDetails(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel("Nothing selected")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy = QPushButton("Copy command")
        self.copy.setToolTip("Copy the texgen generate command that writes this variation")
        self.copy.setEnabled(False)
        self.copy.clicked.connect(self._copy)
        self.command: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text)
        layout.addWidget(self.copy, 0, Qt.AlignmentFlag.AlignLeft)

    def show_variation(
        self,
        gen: Generator | None,
        v: Variation | None,
        seamless: bool = True,
        scale: float = 1.0,
        erosion: Erosion | None = None,
    ) -> None:
        if gen is None or v is None:
            self.text.setText("Nothing selected")
            self.command = None
            self.copy.setEnabled(False)
            return
        h, w = v.img.shape[:2]
        rows = [("Image", v.title), ("Size", f"{w} × {h}")]
        if v.sample.class_name:
            rows.append(("Class", v.sample.class_name))
        rows.append(("Tiles", tiles_text(v)))
        if v.names:
            rows.append(("Maps", maps_text(gen, v)))
        if scale != 1.0:
            rows.append(
                ("Scale", f"× {scale:g} (features {'larger' if scale > 1 else 'smaller'} than the model draws)")
            )
        request = regenerate_request(gen, v, seamless, scale, erosion)
        if request is not None and request.erosion is not None:
            e = request.erosion
            amounts = [f"{n} {getattr(e, n):g}" for n in ("rivers", "rain", "thermal") if getattr(e, n)]
            rows.append(("Erosion", ", ".join(amounts)))
        self.command = generate_command(request) if request is not None else None
        if request is not None and request.size == (h + 1, w + 1):  # why the command asks one pixel more
            rows[1] = (
                "Size",
                f"{w} × {h} (the command's {w + 1} × {h + 1} is a Unity terrain of this tile, its "
                "first row and column repeated at the far edges)",
            )
        body = "".join(
            f"<tr><td style='color:#9aa0a8;padding-right:8px'>{k}</td><td>{html.escape(t)}</td></tr>" for k, t in rows
        )
        # Broken only between options, never inside one ("--seeds 102 --" / "size 256").
        shown = (
            " ".join(
                p.replace(" ", "&nbsp;")
                for p in re.findall(r"(?:^|(?<= ))\S+(?: (?!-)\S+)*", html.escape(self.command))
            )
            if self.command
            else ""
        )
        cmd = f"<div style='color:#9aa0a8;font-family:monospace;font-size:8pt'>{shown}</div>" if self.command else ""
        self.text.setText(f"<table>{body}</table>{cmd}")
        self.copy.setEnabled(self.command is not None)

    def _copy(self) -> None:
        if self.command:
            QGuiApplication.clipboard().setText(self.command)
