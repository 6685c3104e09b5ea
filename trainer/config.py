"""TrainConfig: every choice a training run makes, typed, with the defaults explained.

A run's `config.json` is this dataclass as JSON; `--set key=value` overrides any field by
name, typed by its annotation. Named starting points (recipes) live in `trainer/recipes.py`.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from texgen.errors import RequestError
from trainer.data.imageset import augment_mode, parse_augment
from trainer.diffaug import POLICIES, parse_policy
from trainer.networks import CRITIC_NORMS, FAMILIES, PROJECTIONS, NetSpec
from trainer.networks.spec import noise_channels

ALGORITHMS = ("dcgan", "wgan", "wgan-gp")
KINDS = ("texture", "heightmap", "material")
OPTIMIZERS = ("adam", "rmsprop")
DEVICES = ("auto", "cpu", "cuda", "mps")
AMP_MODES = ("auto", "bf16", "fp16", "off")


@dataclass
class TrainConfig:
    # What and from what
    preset: str = "custom"  # the preset this config started from (names the architecture)
    description: str = ""  # one line in plain words, shown by the GUI
    algorithm: str = "wgan-gp"  # dcgan | wgan (weight clipping) | wgan-gp
    architecture: str = "spatial"  # lanham | foster | spatial (tileable)
    data: str = ""  # cifar100:forest, cifar100:33@archive.tar.gz, an image folder, a DEM file
    kind: str = "texture"  # texture | heightmap (1 channel, 16-bit precision kept) | material (map sets)
    channels: int = 3  # 3 RGB or 1 grey; heightmaps always 1; a material: its maps' channels (set from the data)
    conditional: bool = False  # sub-folders / listed CIFAR classes become classes
    crop: int = 64  # training image side (the critic's input); power of two >= 16
    scale: float = 1.0  # resize source images by this before cropping (0.5: coarser texture)
    # Symmetries given to real crops: all (random flips and quarter-turns: textures with no up),
    # flips (mirrored, never turned: brick courses, wood grain, light from one side), none; or
    # per class, e.g. "all,brick:flips". true/false read as all/none.
    augment: str = "all"
    # DiffAugment (trainer/diffaug.py): transforms applied to real AND generated images before
    # every critic call, so a critic of few images cannot learn them by heart. Comma list of
    # color, translation, cutout ("" = off; the paper's low-data recipe is all three).
    diffaug: str = ""
    cache_dir: str = ""  # where downloaded/extracted data is kept ("" = the data helper's default)
    download: bool = False  # allow downloading CIFAR-100 when it is not found locally
    # Networks (see trainer/networks)
    latent_size: int = 32  # Z: vector length, or channels per cell of a spatial latent grid
    embed_dim: int = 32  # class embedding size (conditional)
    g_width: int = 32  # spatial: generator channels at the finest level
    d_width: int = 32  # spatial: critic channels at the finest level
    upsamples: int = 4  # spatial: 2 ** upsamples pixels per latent cell
    upsample_blur: bool = False  # spatial: [1,2,1] blur after each upsampling (smooth heightmaps)
    # spatial, with upsample_blur: false leaves the last upsampling unblurred (nearest), so the
    # finest pixels stay sharp while the inner upsamplings, whose nearest copies print stripes
    # 4 and 8 px apart, are smoothed
    blur_last: bool = True
    # spatial, conditional: the class also scales and shifts the channels after every PixelNorm
    # of the generator (conditional normalisation), not only its input
    class_affine: bool = False
    # conditional: the critic's class term. sum: Miyato & Koyama's projection (a free-length class
    # vector against the summed features); unit: the class vector at unit length against the
    # features' mean, which kept a conditional model of colour materials from drawing one flat
    # colour per class (docs/models.md, "ground-material and rock-material")
    projection: str = "sum"
    spatial_margin: int = 1  # spatial: latent cells beyond the crop; the critic sees a random crop
    # spatial: blur passes of a coarse latent field made from the grid and fed beside it
    # (0: none; 4 gives structure over about 100 px). Wants a spatial_margin of several cells,
    # or the training torus is too small for the field to vary across it.
    coarse_field: int = 0
    # Spatial: per-pixel noise added after each upsampling block's second convolution, with a
    # learnt strength per channel that starts at zero (StyleGAN's noise inputs, Karras et al. 2019),
    # so fine stochastic detail (grain, blades) need not be made from the 16 px cells alone. The
    # noise is drawn as more channels of the latent grid (noise_channels(upsamples), shuffled to
    # pixels), so the ONNX contract, the seeds and the exact tiling stay as they are.
    pixel_noise: bool = False
    # spatial: more 3x3 convolutions at the latent cells' resolution, after the stem (0 to 8),
    # each reaching one cell (16 px) further, for strokes longer than two or three cells
    # (trainer/networks/spatial.py; what they did: docs/models.md)
    cell_convs: int = 0
    # spatial: latent channels drawn once per image and the same in every cell (PSGAN's global
    # dimensions): the generator can tell what the whole image is (which rock, which light) apart
    # from the local content, instead of mixing its data's looks side by side. The exported model
    # says how many (texgen.metadata `global_channels`), and texgen draws them so.
    global_channels: int = 0
    # spatial: random crops cut from each generated image (1: one image per crop). With a large
    # spatial_margin, several crops an image keep the generator's pixels per step as they were.
    crops_per_image: int = 1
    # spatial: a second critic that sees crops wide_critic times the crop's side, shrunk by that
    # factor to the crop's size (a box average): structure over 2 or 4 crops at low resolution,
    # which the first critic's crops cannot hold (1: none; 2 or 4). The training torus must hold
    # such a crop, and so must every data image.
    wide_critic: int = 1
    # How the wide critic shrinks its crops: box (a box average) or blur (a binomial pyramid, a
    # low-pass filter: the box aliases stripes near 4 px apart into large structure, and runs
    # with it drew hatching 4 and 8 px apart; trainer/networks/spatial.py TwoScaleCritic).
    wide_shrink: str = "box"
    # How far into the generator the wide critic's loss reaches, in stages from the latent grid:
    # 1 the stem (with the coarse field's input and the cell convolutions), 2 also the first
    # upsampling block, and so on up to `upsamples`; 0 (the default) every layer. The layers it
    # does not reach answer to the first critic alone, so the wide critic can move where things
    # fall (leaves, gaps, clusters over 128 px) but not how the finest pixels are drawn.
    wide_reach: int = 0
    # The wide critic's share of the generator's loss (1: as much as the first critic's). Its
    # critic trains at full strength whatever this is; below 1 the generator answers it less,
    # so the first critic's fine strands weigh more against the wide critic's large structure.
    wide_weight: float = 1.0
    # Weight of a multi-scale patch sliced-Wasserstein loss (trainer/losses.py patch_swd) added
    # to the generator's: its crops (the wide critic's, when there is one) against the real
    # crops of the same step, at every level of a Laplacian pyramid (0: off, a pure GAN).
    patch_swd: float = 0.0
    # Weight of a spectral loss (trainer/losses.py spectral_loss) added to the generator's: the
    # squared relative error of each 2-D frequency's amplitude between its crops (the wide
    # critic's, when there is one) and the real crops (their spectrum a moving average over
    # steps), against faint periodic grain the critic does not see (0: off).
    spectral: float = 0.0
    critic_norm: str = "auto"  # auto (batch, none for wgan-gp) | batch | none
    critic_dropout: float = 0.0  # dropout in the critic (Lanham 0.25, Foster 0.3)
    # Optimisation
    batch: int = 32  # images per critic step (over all GPUs together)
    steps: int | None = 20000  # generator iterations; None: until `minutes` runs out
    minutes: float | None = None  # wall-time budget; training stops at whichever comes first
    n_critic: int = 5  # critic steps per generator step (the generator steps ONCE after them)
    optimizer: str = "adam"  # adam | rmsprop (the WGAN paper's, with weight clipping)
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.0  # Adam betas (unused by RMSprop)
    beta2: float = 0.9
    clip: float = 0.01  # wgan: critic weights clipped to [-clip, clip]
    gp_lambda: float = 10.0  # wgan-gp: weight of the gradient penalty
    label_smoothing: float = 0.0  # dcgan: real target 1 - smoothing
    label_noise: float = 0.0  # dcgan: targets jittered towards the other class by U[0, noise]
    label_flip: float = 0.0  # dcgan: probability of swapping a target
    # Exported/sampled generator: an exponential moving average of the trained one (Karras et
    # al.), which smooths the oscillation of GAN training. Half-life in generator steps (capped
    # at a tenth of the steps done, so early samples are not stuck near the initial weights);
    # 0 = off (the raw weights, as the course's code does).
    ema_halflife: float = 0.0
    # Machine
    seed: int = 0
    device: str = "auto"  # auto (CUDA, else Apple's MPS, else the CPU) | cpu | cuda | mps
    amp: str = "auto"  # CUDA mixed precision: auto (float32: faster for nets this small) | bf16 | fp16 | off
    threads: int = 0  # CPU threads for torch; 0: torch's default (one per core)
    # Run folder and intervals (in generator steps; 0 = never, the end of the run always)
    out: str = "runs"  # parent folder of numbered run folders
    name: str = ""  # run name; "" = preset and data
    sample_every: int = 500
    checkpoint_every: int = 1000
    eval_every: int = 2000
    eval_samples: int = 256  # images per side for metrics
    log_seconds: float = 1.0  # at most one stats line / progress event per this many seconds
    resume: str = ""  # run folder (or checkpoint) to continue; set by --resume
    # A new run that starts from another run's weights (a run folder or checkpoint; set by
    # --init-from): its generator and moving average, which must have this run's shape, and its
    # critic wherever names and shapes match (a critic added since, such as a wide critic, starts
    # fresh). Optimizers, the step and the random streams start fresh. Staged training: blades
    # drawn with the 32 px critic first, then the wide critic for the large structure
    # (docs/training.md).
    init_from: str = ""
    # What a diverged run does (trainer/health.py finds it: exploding losses, saturated or
    # seed-independent output): warn (say so, train on) or stop (go back to the last healthy
    # weights, checked every few seconds, and export those). One process only.
    on_divergence: str = "warn"

    def __post_init__(self) -> None:
        self.augment = augment_mode(self.augment)

    def net_spec(self, num_classes: int = 0) -> NetSpec:
        """The network arguments; `num_classes` comes from the data when conditional."""
        norm = self.critic_norm
        if norm == "auto":
            norm = "none" if self.algorithm == "wgan-gp" else "batch"
        return NetSpec(
            family=self.architecture,
            channels=self.channels,
            latent_size=self.latent_size + (noise_channels(self.upsamples) if self.pixel_noise else 0),
            resolution=self.crop,
            num_classes=num_classes if self.conditional else 0,
            embed_dim=self.embed_dim,
            critic_norm=norm,
            critic_dropout=self.critic_dropout,
            g_width=self.g_width,
            d_width=self.d_width,
            upsamples=self.upsamples,
            upsample_blur=self.upsample_blur,
            blur_last=self.blur_last,
            class_affine=self.class_affine,
            projection=self.projection,
            coarse_field=self.coarse_field,
            cell_convs=self.cell_convs,
            pixel_noise=self.pixel_noise,
            global_channels=self.global_channels,
        )

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
_TYPES = typing.get_type_hints(TrainConfig)


def check_config(cfg: TrainConfig) -> None:
    """Raise RequestError naming every bad value and the fix."""
    problems = []

    def choice(name: str, options: tuple[str, ...]) -> None:
        if getattr(cfg, name) not in options:
            problems.append(f"{name} {getattr(cfg, name)!r} is not one of {', '.join(options)}")

    choice("algorithm", ALGORITHMS)
    choice("architecture", FAMILIES)
    choice("kind", KINDS)
    choice("optimizer", OPTIMIZERS)
    choice("device", DEVICES)
    choice("amp", AMP_MODES)
    choice("on_divergence", ("warn", "stop"))
    choice("critic_norm", ("auto",) + CRITIC_NORMS)
    choice("projection", PROJECTIONS)
    try:
        parse_augment(cfg.augment)  # the class names it gives are checked against the data later
    except RequestError as e:
        problems.append(f"{e.problem} ({e.fix})")
    if not cfg.data and not cfg.resume:
        problems.append("no training data given (--data a folder, a DEM file or cifar100:CLASS)")
    if cfg.kind == "heightmap" and cfg.channels != 1:
        problems.append("a heightmap has 1 channel (use --set channels=1, or --kind heightmap sets it)")
    for name in ("batch", "n_critic", "eval_samples", "crops_per_image"):
        if getattr(cfg, name) < 1:
            problems.append(f"{name} is {getattr(cfg, name)}, expected at least 1")
    for name in ("sample_every", "checkpoint_every", "eval_every", "threads", "spatial_margin", "ema_halflife", "seed"):
        if getattr(cfg, name) < 0:
            problems.append(f"{name} is {getattr(cfg, name)}, expected 0 or more")
    try:
        parse_policy(cfg.diffaug)
    except ValueError as e:
        problems.append(f"diffaug {cfg.diffaug!r}: {e} (use a comma list of {', '.join(POLICIES)}, or empty)")
    if cfg.steps is None and cfg.minutes is None:
        problems.append("neither steps nor minutes is set: give --steps or --minutes")
    if cfg.steps is not None and cfg.steps < 1:
        problems.append(f"steps is {cfg.steps}, expected at least 1")
    if cfg.minutes is not None and cfg.minutes <= 0:
        problems.append(f"minutes is {cfg.minutes}, expected more than 0")
    for name in ("lr_g", "lr_d", "scale", "clip"):
        if getattr(cfg, name) <= 0:
            problems.append(f"{name} is {getattr(cfg, name)}, expected more than 0")
    if cfg.crops_per_image > 1 and cfg.architecture != "spatial":
        problems.append("crops_per_image is for the spatial architecture (leave it at 1)")
    if cfg.crops_per_image > cfg.batch:
        problems.append(
            f"crops_per_image {cfg.crops_per_image} is more than the batch {cfg.batch} (use at most the batch)"
        )
    if cfg.wide_critic not in (1, 2, 4):
        problems.append(f"wide_critic is {cfg.wide_critic}, expected 1 (none), 2 or 4")
    elif cfg.wide_shrink not in ("box", "blur"):
        problems.append(f"wide_shrink is {cfg.wide_shrink!r}, expected box or blur")
    elif cfg.wide_critic > 1 and cfg.architecture != "spatial":
        problems.append("wide_critic is for the spatial architecture (leave it at 1)")
    elif cfg.wide_critic > 1:
        if not 0 <= cfg.wide_reach <= cfg.upsamples:
            problems.append(
                f"wide_reach {cfg.wide_reach} is not between 0 (every layer) and {cfg.upsamples} "
                "(the stem and all but the last upsampling block)"
            )
        cell = 2**cfg.upsamples
        torus = (-(-cfg.crop // cell) + cfg.spatial_margin) * cell
        wide = cfg.crop * cfg.wide_critic
        if torus < wide:
            margin = -(-wide // cell) - -(-cfg.crop // cell)
            problems.append(
                f"wide_critic {cfg.wide_critic} sees {wide} px crops but the generated training images are "
                f"{torus} px (raise spatial_margin to at least {margin}, a few more to vary the crops)"
            )
    if cfg.wide_reach and cfg.wide_critic == 1:
        problems.append(
            "wide_reach limits a wide critic, and there is none (set wide_critic=2 or 4, or leave wide_reach at 0)"
        )
    if not 0 < cfg.wide_weight < float("inf"):
        problems.append(f"wide_weight is {cfg.wide_weight}, expected a positive weight such as 0.5 (1: the default)")
    elif cfg.wide_weight != 1 and cfg.wide_critic == 1:
        problems.append(
            "wide_weight weighs a wide critic, and there is none (set wide_critic=2 or 4, or leave wide_weight at 1)"
        )
    for name in ("patch_swd", "spectral"):  # the generator's extra losses
        weight = getattr(cfg, name)
        if not weight >= 0 or weight == float("inf"):
            problems.append(f"{name} is {weight}, expected 0 (off) or a positive weight such as 1")
    if not cfg.blur_last and not cfg.upsample_blur:
        problems.append("blur_last=false changes the upsampling blur, which is off (set upsample_blur=true too)")
    if cfg.class_affine and not cfg.conditional:
        problems.append("class_affine needs classes (train with --conditional, or leave class_affine off)")
    if cfg.projection != "sum" and not cfg.conditional:
        problems.append(
            f"projection {cfg.projection} needs classes (train with --conditional, or leave projection sum)"
        )
    if cfg.algorithm == "wgan-gp" and cfg.critic_norm == "batch":
        problems.append("wgan-gp with a BatchNorm critic breaks the per-sample penalty (use critic_norm none)")
    if cfg.architecture in FAMILIES and cfg.critic_norm in ("auto",) + CRITIC_NORMS:
        problems += cfg.net_spec().problems()
    if problems:
        raise RequestError(
            "bad training settings: " + "; ".join(problems),
            "change the settings named (run with --dry-run to see them all)",
        )


def _parse(name: str, text: str) -> Any:
    t = _TYPES[name]
    optional = typing.get_origin(t) in (typing.Union, getattr(__import__("types"), "UnionType", None))
    if optional:
        if text.strip().lower() in ("none", "null", ""):
            return None
        t = next(a for a in typing.get_args(t) if a is not type(None))
    if t is bool:
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if t is int:
        return int(text)
    if t is float:
        return float(text)
    return text


def _type_name(t: Any) -> str:
    names = {bool: "a true/false", int: "an integer", float: "a number", str: "a text"}
    args = [a for a in typing.get_args(t) if a is not type(None)]
    if args:
        return (
            names.get(args[0], str(t))
            .replace("a number", "a number or none")
            .replace("an integer", "an integer or none")
        )
    return names.get(t, str(t))


def apply_overrides(cfg: TrainConfig, pairs: list[str]) -> TrainConfig:
    """`key=value` strings applied to a copy of `cfg`, each value typed by its field."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise RequestError(f"--set {pair!r} is not key=value", "write it as --set key=value, e.g. --set lr_g=2e-4")
        if key not in FIELDS:
            raise RequestError(
                f"--set {key!r} is not a setting",
                "use one of: " + ", ".join(FIELDS),
            )
        try:
            changes[key] = _parse(key, text)
        except ValueError:
            kind = _type_name(_TYPES[key])
            raise RequestError(f"--set {key}={text!r} is not {kind}", f"give {key} {kind} value") from None
    return dataclasses.replace(cfg, **changes)


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """A TrainConfig from JSON (config.json, a checkpoint); unknown keys are ignored."""
    return TrainConfig(**{k: v for k, v in values.items() if k in FIELDS})


def load_config(path: Path) -> TrainConfig:
    return config_from_dict(json.loads(Path(path).read_text()))
