"""Material map sets: the channel layout a material generator makes, splitting its output into
maps, deriving maps a photograph lacks, and packing maps the way each engine's shader reads them.

A material generator (kind "material") makes every map at once, channels stacked, so the maps
agree. Its metadata names each channel (`channel_names`, e.g. "albedo.r", "normal.x", "height")
and its colour space (`channel_spaces`: albedo "sRGB", every other map "linear"). In the image a
generator returns (values in [0, 1]):

  albedo     3 channels, sRGB-encoded colour, as a photograph stores it
  normal     3 channels, tangent-space unit vector in the OpenGL convention (x right, y up the
             image), encoded (n + 1) / 2 like a normal-map PNG
  height     1 channel, linear, 0 low .. 1 high
  roughness  1 channel, linear, 0 mirror .. 1 fully rough
  ao         1 channel, linear, 0 fully occluded .. 1 open
  metallic   1 channel, linear, 0 dielectric .. 1 metal

Maps a model lacks are derived (normal from height) or filled with each engine's neutral value
(`NEUTRAL`), and the caller says so in a note. `derive_from_photo` gives height, roughness and AO
from one colour photograph by the heuristics documented on it (docs/materials.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from texgen.errors import RequestError
from texgen.maps import REC709, normal_map

# Map -> its channels in a material generator's output, in this order.
LAYOUT: dict[str, tuple[str, ...]] = {
    "albedo": ("albedo.r", "albedo.g", "albedo.b"),
    "normal": ("normal.x", "normal.y", "normal.z"),
    "height": ("height",),
    "roughness": ("roughness",),
    "ao": ("ao",),
    "metallic": ("metallic",),
}
MATERIAL_MAPS: tuple[str, ...] = tuple(LAYOUT)
SCALAR_MAPS: tuple[str, ...] = ("height", "roughness", "ao", "metallic")
CHANNEL_NAMES: tuple[str, ...] = tuple(c for chans in LAYOUT.values() for c in chans)
SPACES = ("sRGB", "linear")

# What a map is filled with when a model does not make it: the value that changes nothing in
# the engines' shaders (Unity's and Unreal's defaults for a material without that texture).
NEUTRAL: dict[str, float] = {"height": 0.5, "roughness": 0.5, "ao": 1.0, "metallic": 0.0}


# Map files by the words of their names, as the CC0 libraries name them (ambientCG:
# NAME_1K-PNG_Color.png, _NormalGL; Poly Haven: name_diff_1k.png, _nor_gl_, packed _arm_): a word
# -> the map it names ("normal_dx": DirectX normals, green inverted; "arm": R AO, G roughness,
# B metallic). Read by the trainer's material data and the app's preview of it.
MAP_WORDS: dict[str, str] = {
    "color": "albedo", "colour": "albedo", "diff": "albedo", "diffuse": "albedo", "albedo": "albedo",
    "basecolor": "albedo", "basecolour": "albedo",
    "displacement": "height", "disp": "height", "height": "height",
    "roughness": "roughness", "rough": "roughness",
    "ambientocclusion": "ao", "ao": "ao", "occlusion": "ao",
    "normalgl": "normal", "normal": "normal", "nor": "normal", "normaldx": "normal_dx",
    "metalness": "metallic", "metallic": "metallic", "metal": "metallic",
    "arm": "arm",
}  # fmt: skip


def map_of(path: str | Path) -> str | None:
    """The map a file's name says it holds (MAP_WORDS; case ignored, words split at _ - . and
    spaces, the last map word wins: "rock_diff_1k" -> albedo), or None for a plain photo. "nor"
    names a normal map only before gl or dx, or as the last word."""
    words = [w for w in re.split(r"[_\-.\s]+", Path(path).stem.lower()) if w]
    for i in range(len(words) - 1, -1, -1):
        word, after = words[i], words[i + 1] if i + 1 < len(words) else None
        if word == "nor":
            if after in ("gl", "dx"):
                return "normal_dx" if after == "dx" else "normal"
            if after is not None:
                continue
        if word in MAP_WORDS:
            return MAP_WORDS[word]
    return None


def colour_space(channel: str) -> str:
    """ "sRGB" for albedo channels, "linear" for every other map."""
    return "sRGB" if channel.startswith("albedo.") else "linear"


def layout_of(maps: tuple[str, ...] | list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(channel_names, channel_spaces) of a generator making `maps`, in LAYOUT order."""
    unknown = [m for m in maps if m not in LAYOUT]
    if unknown:
        raise RequestError(f"material map(s) {', '.join(unknown)} unknown", "use " + ", ".join(MATERIAL_MAPS))
    names = tuple(c for m in MATERIAL_MAPS if m in maps for c in LAYOUT[m])
    return names, tuple(colour_space(c) for c in names)


