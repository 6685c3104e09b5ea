"""Named export presets: what each engine wants (format, bit depth, size, byte order, flip,
normal convention, which maps) in one typed record, and the file-name template.

A preset is data; `export_image` (texgen.export) carries it out. docs/export-formats.md has the
facts behind every value here, as each engine's importer reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from texgen.errors import RequestError
from texgen.writers import UNITY_SIZES, UNREAL_SIZES
from texgen.maps import Convention

__all__ = ["ExportPreset", "PRESETS", "get_preset", "GODOT_SIZES", "UNITY_SIZES", "UNREAL_SIZES"]

Engine = Literal["unity", "unreal", "godot", "generic"]
TextureFormat = Literal["png8"]
HeightFormat = Literal["png16", "raw16", "r16", "png8"]
ByteOrder = Literal["little", "big"]

# Godot HTerrain heightmap sizes (2^n + 1).
GODOT_SIZES: tuple[int, ...] = (65, 129, 257, 513, 1025, 2049, 4097)


@dataclass(frozen=True)
class ExportPreset:
    """How to write one generated image for one engine."""

    name: str
    description: str  # plain words for the GUI's preset menu
    engine: Engine = "generic"
    texture_format: TextureFormat = "png8"  # colour maps: 8-bit sRGB PNG
    height_format: HeightFormat = "png16"
    byte_order: ByteOrder = "little"  # raw16 only; r16 is always little-endian
    flip_vertical: bool = False  # raw16 only: bottom row first (Unity)
    normal_convention: Convention = "opengl"
    texture_maps: tuple[str, ...] = ("albedo",)  # maps written by default for a texture model
    heightmap_maps: tuple[str, ...] = ("height",)  # ... and for a heightmap model
    material_maps: tuple[str, ...] = ("albedo", "height", "normal", "roughness", "ao")  # ... a material model
    sizes: tuple[int, ...] | None = None  # allowed sizes (square); None = any size
    recommended_sizes: tuple[int, ...] = ()  # offered first; not enforced
    square: bool = False  # terrains are square
    # Sizes are n + 1 with a shared edge (2^n + 1 terrains): generate a tileable n x n map,
    # then repeat its first row and column, so tiles placed side by side meet exactly.
    shared_edge: bool = False
    default_size: int = 512
    name_template: str = "{model}_{seed}_{map}"

    def maps_for(self, kind: str) -> tuple[str, ...]:
        """The maps written by default for a model of `kind` ("texture", "heightmap" or "material")."""
        if kind == "texture":
            return self.texture_maps
        if kind == "heightmap":
            return self.heightmap_maps
        if kind == "material":
            return self.material_maps
        raise RequestError(f"model kind {kind!r} is unknown", "use 'texture', 'heightmap' or 'material'")

    def check_size(self, height: int, width: int) -> None:
        """RequestError naming the valid sizes when this preset cannot take height x width."""
        if height < 1 or width < 1:
            raise RequestError(f"size {width}x{height} is not positive", f"use e.g. {self.default_size}")
        if self.shared_edge and min(height, width) < 3:
            raise RequestError(
                f"size {width}x{height} is too small for the {self.name} preset, whose last row and "
                "column repeat the first",
                f"use at least 3, e.g. {self.default_size}",
            )
        if (self.square or self.sizes) and height != width:
            raise RequestError(
                f"size {width}x{height} is not square, and the {self.name} preset needs a square map",
                f"use e.g. {self.default_size}x{self.default_size}",
            )
        if self.sizes and height not in self.sizes:
            raise RequestError(
                f"size {height} is not a valid size for the {self.name} preset",
                "use one of " + ", ".join(map(str, self.sizes)),
            )

    def nearest_size(self, height: int, width: int) -> tuple[int, int]:
        """The size this preset can take that is nearest to height x width (unchanged if valid).

        Restricted presets: the allowed size nearest to the larger side (ties go up, so no
        detail is lost). Square-only presets: the larger side, squared.
        """
        side = max(height, width)
        if self.sizes:
            side = min(self.sizes, key=lambda s: (abs(s - side), -s))
            return side, side
        if self.square:
            return side, side
        return height, width

    def generation_size(self, height: int, width: int) -> tuple[int, int, bool]:
        """(gen_height, gen_width, extend): what to generate for a requested output size.

        Shared-edge presets (2^n + 1) generate a tileable (h - 1) x (w - 1) map and set
        extend, so the caller applies seamless.extend_periodic; others generate h x w as is.
        """
        self.check_size(height, width)
        if self.shared_edge:
            return height - 1, width - 1, True
        return height, width, False


_TERRAIN_MAPS = dict(
    texture_maps=("height", "hillshade"), heightmap_maps=("height", "hillshade"), material_maps=("height", "hillshade")
)
_MATERIAL_MAPS = dict(texture_maps=("albedo", "normal"), heightmap_maps=("height", "normal"))


def _engine_material(name: str, engine: Engine, packed: str, convention: Convention, description: str) -> ExportPreset:
    """A preset writing a full material: albedo, normal, the engine's packed map and a 16-bit
    height (for parallax or displacement). A colour texture model's maps are derived from its
    colour; a heightmap model writes its height and normal."""
    maps = ("albedo", "normal", packed, "height")
    return ExportPreset(
        name=name,
        engine=engine,
        description=description,
        normal_convention=convention,
        texture_maps=maps,
        material_maps=maps,
        heightmap_maps=("height", "normal"),
        name_template="{model}_{seed}_{map}",
    )


_UNITY_TERRAIN = ExportPreset(
    name="unity-terrain",
    engine="unity",
    description="Unity terrain (Import Raw, Windows byte order): 16-bit RAW, square 2^n+1 "
    "(default 513), bottom row first so the terrain matches the picture; a hillshade PNG "
    "to preview it.",
    height_format="raw16",
    byte_order="little",
    flip_vertical=True,
    sizes=UNITY_SIZES,
    square=True,
    shared_edge=True,
    default_size=513,
    **_TERRAIN_MAPS,
)

PRESETS: dict[str, ExportPreset] = {
    p.name: p
    for p in (
        ExportPreset(
            name="png",
            description="PNG for any tool: 8-bit colour, 16-bit grey height. Any size.",
        ),
        ExportPreset(
            name="png16",
            description="16-bit height PNG for every model: a texture also gets its brightness "
            "as a 16-bit height beside its colour. Any size.",
            texture_maps=("albedo", "height"),
        ),
        ExportPreset(
            name="png8",
            description="Everything as 8-bit PNG, for viewers and tools without 16-bit support "
            "(heights show steps). Any size.",
            height_format="png8",
        ),
        ExportPreset(
            name="unity-texture",
            engine="unity",
            description="Unity material: colour PNG and an OpenGL normal map; heights as 16-bit PNG.",
            **_MATERIAL_MAPS,
        ),
        _UNITY_TERRAIN,
        replace(
            _UNITY_TERRAIN,
            name="unity-terrain-mac",
            description="Unity terrain with the Mac byte order (big-endian 16-bit RAW); otherwise as unity-terrain.",
            byte_order="big",
        ),
        ExportPreset(
            name="unreal-landscape",
            engine="unreal",
            description="Unreal landscape: 16-bit grey PNG height, square. 505, 1009, 2017, ... "
            "fill whole components; other sizes import too.",
            height_format="png16",
            normal_convention="directx",
            recommended_sizes=UNREAL_SIZES,
            square=True,
            shared_edge=True,
            default_size=505,
            texture_maps=("height",),
            heightmap_maps=("height",),
            material_maps=("height",),
        ),
        ExportPreset(
            name="unreal-landscape-r16",
            engine="unreal",
            description="Unreal landscape as .r16 (raw little-endian 16-bit), square; a hillshade PNG to preview it.",
            height_format="r16",
            normal_convention="directx",
            recommended_sizes=UNREAL_SIZES,
            square=True,
            shared_edge=True,
            default_size=505,
            **_TERRAIN_MAPS,
        ),
        ExportPreset(
            name="unreal-texture",
            engine="unreal",
            description="Unreal material: colour PNG and a DirectX normal map; heights as 16-bit PNG.",
            normal_convention="directx",
            **_MATERIAL_MAPS,
        ),
        ExportPreset(
            name="godot-terrain",
            engine="godot",
            description="Godot terrain (HTerrain, Terrain3D): .r16 little-endian, square 2^n+1 "
            "from 65 to 4097 (default 513); a hillshade PNG to preview it.",
            height_format="r16",
            sizes=GODOT_SIZES,
            square=True,
            shared_edge=True,
            default_size=513,
            **_TERRAIN_MAPS,
        ),
        ExportPreset(
            name="godot-texture",
            engine="godot",
            description="Godot material: colour PNG and an OpenGL normal map; heights as 16-bit PNG "
            "(Godot imports a PNG at 8 bits; for a terrain's 16 bits use godot-terrain).",
            **_MATERIAL_MAPS,
        ),
        _engine_material(
            "unity-urp-material",
            "unity",
            "metallic_smoothness",
            "opengl",
            "Unity URP Lit material: albedo, OpenGL normal, Metallic Map (R metallic, A smoothness), "
            "16-bit height. Any size.",
        ),
        _engine_material(
            "unity-hdrp-material",
            "unity",
            "mask",
            "opengl",
            "Unity HDRP Lit material: albedo, OpenGL normal, Mask Map (R metallic, G AO, B detail mask, "
            "A smoothness), 16-bit height. Any size.",
        ),
        _engine_material(
            "unreal-material",
            "unreal",
            "orm",
            "directx",
            "Unreal material: albedo, DirectX normal, ORM (R AO, G roughness, B metallic), 16-bit height. Any size.",
        ),
        _engine_material(
            "godot-material",
            "godot",
            "orm",
            "opengl",
            "Godot StandardMaterial3D (ORM): albedo, OpenGL normal, ORM (R AO, G roughness, B metallic), "
            "16-bit height. Any size.",
        ),
    )
}


def get_preset(name: str) -> ExportPreset:
    """The preset called `name`; RequestError listing the valid names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise RequestError(f"export preset {name!r} is unknown", "use one of " + ", ".join(PRESETS)) from None
