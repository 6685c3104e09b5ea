"""Pictures of the main views for the docs, rendered offscreen.

    python -m texgen.gui.screenshots docs/screenshots [--texture MODEL] [--heightmap MODEL]
        [--material MODEL | --material-photo PHOTO_OR_MAP_SET] [--training-run RUN_DIR] [--size 1024x700]

Models default to the bundled defaults (stone-texture and terrain), as the app opens them. The
material pictures use --material, else a bundled material model, else --material-photo: the maps
of one real photograph or map set (read as the Train tab previews them) baked into a small ONNX
material model whose seeds pick crops of it (`photo_material`), named as such on its card.
The training panel is shown replaying a real run folder's `stats.jsonl` and latest sample
grid through the panel's own event handler (the events `texgen train --progress json`
sends), so the picture shows real curves without training while the picture is taken.
Writes main-texture.png, heightmap-hillshade.png, heightmap-relief.png, export-dialog.png,
material-maps.png, material-lit.png and training-panel.png; each is checked to be under 300 KB
(PNG, reduced palette if needed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import texgen.gui  # noqa: E402, F401  (the binding guard first)
from PySide6.QtCore import QThreadPool  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

import numpy as np  # noqa: E402

from texgen.assets import DEFAULT_MODELS, list_models  # noqa: E402
from texgen.erosion import DRAINAGE  # noqa: E402
from texgen.gui import imaging, workers  # noqa: E402
from texgen.gui.app import style_app  # noqa: E402
from texgen.gui.settings import Settings, file_settings  # noqa: E402

MAX_BYTES = 300_000
SIZE = (1440, 900)


def _pump(app: QApplication, until=lambda: True, timeout: float = 120.0, settle: float = 0.3) -> None:
    """Run the event loop until `until()` and no worker runs, then a little longer."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end and not (until() and workers.running() == 0):
        app.processEvents()
        time.sleep(0.005)
    stop = time.perf_counter() + settle
    while time.perf_counter() < stop:
        app.processEvents()
        time.sleep(0.005)