def describe_maps(names: tuple[str, ...], spaces: tuple[str, ...] = ()) -> str:
    """The maps of a (valid) channel layout with their colour spaces, in words: "albedo (sRGB);
    normal, height, roughness, ao (linear)". `spaces` as stored; each channel's own by default."""
    space_of = dict(zip(names, spaces)) if len(spaces) == len(names) else {}
    groups: dict[str, list[str]] = {}
    for m in maps_in(tuple(names)):
        first = LAYOUT[m][0]
        groups.setdefault(space_of.get(first, colour_space(first)), []).append(m)
    return "; ".join(f"{', '.join(ms)} ({space})" for space, ms in groups.items())


def layout_problems(names: tuple[str, ...], spaces: tuple[str, ...], channels: int) -> list[str]:
    """What is wrong with a material model's channel layout (empty when nothing is)."""
    out = []
    if len(names) != channels:
        out.append(f"channel_names lists {len(names)} channels, the model has {channels}")
    if len(spaces) != len(names):
        out.append(f"channel_spaces lists {len(spaces)} colour spaces for {len(names)} channels")
    unknown = [n for n in names if n not in CHANNEL_NAMES]
    if unknown:
        out.append(f"channel name(s) {', '.join(unknown)} unknown (known: {', '.join(CHANNEL_NAMES)})")
    elif len(set(names)) != len(names):
        out.append("channel names repeat")
    else:
        for m, chans in LAYOUT.items():
            present = [c in names for c in chans]
            if any(present) and not all(present):
                out.append(f"map {m} needs all of {', '.join(chans)}")
        if "albedo.r" not in names:
            out.append("a material has an albedo (albedo.r, albedo.g, albedo.b)")
    bad = [f"{n}={s}" for n, s in zip(names, spaces) if n in CHANNEL_NAMES and s != colour_space(n)]
    if bad:
        out.append(f"colour space(s) {', '.join(bad)} wrong: albedo is sRGB, every other map linear")
    return out


def maps_in(names: tuple[str, ...]) -> tuple[str, ...]:
    """The maps a channel layout holds, in LAYOUT order."""
    return tuple(m for m, chans in LAYOUT.items() if chans[0] in names)


@dataclass
class Material:
    """One material's maps, each H x W float32 (albedo and normal H x W x 3), values as in the
    module docstring except `normal`, which holds unit vectors (OpenGL convention) in [-1, 1]."""

    albedo: np.ndarray
    height: np.ndarray
    normal: np.ndarray | None = None  # None: derive from height when asked
    roughness: np.ndarray | None = None
    ao: np.ndarray | None = None
    metallic: np.ndarray | None = None

    def made(self) -> tuple[str, ...]:
        """The maps this material holds (not filled or derived)."""
        return tuple(m for m in MATERIAL_MAPS if getattr(self, m) is not None)

    def scalar(self, name: str) -> np.ndarray:
        """A one-channel map, its neutral value where the material lacks it."""
        value = getattr(self, name)
        if value is None:
            return np.full(self.height.shape, NEUTRAL[name], dtype=np.float32)
        return value

    def normals(self, strength: float, wrap: bool) -> np.ndarray:
        """Unit normals (OpenGL), the material's own or derived from its height."""
        if self.normal is not None:
            return self.normal
        return normal_map(self.height, strength=strength, wrap=wrap) * 2.0 - 1.0


