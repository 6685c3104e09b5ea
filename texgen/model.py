"""Loading a generator file: read it, open it on a device, check it against the contract.

`load_generator` is the only way the runtime opens a model. It refuses, with a message that
says what is wrong, anything that is not a generator: a missing or truncated file, a file that
is not ONNX, an ONNX graph of another shape, texgen metadata that disagrees with the graph.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from texgen import tiling
from texgen.devices import OrtSession, Providers, create_session
from texgen.errors import ModelError
from texgen.tiling import PROBE_CORE, TILES, Tiling, TilePolicy, probe_tiling, run_tiled
from texgen.metadata import (
    IMAGE_OUTPUT,
    LABEL_INPUT,
    LATENT_INPUT,
    GeneratorInfo,
    TensorSpec,
    check_io,
    guess_info,
    info_from_props,
)

# Refuse absurd files early instead of letting onnxruntime allocate for them.
MAX_MODEL_BYTES = 2 * 1024**3
# On the CPU, images this large or larger run one per call (Generator.run).
SINGLE_PIXELS = 512 * 512


@dataclass
class Generator:
    """An opened generator: its description, its session and the device it runs on."""

    path: Path
    info: GeneratorInfo
    runtime: OrtSession
    guesses: list[str] = field(default_factory=list)  # non-empty for a plain ONNX file
    input_name: str = LATENT_INPUT
    output_name: str = IMAGE_OUTPUT
    fixed_batch: int | None = None  # a graph exported with a fixed batch size runs that many at a time
    tiles: TilePolicy = TILES  # when an image runs in tiles, and how big they are
    tiling: Tiling | None | bool = field(default=False, repr=False)  # False until probed (probe_tiling)

    @property
    def device(self) -> str:
        return self.runtime.device

    @property
    def provider(self) -> str:
        return self.runtime.provider

    def latent_shape(self, height: int, width: int) -> tuple[int, ...]:
        """Shape of one latent for an output of height x width (spatial) or native size."""
        info = self.info
        if not info.spatial:
            return (info.latent_size,)
        ppc = info.pixels_per_cell
        return (info.latent_size, -(-height // ppc), -(-width // ppc))

    def run(
        self,
        z: np.ndarray,
        labels: np.ndarray | None = None,
        should_cancel: Callable[[], bool] | None = None,
        on_tile: Callable[[int, int], None] | None = None,
    ) -> np.ndarray | None:
        """Run the graph on a batch of latents: NCHW float32, nominally in [-1, 1].

        An image never depends on its batch. onnxruntime's CPU kernels give a batch of one
        other last bits (about 1e-6, enough to move a rounded pixel) than a batch of several,
        so a seed made alone (a sidecar's regenerate command) came out unlike the same seed
        made in a batch. On the CPU, images of SINGLE_PIXELS or more therefore always run one
        per call (batching buys nothing there: stone-texture, 2 cores, 4 images of 1024 px 5.7 s
        batched against 4.8 s one by one), and smaller ones always in batches of two or more
        (a lone one padded to a pair: 1,000 images of 64 px ran 20 % slower one by one). A graph
        with a fixed batch size gets pieces of that size. The last piece is padded with zeros.

        A spatial image of more than `self.tiles.pixels` runs in tiles (texgen.tiling): each
        output pixel sees only nearby latents, so the tiles' pixels are the whole run's, to about
        1e-6 (onnxruntime's kernels round differently at other grid sizes; on a GPU with TF32,
        more). `on_tile(done, tiles)` is told after each tile (an 8192 px image is
        64 tiles and minutes on a CPU: a caller can show it moving).
        """
        if self._tiled(z):  # asked between tiles whether to go on: None once `should_cancel` is true
            out = None
            for i in range(len(z)):
                image = self._run_tiled(
                    z[i : i + 1],
                    None if labels is None else labels[i : i + 1],
                    should_cancel=should_cancel,
                    on_tile=on_tile,
                )
                if image is None:
                    return None
                if out is None:
                    out = np.empty((len(z), *image.shape), image.dtype)
                out[i] = image
            return out
        return self._run_pieces(z, labels)

    def runs_in_tiles(self, height: int, width: int) -> bool:
        """Whether an image of height x width runs in tiles (callers then hand it latents one
        image at a time: the point of tiles is that a whole image never sits in memory twice)."""
        return self.info.spatial and self._grid_pixels(self.latent_shape(height, width)[1:]) > self.tiles.pixels

    def _run_pieces(self, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        b = self.fixed_batch
        if b is None and self.device == "cpu":
            if self._pixels(z) >= SINGLE_PIXELS:
                b = 1
            elif len(z) == 1:
                b = 2
        if b is None or len(z) == b:
            return self._run(z, labels)
        out = []
        for i in range(0, len(z), b):
            zi = z[i : i + b]
            li = labels[i : i + b] if labels is not None else None
            n = len(zi)
            if n < b:
                zi = np.concatenate([zi, np.zeros((b - n, *zi.shape[1:]), zi.dtype)])
                li = np.concatenate([li, np.zeros(b - n, li.dtype)]) if li is not None else None
            out.append(self._run(zi, li)[:n])
        return np.concatenate(out)

    # --- tiles ---------------------------------------------------------------------------
    def _tiled(self, z: np.ndarray) -> bool:
        """Whether latents `z` run in tiles (probing the generator's margin the first time)."""
        if not (self.info.spatial and z.ndim == 4 and self._grid_pixels(z.shape[2:]) > self.tiles.pixels):
            return False
        return self.probe_tiling() is not None

    def probe_tiling(self) -> Tiling | None:
        """How this generator runs in tiles (None: it cannot), probed once (texgen.tiling)."""
        if self.tiling is False:
            self.tiling = probe_tiling(self._run_pieces, self.info.latent_size, self.info.conditional,
                                       self.info.pixels_per_cell)  # fmt: skip
        return self.tiling

    def _run_tiled(
        self,
        z: np.ndarray,
        labels: np.ndarray | None,
        should_cancel: Callable[[], bool] | None = None,
        on_tile: Callable[[int, int], None] | None = None,
    ) -> np.ndarray | None:
        ppc = self.info.pixels_per_cell
        core = max(PROBE_CORE, self.tiles.side // ppc)
        return run_tiled(self._run_pieces, z, labels, self.tiling, ppc, core, should_cancel, on_tile)

    def _pixels(self, z: np.ndarray) -> int:
        """Output pixels of one image for latents `z`."""
        info = self.info
        if info.spatial and z.ndim == 4:
            return self._grid_pixels(z.shape[2:])
        return info.native_height * info.native_width

    def _grid_pixels(self, cells: tuple[int, int]) -> int:
        """Output pixels of a spatial latent grid of `cells` (rows, columns)."""
        return cells[0] * cells[1] * max(self.info.pixels_per_cell, 1) ** 2

    def _run(self, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        feeds = {self.input_name: np.ascontiguousarray(z, dtype=np.float32)}
        if self.info.conditional:
            if labels is None:
                raise ValueError("a conditional generator needs labels")
            feeds[LABEL_INPUT] = np.ascontiguousarray(labels, dtype=np.int64)
        (out,) = self.runtime.session.run([self.output_name], feeds)
        return out


def _specs(args) -> list[TensorSpec]:
    return [TensorSpec(a.name, a.type, tuple(a.shape)) for a in args]


def _read(path: Path) -> bytes | str:
    if not path.exists():
        raise ModelError(
            f"model file {path} does not exist", "check the path, or run `texgen models` to list the installed models"
        )
    if path.is_dir():
        raise ModelError(f"{path} is a folder, not a model file", "pass the .onnx file inside it")
    size = path.stat().st_size
    if size == 0:
        raise ModelError(f"model file {path} is empty", "re-export or re-download the model")
    if size > MAX_MODEL_BYTES:
        raise ModelError(
            f"model file {path} is {size / 1024**3:.1f} GiB, too large for a texture generator",
            "check that this is the right file",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}", "check the file's permissions") from None
    # Weights kept in separate files (ONNX external data) are named by a "location" entry, which
    # a model without them cannot hold but in a name: such a file is opened by its path, so that
    # onnxruntime reads the weights from the model's folder (from bytes it looked in the working
    # folder, and took a same-named file there, another model's, without a word). Any other
    # model is opened from its bytes, as onnxruntime's providers all accept.
    return str(path) if b"location" in data else data


def load_generator(
    path: str | Path,
    *,
    device: str = "auto",
    threads: int | None = None,
    tiles: TilePolicy | None = None,
    providers: Providers | None = None,
) -> Generator:
    """Open a generator file on `device` (auto | cpu | cuda | directml | coreml) with `providers`
    (default texgen.devices.RUNTIME); large images run in tiles as `tiles` says (default
    texgen.tiling.TILES)."""
    # 1. Read it (missing, empty, unreadable files are refused here).
    path = Path(path).expanduser()
    model = _read(path)

    # 2. Open an onnxruntime session; anything it cannot parse is not an ONNX model.
    try:
        runtime = create_session(model, device=device, threads=threads, providers=providers)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _refused(path, exc) from None
    session = runtime.session
    inputs, outputs = _specs(session.get_inputs()), _specs(session.get_outputs())

    # 3. Describe it: texgen metadata checked against the graph, or guesses for a plain ONNX.
    props = dict(session.get_modelmeta().custom_metadata_map)
    info = info_from_props(props)
    batch = inputs[0].shape[0] if inputs and inputs[0].shape else None
    fixed = batch if isinstance(batch, int) and batch > 0 else None
    if info is not None:
        check_io(info, inputs, outputs)
        return Generator(path, info, runtime, fixed_batch=fixed, tiles=tiles or tiling.TILES)
    guessed = guess_info(path.stem, inputs, outputs)
    if guessed is None:
        raise ModelError(
            f"{path} is an ONNX model but not a generator texgen can run: it has "
            f"{_describe(inputs)} and {_describe(outputs, 'output')}",
            "a generator needs one float latent input ([N, Z] or [N, Z, h, w]) and one float "
            "output [N, C, H, W] with C = 1 or 3; texgen-exported models also carry texgen.* metadata",
        )
    info, guesses = guessed
    if fixed is not None:
        guesses.append(f"batch: fixed at {fixed} in the graph (runs {fixed} image{'s' if fixed > 1 else ''} at a time)")
    gen = Generator(path, info, runtime, guesses, inputs[0].name, outputs[0].name, fixed, tiles or tiling.TILES)
    if info.spatial:
        gen.info = _measure_spatial(gen)
    return gen


def _refused(path: Path, exc: Exception) -> ModelError:
    """The error for a file onnxruntime would not open: not ONNX at all (truncated, corrupt,
    another format), or ONNX that this onnxruntime cannot run (a newer opset, a custom op)."""
    text = str(exc).strip()
    # onnxruntime's text: "[ONNXRuntimeError] : 1 : FAIL : Load model from X failed:" then,
    # at times, a C++ source location and signature before the sentence that matters.
    why = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", text)
    why = re.sub(r"^Load model from .*? failed:\s*", "", why, flags=re.S)
    why = re.sub(r"^\S*onnxruntime_src\S*\s.*?\)\s+(?=[A-Z])", "", why, flags=re.S)
    why = re.sub(r"^Fatal error:\s*", "", why)
    sentences = re.split(r"(?<=\.)\s+", " ".join(why.split())) if why else [type(exc).__name__]
    # "ONNX Runtime only *guarantees* support for ... Opset 99 is under development", "This is
    # an invalid model. ... No Op registered for Tanhh": the sentence that names the opset, the
    # IR version or the operator says more than the first.
    named = r"\bopset \d+|IR version|No Op registered|not a registered|Unsupported"
    why = next((x for x in sentences if re.search(named, x, re.I)), sentences[0])[:200].rstrip(".")  # inside brackets
    if (
        type(exc).__name__ == "InvalidProtobuf"
        or "INVALID_PROTOBUF" in text
        or "protobuf parsing failed" in text
        or "No graph was found" in text
    ):
        return ModelError(
            f"{path} is not a valid ONNX model (truncated, corrupt or another format: {why})",
            "re-export it with `texgen export`, or download it again",
        )
    files = _external_files(path)
    missing = [f for f in files if not (path.parent / f).is_file()]
    short = [f for f, end in files.items() if f not in missing and (path.parent / f).stat().st_size < end]
    if missing or short or (files and "external data" in text.replace(str(path), "").lower()):
        if missing:
            where = f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in {path.parent}"
        else:
            where = (
                f"{', '.join(short or files)} does not hold the weights the model names (truncated, or another model's)"
            )
        return ModelError(
            f"{path} keeps its weights in separate files (ONNX external data): {where}",
            "copy the weights file(s) into the model's folder under the names the model gives, "
            "or save the model as one file (onnx.save with save_as_external_data=False)",
        )
    if "INVALID_GRAPH" in text or "Type Error" in text:
        return ModelError(
            f"{path} is not a valid ONNX graph ({why})",
            "re-export it with `texgen export`, or fix the exporter that wrote it",
        )
    return ModelError(
        f"{path} is an ONNX model that onnxruntime {ort.__version__} cannot run ({why})",
        "update onnxruntime (pip install -U onnxruntime), or re-export the model with standard "
        "operators and an older opset (`texgen export` writes opset 17)",
    )


def _external_files(path: Path) -> dict[str, int]:
    """The weights files a model with external data names, each with the bytes its tensors
    reach into it (offset + length), read without loading them; {} for a model without."""
    try:
        import onnx  # noqa: PLC0415 (only for this message)

        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception:  # noqa: BLE001
        return {}
    ends: dict[str, int] = {}
    for tensor in graph.initializer:
        entry = {e.key: e.value for e in tensor.external_data}
        if "location" in entry:
            end = int(entry.get("offset", 0) or 0) + int(entry.get("length", 0) or 0)
            ends[entry["location"]] = max(ends.get(entry["location"], 0), end)
    return dict(sorted(ends.items()))


def _describe(specs: list[TensorSpec], what: str = "input") -> str:
    if not specs:
        return f"no {what}s"
    parts = [f"{s.name} {s.type} [{', '.join(str(d) if isinstance(d, int) else '?' for d in s.shape)}]" for s in specs]
    return f"{what}{'s' if len(specs) > 1 else ''} " + "; ".join(parts)


def _measure_spatial(gen: Generator) -> GeneratorInfo:
    """Find a plain spatial model's pixels per latent cell with one small trial run."""
    z = np.zeros((1, gen.info.latent_size, 4, 4), np.float32)
    try:
        out = gen.run(z)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(
            f"{gen.path} failed a trial run on a 4x4 latent grid ({str(exc)[:200]})",
            "check that the model takes a spatial latent [N, Z, h, w]",
        ) from None
    ppc = out.shape[2] // 4
    if ppc < 1 or out.shape[2] != 4 * ppc or out.shape[3] != 4 * ppc:
        raise ModelError(
            f"{gen.path}: a 4x4 latent grid gave a {out.shape[2]}x{out.shape[3]} image, not a whole number of pixels per cell",
            "use a model whose image size is a multiple of its latent grid",
        )
    gen.guesses.append(f"pixels per latent cell: {ppc} (measured)")
    return dataclasses.replace(gen.info, pixels_per_cell=ppc, native_height=4 * ppc, native_width=4 * ppc)
