"""The lit preview: the material on a tiled plane and on a sphere, under a light the user moves.

Rendered in software by `texgen.lighting` (numpy: no GPU and no OpenGL, so it works offscreen,
in CI and over remote desktops). A render runs on a worker (`Latest`: while one runs only the
newest request waits). Its first step, a ray per pixel and the maps sampled there, does not
depend on the light, so it is kept: moving the light (dragging on the picture, or the sliders)
only shades again.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton, QVBoxLayout, QWidget

from texgen import lighting
from texgen.gui import imaging
from texgen.gui.workers import Latest
from texgen.lighting import Light

MAX_SIDE = 560  # render height at most: detail against time (about 0.25 s a render on one core)
PLANE_SHARE = 0.56  # of the picture's width, the rest the sphere
TILTS = {"angled": 50.0, "above": 0.0}  # the plane seen at an angle, or from above
TOOLTIP = (
    "The material lit on a plane of 2×2 copies and on a sphere.\n"
    "Drag on the picture, or use the sliders, to move the light.\n"
    "A software preview (numpy, no GPU or OpenGL), so it works everywhere; "
    "an engine's lighting will differ in its details."
)


@dataclasses.dataclass(frozen=True)
class Scene:
    """What a render shows: the image, its maps' names, and the view's geometry."""

    key: object  # the image's identity (a variation's key), to keep its surfaces
    width: int
    height: int
    tilt: float
    strength: float  # bumpiness of a normal map derived from height


def layout(width: int, height: int) -> tuple[tuple[int, int, int, int], tuple[int, int, int]]:
    """The plane's (x, y, width, height) and the sphere's (x, y, side) in a picture of that size."""
    plane_w = int(width * PLANE_SHARE)
    side = min(width - plane_w, height)
    return (0, 0, plane_w, height), (plane_w + (width - plane_w - side) // 2, (height - side) // 2, side)


def render_scene(img: np.ndarray, names: tuple[str, ...], wrap: bool, scene: Scene, light: Light, surfaces=None):
    """(surfaces, picture as an H x W x 3 uint8 array): the plane and the sphere side by side."""
    plane_box, (sx, sy, side) = layout(scene.width, scene.height)
    if surfaces is None:
        material = imaging.lit_material(img, names, wrap)
        levels = lighting.pyramid(lighting.material_stack(material, scene.strength, wrap))
        surfaces = (
            lighting.plane_surface(levels, (plane_box[3], plane_box[2]), repeats=2, tilt=scene.tilt),
            lighting.sphere_surface(levels, side, repeats=4),
        )
    canvas = np.empty((scene.height, scene.width, 3), np.uint8)
    canvas[:] = lighting.BACKGROUND
    plane, sphere = surfaces
    x, y, w, h = plane_box
    canvas[y : y + h, x : x + w] = lighting.display(lighting.shade(plane, light), plane.coverage, light.exposure)
    canvas[sy : sy + side, sx : sx + side] = lighting.display(
        lighting.shade(sphere, light), sphere.coverage, light.exposure
    )
    return surfaces, canvas


class LitView(QWidget):
    light_changed = Signal(object)  # Light

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip(TOOLTIP)
        self.light = Light()
        self.tilt = TILTS["angled"]
        self._source: tuple[np.ndarray, tuple[str, ...], bool, object, float] | None = None
        self._surfaces: tuple[Scene, object] | None = None
        self._image: QImage | None = None
        self._drag: QPointF | None = None
        self.renders_done = 0  # for tests: how many renders came back
        self.rendered: tuple[Scene, Light] | None = None  # what the picture shown was made of
        self.picture = _Picture(self)
        self._build()
        self._renders = Latest(self)
        self._renders.result.connect(self._on_rendered)
        self._renders.failed.connect(self._on_failed)
        self._resize_timer = QTimer(self, singleShot=True, interval=150, timeout=self.render)

    def _build(self) -> None:
        self.azimuth = QSlider(Qt.Orientation.Horizontal)
        self.azimuth.setRange(0, 359)
        self.azimuth.setToolTip("Light direction: degrees clockwise from the top of the picture")
        self.elevation = QSlider(Qt.Orientation.Horizontal)
        self.elevation.setRange(2, 90)
        self.elevation.setToolTip("Light height: degrees above the surface (90: straight above)")
        self._show_light()
        self.azimuth.valueChanged.connect(lambda v: self.set_light(azimuth=float(v)))
        self.elevation.valueChanged.connect(lambda v: self.set_light(elevation=float(v)))
        self.plane_group = QButtonGroup(self)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 0, 6, 0)
        bar.addWidget(QLabel("Light"))
        bar.addWidget(self.azimuth, 2)
        bar.addWidget(QLabel("height"))
        bar.addWidget(self.elevation, 1)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Plane"))
        for i, (name, text) in enumerate((("angled", "Angled"), ("above", "From above"))):
            b = QToolButton(text=text, checkable=True)
            b.setProperty("tilt", name)
            b.setToolTip(
                "The plane at an angle, in perspective" if name == "angled" else "The plane from straight above"
            )
            self.plane_group.addButton(b, i)
            bar.addWidget(b)
        self.plane_group.button(0).setChecked(True)
        self.plane_group.idClicked.connect(lambda i: self.set_tilt(TILTS[self.plane_group.button(i).property("tilt")]))
        layout_ = QVBoxLayout(self)
        layout_.setContentsMargins(0, 0, 0, 4)
        layout_.addWidget(self.picture, 1)
        layout_.addLayout(bar)

    # --- model to view -------------------------------------------------------------------
    def show_image(
        self, img: np.ndarray | None, names: tuple[str, ...] = (), wrap: bool = True, key=None, strength: float = 2.0
    ) -> None:
        """Light this image: a material (its channel `names`), or a texture's colour, whose
        maps are derived as the exporters derive them. None: nothing to show."""
        if img is None:
            self._source, self._surfaces, self._image = None, None, None
            self.picture.update()
            return
        source = (img, tuple(names), bool(wrap), key if key is not None else id(img), float(strength))
        if self._source is not None and self._source[3:] == source[3:] and self._source[0] is img:
            return  # the same picture: nothing changes
        self._source = source
        self.render()

    def image(self) -> QImage | None:
        return self._image

    def set_light(self, **changes) -> None:
        light = dataclasses.replace(self.light, **changes)
        light = dataclasses.replace(light, azimuth=light.azimuth % 360, elevation=min(90.0, max(2.0, light.elevation)))
        if light == self.light:
            return
        self.light = light
        self._show_light()
        self.light_changed.emit(light)
        self.render()

    def set_tilt(self, tilt: float) -> None:
        if tilt != self.tilt:
            self.tilt = tilt
            for b in self.plane_group.buttons():
                b.setChecked(TILTS[b.property("tilt")] == tilt)
            self.render()

    def _show_light(self) -> None:
        for slider, value in ((self.azimuth, self.light.azimuth), (self.elevation, self.light.elevation)):
            slider.blockSignals(True)
            slider.setValue(int(round(value)))
            slider.blockSignals(False)

    def scene(self) -> Scene | None:
        if self._source is None:
            return None
        scale = min(1.0, MAX_SIDE / max(self.picture.height(), 1))
        w = max(int(self.picture.width() * scale), 160)
        h = max(int(self.picture.height() * scale), 100)
        return Scene(self._source[3], w, h, self.tilt, self._source[4])

    def render(self) -> None:
        scene = self.scene()
        if scene is None:
            self.picture.update()
            return
        img, names, wrap = self._source[:3]
        light = self.light
        kept = self._surfaces[1] if self._surfaces is not None and self._surfaces[0] == scene else None
        self._renders.submit(
            lambda report, cancelled: (scene, light, *render_scene(img, names, wrap, scene, light, kept))
        )

    def _on_rendered(self, result) -> None:
        scene, light, surfaces, canvas = result
        current = self.scene()
        if current is None:
            return  # the image was taken away while it rendered
        self._surfaces = (scene, surfaces)
        self._image = imaging.to_qimage(canvas)
        self.rendered = (scene, light)
        self.renders_done += 1
        self.picture.message = ""
        self.picture.update()
        if current != scene:
            self.render()  # the view changed under the render (a resize, another image)

    def is_current(self) -> bool:
        """Whether the picture shown is of the image, size and light asked for now."""
        return self._source is not None and self.rendered == (self.scene(), self.light)

    def _on_failed(self, message: str) -> None:
        self._image = None
        self.picture.message = message
        self.picture.update()

    def resizeEvent(self, event) -> None:
        self._resize_timer.start()
        super().resizeEvent(event)

    # --- dragging the light ----------------------------------------------------------------
    def drag(self, start: QPointF | None, now: QPointF) -> None:
        """Move the light by a drag on the picture: sideways turns it, up and down raises it."""
        if start is None:
            return
        d = now - start
        self.set_light(azimuth=self.light.azimuth + d.x() * 0.6, elevation=self.light.elevation - d.y() * 0.3)


class _Picture(QWidget):
    """The rendered picture, scaled to fit; drags move the light."""

    def __init__(self, view: LitView) -> None:
        super().__init__(view)
        self.view = view
        self.message = ""
        self.setMinimumSize(240, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self._last: QPointF | None = None

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(*lighting.BACKGROUND))
        image = self.view.image()
        if image is None:
            p.setPen(QColor(170, 174, 182))
            text = self.message or ("Rendering…" if self.view._source is not None else "Generate to see it lit here")
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
            return
        if image.size() != self.size():
            image = image.scaled(
                self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        p.drawImage(QPointF((self.width() - image.width()) / 2, (self.height() - image.height()) / 2), image)
        p.setPen(QColor(150, 154, 162))
        light = self.view.light
        p.drawText(
            self.rect().adjusted(8, 0, -8, -6),
            Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft,
            f"light {light.azimuth:.0f}° · {light.elevation:.0f}° up · drag to move it · software preview",
        )
        p.end()

    def mousePressEvent(self, event) -> None:
        self._last = event.position()
        self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:
        if self._last is not None:
            self.view.drag(self._last, event.position())
            self._last = event.position()

    def mouseReleaseEvent(self, event) -> None:
        self._last = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)