def save(widget: QWidget, path: Path) -> Path:
    """Grab a widget to a PNG under MAX_BYTES (a palette of fewer colours when it is larger)."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    image.save(str(path), "PNG", 9)
    colours = 256
    while path.stat().st_size > MAX_BYTES and colours >= 32:
        from PIL import Image  # noqa: PLC0415

        with Image.open(path) as im:
            # Octree keeps small saturated marks (stars, badges) that median cut merges into
            # the greys of a texture.
            im.convert("RGB").quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
                path, optimize=True
            )
        colours //= 2
    print(f"{path} {path.stat().st_size // 1024} KB")
    return path


def bundled(kind: str) -> Path | None:
    """The bundled model of this kind that the app opens by default (else the first one)."""
    from texgen.model import load_generator  # noqa: PLC0415

    entries = [e for e in list_models() if e.source == "bundled"]
    for entry in sorted(entries, key=lambda e: e.name not in DEFAULT_MODELS):
        try:
            if load_generator(entry.path, device="cpu").info.kind == kind:
                return entry.path
        except Exception:  # noqa: BLE001
            continue
    return None


def install(model: Path, folder: Path) -> Path:
    import shutil  # noqa: PLC0415

    from texgen.model import load_generator  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{load_generator(model, device='cpu').info.name}.onnx"
    shutil.copyfile(model, target)
    return target


CROP = 256  # px: the photo material's output size
CROPS = 6  # crops of the photo, one per seed modulo this


def photo_material(source: Path, out: Path) -> Path:
    """A material model (ONNX, kind material) that makes crops of one photograph's maps: the
    maps of `source` (a photo, or a map-set folder) read as the Train tab reads them, CROPS crops
    of CROP px stacked as constants, and the seed's latent picking one (ArgMax of its first
    CROPS values). Not a trained model, and its card says so; it shows real maps in the app."""
    import onnx  # noqa: PLC0415
    from onnx import TensorProto, helper, numpy_helper  # noqa: PLC0415

    from texgen import materials  # noqa: PLC0415
    from texgen.gui.material_preview import preview_material  # noqa: PLC0415
    from texgen.metadata import GeneratorInfo, write_metadata  # noqa: PLC0415

    p = preview_material(source, side=2 * CROP)
    m = p.material
    if m.normal is None:  # as the trainer derives a photo's: from its height, unwrapped
        m.normal = m.normals(2.0, False)
    maps = ("albedo", "normal", "height", "roughness", "ao") + (("metallic",) if m.metallic is not None else ())
    names, spaces = materials.layout_of(maps)
    stack = materials.stack(m, names)  # H x W x C in [0, 1]
    h, w = stack.shape[:2]
    if min(h, w) < CROP:
        raise SystemExit(f"{source}: {w}x{h} px is smaller than the {CROP} px crops")
    corners = [(round(y * (h - CROP)), round(x * (w - CROP))) for y, x in
               ((0, 0), (0, 1), (1, 0), (1, 1), (0.5, 0.5), (0.25, 0.75))][:CROPS]  # fmt: skip
    crops = np.stack([stack[y : y + CROP, x : x + CROP].transpose(2, 0, 1) for y, x in corners]) * 2 - 1
    z = 8
    graph = helper.make_graph(
        [
            helper.make_node("Slice", ["z", "start", "end", "axis"], ["first"]),
            helper.make_node("ArgMax", ["first"], ["pick"], axis=1, keepdims=0),
            helper.make_node("Gather", ["crops", "pick"], ["image"], axis=0),
        ],
        "photo_material",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["n", z])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", len(names), CROP, CROP])],
        [
            numpy_helper.from_array(crops.astype(np.float32), "crops"),
            numpy_helper.from_array(np.array([0], np.int64), "start"),
            numpy_helper.from_array(np.array([CROPS], np.int64), "end"),
            numpy_helper.from_array(np.array([1], np.int64), "axis"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    name = f"{Path(source).stem.replace('_', '-')}-photo"
    info = GeneratorInfo(
        name=name,
        kind="material",
        channels=len(names),
        latent_size=z,
        native_height=CROP,
        native_width=CROP,
        description=f"Crops of the maps of one photograph ({p.name}; maps read: {', '.join(p.read)}; derived: "
        f"{', '.join(p.derived) or 'none'}), picked by the seed: a stand-in for a trained material model",
        dataset=str(source),
        data_license="CC0 1.0 or public domain (see the data folder's LICENSE.txt)",
        channel_names=names,
        channel_spaces=spaces,
    )
    write_metadata(model, info)
    target = out if out.suffix == ".onnx" else out / f"{name}.onnx"
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, target)
    return target


def replay_run(panel, run_dir: Path) -> None:
    """Feed a finished run's stats and its last sample grid to the panel, as live events."""
    config = json.loads((run_dir / "config.json").read_text())
    total = config.get("steps")
    panel.form.from_folder.setChecked(True)
    panel.form.folder.setText(str(config.get("data", "")))
    panel.form.runs_folder.setText(str(run_dir.parent))
    panel.form.kind.setCurrentIndex(max(0, panel.form.kind.findData(config.get("kind", "texture"))))
    panel.form.name.setText(config.get("name", ""))
    panel.form.recipe.setCurrentIndex(max(0, panel.form.recipe.findData(config.get("preset"))))
    if config.get("minutes"):
        panel.form.minutes_box.setValue(config["minutes"])
    if config.get("steps"):
        panel.form.steps_box.setValue(config["steps"])
    panel.form.start_button.setEnabled(False)
    panel.form.stop_button.setEnabled(True)
    panel._on_event(
        {
            "event": "start",
            "run_dir": str(run_dir),
            "total_steps": total,
            "minutes": config.get("minutes"),
            "config": config,
        }
    )
    lines = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines() if line.strip()]
    shown = lines[: max(2, int(len(lines) * 0.8))]  # as if the run were still going
    for rec in shown:
        if "losses" in rec:
            elapsed = rec.get("elapsed_s", 0.0)
            etas = [elapsed / rec["step"] * (total - rec["step"])] if total else []
            if config.get("minutes"):
                etas.append(config["minutes"] * 60 - elapsed)
            eta = max(0.0, min(etas)) if etas else None
            panel._on_event(
                {
                    "event": "step",
                    "step": rec["step"],
                    "total_steps": total,
                    "elapsed_s": elapsed,
                    "eta_s": eta,
                    "images_per_s": rec.get("images_per_s"),
                    "losses": rec["losses"],
                }
            )
        if "metrics" in rec:
            panel._on_event({"event": "eval", "step": rec["step"], "metrics": rec["metrics"]})
    grids = sorted((run_dir / "samples").glob("*.png"))
    if grids:
        panel._on_event({"event": "sample", "step": shown[-1]["step"], "path": str(grids[-1])})
    panel.log_view.setPlainText(
        f"$ texgen train --recipe {config.get('preset')} --data {config.get('data')} --progress json\nrun folder: {run_dir}"
    )


def material_pictures(app: QApplication, w, model: Path, out: Path) -> None:
    """material-maps.png (the map views, the Normal map 2 x 2) and material-lit.png."""
    w.controls.count.setValue(8)
    w.controls.seed.setValue(0)
    w.start(str(model))
    _pump(
        app,
        lambda: w.state.generator is not None and w.state.generator.info.kind == "material" and not w.state.generating,
    )
    w.controls.set_size(256 if w.state.generator.info.spatial else 0)  # a stand-in: its own size
    w.controls.go.click()
    _pump(app, lambda: not w.state.generating)
    w.gallery.setCurrentRow(0)
    w.set_tiles(2)
    w.set_view_mode(imaging.NORMAL)
    _pump(app, lambda: w.preview.pixmap() is not None, settle=0.5)
    save(w, out / "material-maps.png")
    w.set_view_mode(imaging.LIT)
    w.lit.set_light(azimuth=300.0, elevation=28.0)
    _pump(app, w.lit.is_current, settle=0.8)
    _pump(app, w.lit.is_current, settle=0.3)  # a resize's render, when the view settled late
    save(w, out / "material-lit.png")
    w.set_view_mode(imaging.ALBEDO)


