"""The texgen generator contract: what a generator `.onnx` file holds and what it means.

This is the one module that knows the metadata keys. The trainer's exporter writes them with
`write_metadata`; the runtime reads them with `read_metadata` and checks the graph with
`check_io`. See docs/architecture.md, "The ONNX contract".

Graph:
  inputs   z      float32 [N, Z] (vector latent) or [N, Z, h, w] (spatial latent)
           label  int64   [N]                     (conditional models only)
  output   image  float32 [N, C, H, W] in [-1, 1], C = 1 (heightmap / grey) or 3 (RGB); a
                  material makes C maps' channels stacked, named in `channel_names`

Metadata: `metadata_props` entries `texgen.<field>` for every field of `GeneratorInfo`.
Strings are stored as they are; every other value as JSON.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

from texgen.errors import ModelError
from texgen.materials import layout_problems

SCHEMA_VERSION = 2  # 2: global_channels (a model without them is still written as 1)
PREFIX = "texgen."
LATENT_INPUT = "z"
LABEL_INPUT = "label"
IMAGE_OUTPUT = "image"

Kind = Literal["texture", "heightmap", "material"]
LatentKind = Literal["vector", "spatial"]
KINDS: tuple[str, ...] = ("texture", "heightmap", "material")
LATENT_KINDS: tuple[str, ...] = ("vector", "spatial")


@dataclass(frozen=True)
class GeneratorInfo:
    """What a generator makes and where it came from. Stored in the ONNX file."""

    name: str
    kind: Kind = "texture"
    channels: int = 3  # 1 (heightmap / grey) or 3 (RGB); a material: one per named channel
    latent_kind: LatentKind = "vector"
    latent_size: int = 100  # Z: length of the vector, or channels of the spatial latent grid
    # Vector models: the fixed output size. Spatial models: the size trained at
    # (latent grid native_height / pixels_per_cell high); any multiple of pixels_per_cell works.
    native_height: int = 32
    native_width: int = 32
    pixels_per_cell: int = 0  # spatial models only: output pixels per latent grid cell
    tileable: bool = False  # True when the generator wraps: its outputs tile with no seam
    classes: tuple[str, ...] = ()  # non-empty for conditional models; label i is classes[i]
    latent_distribution: str = "normal"  # how z is drawn: standard normal, per element
    # Spatial models: the grid's first global_channels channels are one standard normal draw per
    # image, the same in every cell (PSGAN's global dimensions); the rest, per element. A model
    # with any is written as schema version 2, so a texgen that would draw them per cell refuses it.
    global_channels: int = 0
    algorithm: str = ""  # dcgan | wgan | wgan-gp, with "-conditional" for conditional models
    architecture: str = ""  # the trainer preset that built the network, e.g. lanham-wgan-32
    dataset: str = ""  # a description of the training data
    data_license: str = ""  # licence of the training data (decides whether it may be bundled)
    training_steps: int = 0  # generator iterations
    metrics: dict[str, Any] = field(default_factory=dict)  # e.g. {"swd": 12.3, "seam_score": 1.01}
    created: str = ""  # ISO 8601 UTC
    description: str = ""
    # Materials only (texgen.materials): each output channel's name ("albedo.r", "normal.x",
    # "height", "roughness", ...) and colour space ("sRGB" for albedo, "linear" for the others).
    channel_names: tuple[str, ...] = ()
    channel_spaces: tuple[str, ...] = ()
    schema_version: int = 1  # the oldest that reads it: 2 where global_channels > 0 (info_to_props)

    @property
    def conditional(self) -> bool:
        return bool(self.classes)

    @property
    def spatial(self) -> bool:
        return self.latent_kind == "spatial"

    @property
    def seam_period(self) -> int:
        """The `period` for `seamless.seam_score` of this model's outputs: its pixels per latent
        cell (the statistics of a spatial generator's output repeat at that phase), else 1."""
        return self.pixels_per_cell if self.spatial and self.pixels_per_cell > 0 else 1

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ModelError(
                "invalid texgen metadata: " + "; ".join(problems),
                "re-export the model with `texgen export`, or remove the texgen.* metadata "
                "to load it as a plain ONNX generator",
            )


def _problems(info: GeneratorInfo) -> list[str]:
    out = []
    if info.kind not in KINDS:
        out.append(f"kind {info.kind!r} is not one of {', '.join(KINDS)}")
    if info.kind == "material":
        out += layout_problems(info.channel_names, info.channel_spaces, info.channels)
    elif info.channel_names or info.channel_spaces:
        out.append(f"a {info.kind} has no channel_names or channel_spaces (materials only)")
    if info.kind != "material" and info.channels not in (1, 3):
        out.append(f"channels is {info.channels}, expected 1 or 3")
    elif info.kind == "heightmap" and info.channels != 1:
        out.append(f"a heightmap has 1 channel, but channels is {info.channels}")
    if info.latent_distribution != "normal":
        out.append(f"latent_distribution {info.latent_distribution!r} is not 'normal', the only one texgen draws")
    if info.latent_kind not in LATENT_KINDS:
        out.append(f"latent_kind {info.latent_kind!r} is not one of {', '.join(LATENT_KINDS)}")
    if info.latent_size < 1:
        out.append(f"latent_size is {info.latent_size}, expected a positive integer")
    if info.native_height < 1 or info.native_width < 1:
        out.append(f"native size {info.native_height}x{info.native_width} is not positive")
    if info.latent_kind == "spatial":
        ppc = info.pixels_per_cell
        if ppc < 1:
            out.append("a spatial model needs pixels_per_cell >= 1")
        elif info.native_height % ppc or info.native_width % ppc:
            out.append(
                f"native size {info.native_height}x{info.native_width} is not a multiple of pixels_per_cell {ppc}"
            )
    if info.global_channels and info.latent_kind != "spatial":
        out.append(f"global_channels is for spatial latents, not {info.latent_kind} ones")
    elif info.global_channels and not 0 < info.global_channels < info.latent_size:
        out.append(f"global_channels is {info.global_channels}, expected 0 to {info.latent_size - 1}")
    if len(set(info.classes)) != len(info.classes):
        out.append("class names are not unique")
    if info.schema_version > SCHEMA_VERSION:
        out.append(
            f"schema version {info.schema_version} is newer than this texgen understands "
            f"({SCHEMA_VERSION}); update texgen"
        )
    return out


_FIELDS = {f.name: f for f in dataclasses.fields(GeneratorInfo)}


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value, sort_keys=True)