def split(img: np.ndarray, names: tuple[str, ...]) -> Material:
    """A material generator's output (H x W x C in [0, 1], channels named `names`) as maps."""
    a = np.asarray(img, dtype=np.float32)
    if a.ndim != 3 or a.shape[2] != len(names):
        raise RequestError(
            f"material image has shape {a.shape}, expected H x W x {len(names)} ({', '.join(names)})",
            "pass the generator's output as it is",
        )
    index = {n: i for i, n in enumerate(names)}

    def take(m: str) -> np.ndarray | None:
        chans = LAYOUT[m]
        if chans[0] not in index:
            return None
        out = a[..., [index[c] for c in chans]]
        return out[..., 0] if len(chans) == 1 else out

    normal = take("normal")
    if normal is not None:
        normal = decode_normals(normal)
    height = take("height")
    albedo = take("albedo")
    if albedo is None:
        raise RequestError("the material has no albedo channels", "re-export the model with `texgen export`")
    if height is None:
        height = luminance_height(albedo)
    return Material(
        albedo=albedo,
        height=height,
        normal=normal,
        roughness=take("roughness"),
        ao=take("ao"),
        metallic=take("metallic"),
    )


def stack(material: Material, names: tuple[str, ...]) -> np.ndarray:
    """The inverse of `split`: H x W x len(names) in [0, 1] (normals encoded (n + 1) / 2)."""
    planes = []
    for m in maps_in(names):
        if m == "albedo":
            planes += [material.albedo[..., i] for i in range(3)]
        elif m == "normal":
            n = material.normals(1.0, True)
            planes += [(n[..., i] + 1.0) * 0.5 for i in range(3)]
        else:
            planes.append(material.scalar(m))
    return np.stack(planes, axis=-1).astype(np.float32)


def decode_normals(encoded: np.ndarray) -> np.ndarray:
    """Unit vectors from (n + 1) / 2 encoded normals; z kept positive (a tangent-space normal
    never faces into the surface), so a generator's slightly-off values stay valid normals."""
    n = np.asarray(encoded, dtype=np.float32) * 2.0 - 1.0
    n[..., 2] = np.maximum(n[..., 2], 0.05)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def encode_normals(n: np.ndarray, convention: str = "opengl") -> np.ndarray:
    """(n + 1) / 2 of unit normals (OpenGL), green inverted for "directx"."""
    out = (np.asarray(n, dtype=np.float32) + 1.0) * 0.5
    if convention == "directx":
        out[..., 1] = 1.0 - out[..., 1]
    return out


# ---------------------------------------------------------------------------------------------
# Colour spaces


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """The sRGB transfer function's inverse (IEC 61966-2-1), values in [0, 1]."""
    v = np.clip(np.asarray(v, dtype=np.float32), 0.0, 1.0)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    """The sRGB transfer function (IEC 61966-2-1), values in [0, 1]."""
    v = np.clip(np.asarray(v, dtype=np.float32), 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055).astype(np.float32)