def window_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1024x700") from None
    return width, height


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Render the GUI's main views to PNG files.")
    p.add_argument("out", type=Path)
    p.add_argument("--texture", type=Path, help="a texture model (default: the bundled one)")
    p.add_argument("--heightmap", type=Path, help="a heightmap model (default: the bundled one)")
    p.add_argument("--material", type=Path, help="a material model (default: the bundled one, else --material-photo)")
    p.add_argument(
        "--material-photo",
        type=Path,
        help="a colour photo or a material map-set folder, baked into a stand-in material model when there is none",
    )
    p.add_argument("--training-run", type=Path, help="a finished run folder to show in the training panel")
    p.add_argument(
        "--size", type=window_size, default=SIZE, help="the main window's size, WIDTHxHEIGHT (default 1440x900)"
    )
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    style_app(app)
    from texgen.gui.window import MainWindow  # noqa: PLC0415

    texture = args.texture or bundled("texture")
    heightmap = args.heightmap or bundled("heightmap")
    with tempfile.TemporaryDirectory() as tmp:
        # Models given by path are put in a fresh user model folder under their own names,
        # so the library lists them as an artist's own models would be.
        os.environ["TEXGEN_USER_MODELS"] = str(Path(tmp) / "models")
        texture = install(args.texture, Path(tmp) / "models") if args.texture else texture
        heightmap = install(args.heightmap, Path(tmp) / "models") if args.heightmap else heightmap
        material = install(args.material, Path(tmp) / "models") if args.material else bundled("material")
        if material is None and args.material_photo is not None:
            material = photo_material(args.material_photo, Path(tmp) / "models")
        settings = Settings(file_settings(Path(tmp) / "settings.ini"))
        settings.set("export/folder", str(Path.home() / "textures"))
        w = MainWindow(settings, device="cpu")
        w.resize(*args.size)
        w.show()
        if texture is not None:
            w.controls.count.setValue(12)
            w.controls.seed.setValue(100)
            w.start(str(texture))
            _pump(app, lambda: w.state.generator is not None and not w.state.generating)
            # 256 px shown 2x2 near 1:1: the stones are visible and so would be any seam.
            w.controls.set_size(256)
            w.controls.go.click()
            _pump(app, lambda: not w.state.generating)
            g = w.gallery
            g.setCurrentRow(2)
            w.gallery.toggle_favourite(g.variations()[2])
            w.gallery.toggle_favourite(g.variations()[5])
            g.pick("A", g.variations()[2])
            g.pick("B", g.variations()[5])
            w.set_tiles(2)
            _pump(app)
            save(w, args.out / "main-texture.png")
        if heightmap is not None:
            w.controls.count.setValue(8)
            w.controls.seed.setValue(7)
            w.start(str(heightmap))
            _pump(
                app,
                lambda: (
                    w.state.generator is not None
                    and w.state.generator.info.kind == "heightmap"
                    and not w.state.generating
                ),
            )
            # The erosion the terrain card advises, in the preview (the export dialog starts with it).
            w.controls.erosion.setCurrentIndex(w.controls.erosion.findData(DRAINAGE))
            w.controls.go.click()
            _pump(app, lambda: not w.state.generating)
            w.set_tiles(1)
            w.set_view_mode(imaging.HILLSHADE)
            _pump(app)
            save(w, args.out / "heightmap-hillshade.png")
            w.set_view_mode(imaging.RELIEF)
            _pump(app, lambda: w.relief.image() is not None, settle=0.8)
            save(w, args.out / "heightmap-relief.png")
            d = w.open_export()
            d.preset.setCurrentIndex(d.preset.findData("unity-terrain"))
            d.use_batch.setChecked(True)
            d.batch_count.setValue(100)
            d.resize(680, d.sizeHint().height())
            _pump(app)
            save(d, args.out / "export-dialog.png")
            d.close()
        if material is not None:
            material_pictures(app, w, material, args.out)
        else:
            print("no material model: give --material MODEL or --material-photo PHOTO for the material pictures")
        if args.training_run is not None:
            w.tabs.setCurrentIndex(1)
            _pump(app, lambda: w.training.form.recipe.count() > 1, timeout=60)  # recipes listed
            replay_run(w.training, args.training_run)
            _pump(app, settle=0.5)
            save(w, args.out / "training-panel.png")
        w.close()
        QThreadPool.globalInstance().waitForDone()
    return 0


if __name__ == "__main__":
    sys.exit(main())
