"""The app's state, without widgets: the loaded model, the variations, the selection.

Widgets call its methods and listen to its signals; it never touches a widget. Every slow
step (loading a model, sampling, rendering a derived view) runs on a pool worker through
`workers.run_in_pool`, and comes back as a signal on the GUI thread. This is what the
model-to-view tests drive.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from texgen.erosion import Erosion, erode, erodes
from texgen.model import Generator, load_generator
from texgen.sampling import Sample, interpolate, sample
from texgen.seamless import seam_scores
from texgen.gui import imaging
from texgen.gui.workers import Latest, Worker, run_in_pool

MAX_VARIATIONS = 64
_ids = itertools.count(1)


@dataclass
class Variation:
    """One image in the gallery (or the interpolation result): its pixels and its pictures."""

    sample: Sample
    image: QImage  # the image itself (colour or grey), full size
    thumb: QImage
    seam: float = 1.0  # seam_score of img: about 1.0 when it tiles with no visible seam
    # The 5th and 95th percentiles of the same score at img's interior lines (seam_scores):
    # a clean seam falls among them. None when no interior line is at the seam's phase.
    seam_lines: tuple[float, float] | None = None
    favourite: bool = False
    texture: bool = True  # a texture's small pictures are crops that keep its detail; a terrain's whole
    names: tuple[str, ...] = ()  # a material model's channel names; its pictures show the albedo
    key: int = field(default_factory=lambda: next(_ids))
    views: dict = field(default_factory=dict)  # ViewSettings -> QImage, filled on demand

    @property
    def seed(self) -> int | None:
        return self.sample.seed

    @property
    def img(self) -> np.ndarray:
        return self.sample.img

    @property
    def title(self) -> str:
        if self.sample.t is not None:
            return f"interpolated t={self.sample.t:.2f}"
        return f"seed {self.sample.seed}"


def make_variation(s: Sample, period: int = 1, texture: bool = True, names: tuple[str, ...] = ()) -> Variation:
    """Pictures and seam score of a sample, made on a worker (QImage work is allowed off the
    GUI thread; a 1024 px seam score alone would block the window for tens of ms). `period`:
    the model's pixels per latent cell (spatial models), so an exactly tiling output reads
    about 1.0 and not 0.8 to 1.3 (see `seam_score`), beside the spread of its interior lines'
    scores, which one image's seam score is judged against. `names`: a material model's
    channel names (its image and thumbnail are its albedo; the seam is scored over every map)."""
    image = imaging.to_qimage(imaging.display_image(s.img, names))
    seam, lines = seam_scores(s.img, period)
    spread = (float(np.percentile(lines, 5)), float(np.percentile(lines, 95))) if len(lines) else None
    thumb = imaging.thumbnail(image, detail=texture)
    return Variation(s, image, thumb, seam, seam_lines=spread, texture=texture, names=tuple(names))


def eroded(gen: Generator, s: Sample, erosion: Erosion | None, seed: int | None = None) -> Sample:
    """`s` with its heightmap eroded as `texgen generate --erosion` erodes it (with the image's
    seed, or `seed`: an interpolation's first), so the preview shows what the export writes;
    `s` itself when there is no erosion or the model does not make heightmaps."""
    if not erodes(erosion, gen.info.kind):
        return s
    seed = s.seed if seed is None else seed
    return dataclasses.replace(s, img=erode(s.img, erosion, wrap=s.tileable, seed=seed, device=gen.device))


def variation_of(gen: Generator, s: Sample) -> Variation:
    """`make_variation` with what the model says about its images: its cell period, whether
    they are textures (a material is one) and a material's channel names."""
    info = gen.info
    names = info.channel_names if info.kind == "material" else ()
    return make_variation(s, info.seam_period, info.kind != "heightmap", names)


@dataclass(frozen=True)
class GenerateSpec:
    """What the controls ask for; each field maps to the same argument of `sampling.sample`."""

    seeds: tuple[int, ...]
    size: tuple[int, int] | None = None  # (height, width); None = the model's native size
    label: int | None = None
    seamless: bool = True
    scale: float = 1.0  # texel scale (texgen generate --scale)
    erosion: Erosion | None = None  # heightmaps: texgen generate --erosion, after sampling


class AppState(QObject):
    model_loading = Signal(str)  # path
    model_loaded = Signal(object)  # Generator
    model_failed = Signal(str)  # one-line message: what is wrong and what to do
    generation_started = Signal(int)  # number of variations asked for
    variation_added = Signal(object)  # Variation
    generation_progress = Signal(int, int)  # done, total
    generation_finished = Signal(float)  # seconds
    generation_failed = Signal(str)
    cleared = Signal()
    favourites_changed = Signal()
    interpolated = Signal(object)  # Variation with sample.t set
    view_ready = Signal(object, object, object)  # Variation, ViewSettings, QImage
    message = Signal(str)  # for the status bar

    def __init__(self, device: str = "auto", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.generator: Generator | None = None
        self.variations: list[Variation] = []
        self.spec: GenerateSpec | None = None
        self._loading: Worker | None = None
        self._generation: Worker | None = None
        self._generation_id = 0
        self._load_id = 0
        self._interp = Latest(self)
        self._interp.result.connect(self._on_interpolated)
        self._interp.failed.connect(self.message.emit)
        self._views = Latest(self)
        self._views.result.connect(self._on_view)
        self._views.failed.connect(self.message.emit)

    # --- model -------------------------------------------------------------------------
    def load_model(self, path: str | Path) -> None:
        """Open a model on a worker; model_loaded or model_failed follows (for the newest
        request only: picking another model while one opens drops the first)."""
        path = str(path)
        self.model_loading.emit(path)
        device = self.device
        self._load_id += 1
        lid = self._load_id
        self._loading = run_in_pool(
            lambda report, cancelled: load_generator(path, device=device),
            on_result=lambda gen: self._on_loaded(gen, lid),
            on_failed=lambda msg: self._on_load_failed(msg, lid),
            owner=self,
            name="load",
        )

    def _on_loaded(self, gen: Generator, lid: int) -> None:
        if lid != self._load_id:
            return
        self._loading = None
        self.cancel_generation()
        self.generator = gen
        self.clear()
        self.model_loaded.emit(gen)

    def _on_load_failed(self, message: str, lid: int) -> None:
        if lid != self._load_id:
            return
        self._loading = None
        self.model_failed.emit(message)

    @property
    def busy_loading(self) -> bool:
        return self._loading is not None

    # --- variations ----------------------------------------------------------------------
    def clear(self) -> None:
        self.variations = []
        self.cleared.emit()

    @property
    def generating(self) -> bool:
        return self._generation is not None

    def generate(self, spec: GenerateSpec) -> None:
        """Replace the gallery with one variation per seed, streamed in as they finish."""
        gen = self.generator
        if gen is None:
            self.generation_failed.emit("no model is loaded. Pick one in the library, or open an .onnx file")
            return
        if not spec.seeds:
            self.generation_failed.emit("no variations asked for. Set Variations to 1 or more")
            return
        self.cancel_generation()
        self.clear()
        self.spec = spec
        self._generation_id += 1
        gid, total = self._generation_id, len(spec.seeds)
        started = time.perf_counter()

        def task(report, cancelled):
            # Small batches: the first thumbnails appear after 4 images, not after 16 (a
            # seed's image does not depend on its batch, so this changes nothing else).
            for s in sample(
                gen,
                list(spec.seeds),
                size=spec.size,
                label=spec.label,
                seamless=spec.seamless,
                batch_size=4,
                should_cancel=cancelled,
                scale=spec.scale,
            ):
                report(variation_of(gen, eroded(gen, s, spec.erosion)))
            return time.perf_counter() - started

        def added(v: Variation) -> None:
            if gid != self._generation_id:
                return  # a late result of a generation that was replaced
            self.variations.append(v)
            self.variation_added.emit(v)
            self.generation_progress.emit(len(self.variations), total)

        def done(seconds: float) -> None:
            if gid == self._generation_id:
                self._generation = None
                self.generation_finished.emit(seconds)

        def failed(msg: str) -> None:
            if gid == self._generation_id:
                self._generation = None
                self.generation_failed.emit(msg)

        def cancelled() -> None:
            if gid == self._generation_id:
                self._generation = None
                self.message.emit(f"generation cancelled after {len(self.variations)} of {total}")
                self.generation_finished.emit(time.perf_counter() - started)

        self.generation_started.emit(total)
        self._generation = run_in_pool(
            task,
            on_progress=added,
            on_result=done,
            on_failed=failed,
            on_cancelled=cancelled,
            owner=self,
            name="generate",
        )

    def cancel_generation(self) -> None:
        if self._generation is not None:
            self._generation.cancel()
            self._generation_id += 1  # what it still sends is ignored
            self._generation = None

    def set_favourite(self, v: Variation, on: bool) -> None:
        if v.favourite != on:
            v.favourite = on
            self.favourites_changed.emit()

    def favourites(self) -> list[Variation]:
        return [v for v in self.variations if v.favourite]

    # --- interpolation -------------------------------------------------------------------
    def interpolate(self, a: Variation, b: Variation, t: float) -> None:
        """The image at `t` on the latent path from a to b; only the newest request is kept."""
        gen, spec = self.generator, self.spec
        if gen is None or spec is None or a.seed is None or b.seed is None:
            return
        size = (a.img.shape[0], a.img.shape[1])
        label = a.sample.label

        def task(report, cancelled):
            (s,) = interpolate(gen, a.seed, b.seed, [t], size=size, label=label, seamless=spec.seamless,
                               scale=spec.scale)  # fmt: skip
            return variation_of(gen, eroded(gen, s, spec.erosion, seed=a.seed))

        self._interp.submit(task)

    def _on_interpolated(self, v: Variation) -> None:
        self.interpolated.emit(v)

    # --- derived views ------------------------------------------------------------------
    def request_view(self, v: Variation, view: imaging.ViewSettings) -> None:
        """The picture of `v` in `view` (hillshade, normal, a material's map ...); view_ready follows."""
        if view.mode in (imaging.COLOUR, imaging.GREY, imaging.RELIEF, imaging.LIT, imaging.ALBEDO):
            self.view_ready.emit(v, view, v.image)
            return
        if view in v.views:
            self.view_ready.emit(v, view, v.views[view])
            return
        wrap = bool(v.sample.tileable)
        self._views.submit(lambda report, cancelled: (v, view, imaging.render_view(v.img, view, wrap, v.names)))

    def _on_view(self, result) -> None:
        v, view, image = result
        v.views[view] = image
        self.view_ready.emit(v, view, image)