def luminance_height(albedo: np.ndarray) -> np.ndarray:
    """A plain height from colour: Rec. 709 luma of the stored values (as texture models do)."""
    return (np.asarray(albedo, dtype=np.float32) @ REC709.astype(np.float32)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Maps from one photograph (docs/materials.md)


def blur(a: np.ndarray, sigma: float, wrap: bool = True) -> np.ndarray:
    """Gaussian blur of an H x W array by `sigma` pixels, in the frequency domain: periodic when
    `wrap` (a tileable map stays tileable), else the borders mirrored first."""
    a = np.asarray(a, dtype=np.float64)
    if sigma <= 0:
        return a.astype(np.float32)
    h, w = a.shape
    src = a if wrap else np.pad(a, ((h // 2, h - h // 2), (w // 2, w - w // 2)), mode="symmetric")
    fy = np.fft.fftfreq(src.shape[0])[:, None]
    fx = np.fft.rfftfreq(src.shape[1])[None, :]
    gain = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fx * fx + fy * fy))
    out = np.fft.irfft2(np.fft.rfft2(src) * gain, s=src.shape)
    if not wrap:
        out = out[h // 2 : h // 2 + h, w // 2 : w // 2 + w]
    return out.astype(np.float32)


# Height from luminance: the sum of the de-lit log luminance blurred at these scales (pixels),
# with these weights. Fine scales give grain, coarse ones the form of stones and clumps.
HEIGHT_SCALES = ((1.0, 0.10), (2.0, 0.15), (4.0, 0.20), (8.0, 0.25), (16.0, 0.30))


def _normalise(a: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    lo, hi = np.percentile(a, [low, high])
    if hi - lo < 1e-8:
        return np.full(a.shape, 0.5, dtype=np.float32)
    return np.clip((a - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def derive_from_photo(albedo: np.ndarray, *, wrap: bool = True) -> Material:
    """Height, roughness and AO from one colour photograph (H x W x 3, sRGB values in [0, 1]).

    The heuristics of image-to-material tools (Materialize, bitmap-to-material), in this order:
      1. Light: linear luminance Y (sRGB decoded, Rec. 709), in logarithms (shading multiplies).
      2. Lighting removed (`delit_luminance`): for a photo, the least-squares quadratic surface
         through log Y (light from one side, vignetting); then log Y minus its blur at a sixth
         of the short side, so a photo lit from one side is not read as a slope.
      3. Height: that de-lit luminance blurred at 1, 2, 4, 8 and 16 px and summed with weights
         growing with scale (HEIGHT_SCALES); bright is high (stones in light, gaps in shadow);
         stretched to [0, 1] between its 1st and 99th percentiles.
      4. AO: cavities of that height (`ao_from_height`): how far a pixel lies below its
         neighbourhood's mean (blur at 4 and 16 px), 0 in the open, up to 0.7 in the deepest 2 %:
         ao = 1 - 0.7 * cavity.
      5. Roughness (`roughness_from_photo`): local contrast (standard deviation over a 2 px
         Gaussian window) of the de-lit luminance against its median; detailed, grainy areas are
         rough, smooth areas glossier: roughness = 0.7 + 0.25 * log2(contrast / median), in [0.35, 1].
    `wrap` treats the photo as tileable (every blur periodic), as training crops and tileable
    generator outputs are.
    """
    rgb = _rgb(albedo)
    flat = delit_luminance(rgb, wrap)
    height = _normalise(sum(weight * blur(flat, s, wrap) for s, weight in HEIGHT_SCALES))
    return Material(
        albedo=rgb,
        height=height,
        roughness=_roughness(flat, wrap),
        ao=ao_from_height(height, wrap=wrap),
    )


def _rgb(albedo: np.ndarray) -> np.ndarray:
    rgb = np.asarray(albedo, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise RequestError(f"photo has shape {rgb.shape}, expected H x W x 3 (RGB)", "pass a colour image")
    return rgb


def delit_luminance(albedo: np.ndarray, wrap: bool = True) -> np.ndarray:
    """log linear luminance minus the lighting: for a photo (not `wrap`), first the least-squares
    quadratic surface over the frame (a light from one side, vignetting), whose mirrored blur
    alone would leave a ramp at the borders; then, always, its blur at a sixth of the short side."""
    rgb = _rgb(albedo)
    log_y = np.log(srgb_to_linear(rgb) @ REC709.astype(np.float32) + 1e-3).astype(np.float64)
    if not wrap:
        log_y = log_y - _quadratic_fit(log_y)
    return (log_y - blur(log_y, min(rgb.shape[:2]) / 6.0, wrap)).astype(np.float32)


def _quadratic_fit(a: np.ndarray) -> np.ndarray:
    """The least-squares surface c0 + c1 x + c2 y + c3 x^2 + c4 xy + c5 y^2 through an H x W array."""
    h, w = a.shape
    y, x = np.mgrid[0:h, 0:w]
    x = x / max(w - 1, 1) - 0.5
    y = y / max(h - 1, 1) - 0.5
    basis = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1).reshape(-1, 6)
    coef, *_ = np.linalg.lstsq(basis, a.reshape(-1), rcond=None)
    return (basis @ coef).reshape(h, w)


def ao_from_height(height: np.ndarray, *, wrap: bool = True) -> np.ndarray:
    """Ambient occlusion from the cavities of a height in [0, 1] (derive_from_photo, step 4)."""
    h = np.asarray(height, dtype=np.float32)
    cavity = sum(np.maximum(blur(h, s, wrap) - h, 0.0) for s in (4.0, 16.0))
    deep = float(np.percentile(cavity, 98)) or 1.0
    return (1.0 - 0.7 * np.clip(cavity / deep, 0.0, 1.0)).astype(np.float32)


def roughness_from_photo(albedo: np.ndarray, *, wrap: bool = True) -> np.ndarray:
    """Roughness from local contrast of a colour photo (derive_from_photo, step 5)."""
    return _roughness(delit_luminance(albedo, wrap), wrap)


def _roughness(flat: np.ndarray, wrap: bool) -> np.ndarray:
    mean = blur(flat, 2.0, wrap)
    contrast = np.sqrt(np.maximum(blur(flat * flat, 2.0, wrap) - mean * mean, 1e-10))
    median = float(np.median(contrast)) or 1.0
    return np.clip(0.7 + 0.25 * np.log2(contrast / median), 0.35, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Engine packing


@dataclass(frozen=True)
class Packed:
    """A packed map: which map or value goes into each of its channels, and how it reads."""

    channels: tuple[str, ...]  # per channel: a map name, "smoothness" (1 - roughness) or a number
    layout: str  # in words, for the sidecar


PACKED: dict[str, Packed] = {
    # Unity URP Lit: Metallic Map, R metallic, A smoothness (G and B unused).
    "metallic_smoothness": Packed(
        ("metallic", "0", "0", "smoothness"), "R metallic, G 0, B 0, A smoothness = 1 - roughness"
    ),
    # Unity HDRP Lit: Mask Map, R metallic, G AO, B detail mask, A smoothness.
    "mask": Packed(
        ("metallic", "ao", "1", "smoothness"),
        "R metallic, G ambient occlusion, B detail mask (1), A smoothness = 1 - roughness",
    ),
    # Unreal (and Godot's ORM material): R ambient occlusion, G roughness, B metallic.
    "orm": Packed(("ao", "roughness", "metallic"), "R ambient occlusion, G roughness, B metallic"),
}


def pack(material: Material, packed: str) -> np.ndarray:
    """H x W x 3 or 4 float32 in [0, 1]: the channels of a packed map (PACKED) from `material`."""
    planes = []
    for source in PACKED[packed].channels:
        if source == "smoothness":
            planes.append(1.0 - material.scalar("roughness"))
        elif source in NEUTRAL:
            planes.append(material.scalar(source))
        else:
            planes.append(np.full(material.height.shape, float(source), dtype=np.float32))
    return np.stack(planes, axis=-1).astype(np.float32)


def packed_sources(packed: str) -> tuple[str, ...]:
    """The maps a packed map reads (its number channels left out)."""
    maps = []
    for source in PACKED[packed].channels:
        m = "roughness" if source == "smoothness" else source
        if m in NEUTRAL and m not in maps:
            maps.append(m)
    return tuple(maps)