def _decode(name: str, text: str) -> Any:
    f = _FIELDS[name]
    if f.type in ("str", "Kind", "LatentKind"):
        return text
    value = json.loads(text)
    if name in ("classes", "channel_names", "channel_spaces"):
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise ValueError("expected a JSON list of strings")
        return tuple(value)
    if f.type == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError("expected an integer")
    if f.type == "bool" and not isinstance(value, bool):
        raise ValueError("expected true or false")
    if name == "metrics" and not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def info_to_props(info: GeneratorInfo) -> dict[str, str]:
    """The metadata_props entries (key -> string) that describe `info`."""
    values = dataclasses.asdict(info)
    if info.global_channels:  # an older texgen would draw them per cell: it must refuse the file
        values["schema_version"] = max(info.schema_version, 2)
    return {PREFIX + k: _encode(v) for k, v in values.items()}


def info_from_props(props: dict[str, str]) -> GeneratorInfo | None:
    """Parse texgen metadata; None when the file has no texgen keys at all."""
    ours = {k[len(PREFIX) :]: v for k, v in props.items() if k.startswith(PREFIX)}
    if not ours:
        return None
    values: dict[str, Any] = {}
    for key, text in ours.items():
        if key not in _FIELDS:
            continue  # written by a newer texgen; schema_version decides if that matters
        try:
            values[key] = _decode(key, text)
        except (ValueError, json.JSONDecodeError) as exc:
            raise ModelError(
                f"texgen metadata field {PREFIX}{key} = {text!r} is malformed ({exc})",
                "re-export the model with `texgen export`",
            ) from None
    if "name" not in values:
        raise ModelError(
            f"texgen metadata has no {PREFIX}name",
            "re-export the model with `texgen export`",
        )
    return GeneratorInfo(**values)


