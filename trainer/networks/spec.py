"""NetSpec: every argument that rebuilds a generator and critic (it travels with the weights)."""

from __future__ import annotations

from dataclasses import dataclass

FAMILIES = ("lanham", "foster", "spatial")
CRITIC_NORMS = ("batch", "none")
PROJECTIONS = ("sum", "unit")  # the conditional critic's class term (layers.Projection)
MAX_CHANNELS = 16  # a material stacks up to 10 (texgen.materials.LAYOUT)
MAX_CELL_CONVS = 8  # each reaches one latent cell further


@dataclass(frozen=True)
class NetSpec:
    family: str  # lanham | foster | spatial
    channels: int = 3  # image channels: 1 (grey / heightmap), 3 (RGB), or a material's stacked maps
    latent_size: int = 100  # Z: vector length, or channels of the spatial latent grid
    resolution: int = 32  # side of the images the critic sees (the training crop)
    num_classes: int = 0  # > 0: conditional generator (embedding) and critic (projection)
    embed_dim: int = 32  # class embedding size fed to the generator
    critic_norm: str = "batch"  # batch | none (WGAN-GP: none, the penalty is per sample)
    critic_dropout: float = 0.0  # dropout after each critic block (Lanham 0.25, Foster 0.3)
    g_width: int = 32  # spatial: generator channels at the finest level (x2 per coarser level)
    d_width: int = 32  # spatial: critic channels at the finest level (x2 per coarser level)
    upsamples: int = 4  # spatial: 2x upsampling blocks; pixels per latent cell = 2 ** upsamples
    upsample_blur: bool = False  # spatial: blur after each nearest upsampling (no checkerboard)
    blur_last: bool = True  # spatial, with upsample_blur: the last upsampling is blurred too
    class_affine: bool = False  # spatial, conditional: per-class scale and shift after each PixelNorm
    coarse_field: int = 0  # spatial: blur passes of a coarse latent field fed beside the grid (0: none)
    pixel_noise: bool = False  # spatial: the grid's last noise_channels(upsamples) channels are per-pixel noise
    cell_convs: int = 0  # spatial: more 3x3 convolutions at the latent cells' resolution, after the stem
    projection: str = "sum"  # conditional: the critic's class term, sum (Miyato & Koyama) | unit (layers.Projection)
    # spatial: the grid's first global_channels channels are one normal draw per image, the same
    # in every cell (PSGAN's global dimensions, Bergmann et al. 2017): what an image is as a whole
    global_channels: int = 0

    @property
    def noise_channels(self) -> int:
        """Latent channels that are per-pixel noise (the rest of latent_size is the structured grid)."""
        return noise_channels(self.upsamples) if self.pixel_noise else 0

    @property
    def spatial(self) -> bool:
        return self.family == "spatial"

    @property
    def pixels_per_cell(self) -> int:
        return 2**self.upsamples if self.spatial else 0

    def problems(self) -> list[str]:
        """What makes this spec unbuildable, in words (empty when fine)."""
        out = []
        r = self.resolution
        if self.family not in FAMILIES:
            out.append(f"architecture {self.family!r} is not one of {', '.join(FAMILIES)}")
        if not 1 <= self.channels <= MAX_CHANNELS:
            out.append(f"channels {self.channels} is not between 1 and {MAX_CHANNELS}")
        if r < 16 or r & (r - 1):
            out.append(f"crop {r} is not a power of two of at least 16 (16, 32, 64, 128, 256)")
        if self.critic_norm not in CRITIC_NORMS:
            out.append(f"critic_norm {self.critic_norm!r} is not one of {', '.join(CRITIC_NORMS)}")
        if self.latent_size < 1:
            out.append(f"latent size {self.latent_size} is not positive")
        if self.spatial and self.upsamples < 1:
            out.append(f"upsamples {self.upsamples} must be at least 1")
        if self.spatial and r % self.pixels_per_cell:
            out.append(f"crop {r} is not a multiple of the {self.pixels_per_cell} pixels per latent cell")
        if self.coarse_field and not self.spatial:
            out.append(f"coarse_field is for the spatial architecture, not {self.family}")
        if not 0 <= self.coarse_field <= 32:
            out.append(f"coarse_field {self.coarse_field} is not between 0 (none) and 32 blur passes")
        if self.class_affine and not self.spatial:
            out.append(f"class_affine is for the spatial architecture, not {self.family}")
        if self.pixel_noise and not self.spatial:
            out.append(f"pixel_noise is for the spatial architecture, not {self.family}")
        elif self.pixel_noise and self.latent_size <= self.noise_channels:
            out.append(
                f"latent size {self.latent_size} leaves no structured channels beside the"
                f" {self.noise_channels} channels of pixel noise"
            )
        if self.cell_convs and not self.spatial:
            out.append(f"cell_convs is for the spatial architecture, not {self.family}")
        if not 0 <= self.cell_convs <= MAX_CELL_CONVS:
            out.append(f"cell_convs {self.cell_convs} is not between 0 (none) and {MAX_CELL_CONVS}")
        if self.global_channels and not self.spatial:
            out.append(f"global_channels is for the spatial architecture, not {self.family}")
        elif self.global_channels and not 0 < self.global_channels < self.latent_size - self.noise_channels:
            out.append(
                f"global_channels {self.global_channels} is not between 0 (none) and the"
                f" {self.latent_size - self.noise_channels - 1} that leave the grid one channel of its own"
            )
        if not 0.0 <= self.critic_dropout < 1.0:
            out.append(f"critic dropout {self.critic_dropout} is not in [0, 1)")
        return out


def noise_channels(upsamples: int) -> int:
    """Per-pixel noise for every upsampling block: block i works at 2 ** (i + 1) pixels a cell,
    so one noise map there takes 4 ** (i + 1) channels of each cell (340 for 4 blocks)."""
    return sum(4 ** (i + 1) for i in range(upsamples))