def write_metadata(model: Any, info: GeneratorInfo) -> None:
    """Replace the texgen entries of an `onnx.ModelProto`'s metadata_props with `info`."""
    keep = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith(PREFIX)]
    del model.metadata_props[:]
    for key, value in keep + sorted(info_to_props(info).items()):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def read_metadata(model: Any) -> GeneratorInfo | None:
    """The texgen description stored in an `onnx.ModelProto`, or None if it has none."""
    return info_from_props({p.key: p.value for p in model.metadata_props})


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output as onnxruntime reports it: dims are int, str (symbolic) or None."""

    name: str
    type: str  # onnxruntime's type string, e.g. "tensor(float)"
    shape: tuple[int | str | None, ...]


def _dim(d: int | str | None) -> str:
    return str(d) if isinstance(d, int) else "?"


def _shape(spec: TensorSpec) -> str:
    return "[" + ", ".join(_dim(d) for d in spec.shape) + "]"


def check_io(info: GeneratorInfo, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec]) -> None:
    """Check that a graph's inputs and outputs are what `info` promises. Raises ModelError."""
    fix = "re-export the model with `texgen export`"
    by_name = {s.name: s for s in inputs}
    z = by_name.get(LATENT_INPUT)
    if z is None:
        raise ModelError(
            f"the model has no input named {LATENT_INPUT!r} (inputs: {', '.join(s.name for s in inputs) or 'none'})",
            fix,
        )
    rank = 4 if info.spatial else 2
    if z.type != "tensor(float)" or len(z.shape) != rank:
        raise ModelError(
            f"input {LATENT_INPUT!r} is {z.type} {_shape(z)}, but a {info.latent_kind} latent "
            f"needs float32 of rank {rank}",
            fix,
        )
    if isinstance(z.shape[1], int) and z.shape[1] != info.latent_size:
        raise ModelError(
            f"input {LATENT_INPUT!r} has {z.shape[1]} latent channels, metadata says {info.latent_size}",
            fix,
        )
    label = by_name.get(LABEL_INPUT)
    if info.conditional and (label is None or label.type != "tensor(int64)"):
        raise ModelError(
            f"the metadata lists {len(info.classes)} classes but the model has no int64 {LABEL_INPUT!r} input",
            fix,
        )
    if not info.conditional and label is not None:
        raise ModelError(f"the model takes a {LABEL_INPUT!r} input but its metadata lists no classes", fix)
    extra = set(by_name) - {LATENT_INPUT, LABEL_INPUT}
    if extra:
        raise ModelError(f"the model has unexpected inputs: {', '.join(sorted(extra))}", fix)
    out = {s.name: s for s in outputs}.get(IMAGE_OUTPUT)
    if out is None or out.type != "tensor(float)" or len(out.shape) != 4:
        raise ModelError(f"the model needs a float32 output {IMAGE_OUTPUT!r} shaped [N, C, H, W]", fix)
    if isinstance(out.shape[1], int) and out.shape[1] != info.channels:
        raise ModelError(
            f"output {IMAGE_OUTPUT!r} has {out.shape[1]} channels, metadata says {info.channels}",
            fix,
        )
    h, w = out.shape[2], out.shape[3]
    if (
        not info.spatial
        and isinstance(h, int)
        and isinstance(w, int)
        and (h, w) != (info.native_height, info.native_width)
    ):
        raise ModelError(
            f"output {IMAGE_OUTPUT!r} is {w}x{h} pixels, metadata says {info.native_width}x{info.native_height}",
            fix,
        )


def guess_info(
    name: str, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec]
) -> tuple[GeneratorInfo, list[str]] | None:
    """Describe a plain ONNX file with no texgen metadata ("bring your own ONNX").

    It must have one float input and one float output of rank 4 ([N, C, H, W]). Returns the
    guessed description and the guesses made, in words for the user; None if the graph is not
    of that shape (the caller refuses it, naming what is missing).
    """
    if len(inputs) != 1 or len(outputs) != 1:
        return None
    z, out = inputs[0], outputs[0]
    if z.type != "tensor(float)" or out.type != "tensor(float)" or len(out.shape) != 4:
        return None
    if len(z.shape) not in (2, 4) or not isinstance(z.shape[1], int):
        return None
    channels = out.shape[1]
    if channels not in (1, 3):
        return None
    guesses = []
    spatial = len(z.shape) == 4
    height, width = out.shape[2], out.shape[3]
    if spatial:
        # Dynamic image size: the caller measures pixels per cell with a trial run.
        height = height if isinstance(height, int) else 0
        width = width if isinstance(width, int) else 0
        guesses.append("spatial latent: image size follows the latent grid")
    elif not (isinstance(height, int) and isinstance(width, int)):
        return None  # a vector model must say its output size
    kind = "heightmap" if channels == 1 else "texture"
    guesses += [
        f"kind: {kind} (from {channels} output channel{'s' if channels > 1 else ''})",
        "output range: [-1, 1]",
        "latent: standard normal",
        "tileable: no (outputs get the seamless post-process when asked)",
    ]
    # A spatial model's pixels per cell is unknown here: the loader measures it with a trial
    # run and replaces the placeholder 1.
    info = GeneratorInfo(
        name=name,
        kind=kind,
        channels=channels,
        latent_kind="spatial" if spatial else "vector",
        latent_size=z.shape[1],
        native_height=height or 1,
        native_width=width or 1,
        pixels_per_cell=1 if spatial else 0,
        description="plain ONNX generator (no texgen metadata)",
    )
    return info, guesses
