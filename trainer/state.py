"""TrainingState: the networks, optimizers and random streams of one run, and one training step.

`train_step` is one generator iteration: `n_critic` critic steps, then ONE generator step
(the course's printed WGAN loop updated the generator inside the critic loop: not copied).
`train()` in loop.py drives it; the benchmark times it directly.
"""

from __future__ import annotations

import contextlib
import copy
import os
import random
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from texgen.errors import RequestError
from trainer import losses
from trainer.config import TrainConfig
from trainer.diffaug import diff_augment
from trainer.distributed import Dist, gather
from trainer.feed import BatchFeed
from trainer.networks import NetSpec, build_critic, build_generator
from trainer.networks.spatial import TwoScaleCritic
from trainer.recipes import reproduce_command


def spatial_latents(
    spec: NetSpec, n: int, cells: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
) -> torch.Tensor:
    """`n` latent grids of `cells` x `cells`, standard normal, but for the first
    `spec.global_channels` channels: one draw per image, the same in every cell (as
    texgen.latents.latent_for_seed draws them for the exported model)."""
    z = torch.randn(n, spec.latent_size, cells, cells, device=device, generator=generator)
    g = spec.global_channels
    if g:
        whole = torch.randn(n, g, 1, 1, device=device, generator=generator)
        z = torch.cat([whole.expand(n, g, cells, cells), z[:, g:]], dim=1)
    return z


def pick_device(name: str, d: Dist) -> torch.device:
    """`auto`: CUDA when torch sees a GPU, else Apple's GPU (MPS) when there is one, else the
    CPU. Under torchrun: this rank's GPU (CUDA or the CPU only: the processes talk over NCCL or
    gloo, and gloo takes no MPS tensors)."""
    if name == "cuda" and not torch.cuda.is_available():
        raise RequestError(
            "--device cuda was asked for but torch sees no CUDA GPU",
            "use --device cpu (or auto), or install a CUDA build of torch and its driver",
        )
    if name == "mps" and not _mps_available():
        raise RequestError(
            "--device mps needs an Apple-silicon Mac with PyTorch's MPS backend, and this machine has none",
            "use --device cpu (or auto)",
        )
    if name == "mps" and d.active:
        raise RequestError(
            "--device mps trains in one process, not under torchrun", "run texgen train without torchrun"
        )
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps" or (name == "auto" and not torch.cuda.is_available() and not d.active and _mps_available()):
        return torch.device("mps")
    if not torch.cuda.is_available():
        return torch.device("cpu")
    index = d.local_rank if d.active else torch.cuda.current_device()
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def pick_amp(mode: str, device: torch.device) -> torch.dtype | None:
    """Mixed precision on CUDA only (MPS and the CPU train in float32). `auto` is float32: on an H200 the course's networks ran
    1.34x faster without bf16 autocast (32.4 against 24.2 it/s, docs/gpu-runs.md, job 3): networks
    this small wait on kernel launches, and every cast is one more. `bf16` asks for it where
    the GPU computes it natively (Ampere and later; no loss scaling needed), else float32: older
    GPUs only emulate bf16, more slowly than float32, and torch's own check counts emulation
    unless told not to. `fp16` uses loss scaling."""
    if device.type != "cuda" or mode in ("off", "auto"):
        return None
    if mode == "fp16":
        return torch.float16
    if _native_bf16():
        return torch.bfloat16
    return None


def _native_bf16() -> bool:
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch before 2.4 counts no emulation, and has no such argument
        return torch.cuda.is_bf16_supported()


def set_threads(cfg: TrainConfig, device: torch.device, d: Dist) -> None:
    if device.type != "cpu":
        return
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    elif d.active:  # processes share the cores
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // d.world))


@dataclass
class TrainingState:
    cfg: TrainConfig
    spec: NetSpec
    device: torch.device
    dist: Dist
    G: nn.Module  # plain modules: sampling, export, checkpoints
    D: nn.Module
    G_train: nn.Module  # DDP-wrapped under torchrun, else the same modules
    D_train: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    feed: BatchFeed
    wide_feed: BatchFeed | None  # real crops for the wide critic (cfg.wide_critic > 1), else None
    rng: np.random.Generator  # host-side randomness: data picks, crop offsets
    amp_dtype: torch.dtype | None
    scaler_g: torch.amp.GradScaler | None
    scaler_d: torch.amp.GradScaler | None
    batch: int  # per process
    num_classes: int
    G_ema: nn.Module | None = None  # moving average of G (cfg.ema_halflife > 0): what is sampled
    step: int = 0
    channels_last: bool = False
    _params_d: list[torch.Tensor] = field(default_factory=list)
    # cfg.wide_reach > 0: the generator's parameters that the wide critic's loss trains (the
    # first wide_reach stages); empty: it trains them all, as the first critic's does
    wide_params: list[torch.Tensor] = field(default_factory=list)
    _ema_stats_step: int = -1  # the step at which G_ema's BatchNorm statistics were last measured
    # cfg.init_from: the run this one started from, and the steps and seconds of training its
    # weights had had by then, all earlier stages together, and those stages' commands
    # ({"path", "steps", "elapsed_s", "commands"})
    origin: dict | None = None
    # cfg.spectral > 0: the real crops' mean power spectrum, a moving average over steps (not in
    # checkpoints: a resumed run measures it again from its first batches)
    real_power: torch.Tensor | None = None

    # -- latents ------------------------------------------------------------------------
    @property
    def steps_before(self) -> int:
        """Generator steps the weights had before this run's first (0 unless it started from
        another run's), so the moving average's half-life is not cut back as for fresh weights."""
        return int(self.origin["steps"]) if self.origin else 0

    @property
    def train_cells(self) -> int:
        """Spatial: latent cells per side while training (crop plus a margin to crop from)."""
        s = self.spec.pixels_per_cell
        return -(-self.cfg.crop // s) + self.cfg.spatial_margin

    def latents(self, n: int, cells: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` latents of the training shape, from `generator` (default: torch's global stream)."""
        if self.spec.spatial:
            return spatial_latents(self.spec, n, cells or self.train_cells, self.device, generator)
        return torch.randn(n, self.spec.latent_size, device=self.device, generator=generator)

    def fake_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        return torch.randint(0, self.num_classes, (n,), device=self.device, generator=generator)

    def crop(self, images: torch.Tensor) -> torch.Tensor:
        """Spatial: a random crop of the periodic output, so no period is tied to the crop."""
        if not self.spec.spatial:
            return images
        size, c = images.shape[-1], self.cfg.crop
        oy, ox = (int(v) for v in self.rng.integers(0, size - c + 1, size=2))
        return images[:, :, oy : oy + c, ox : ox + c]

    def fakes(self, G: nn.Module, n: int, label: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`n` generated critic inputs and their classes. Spatial with crops_per_image k > 1:
        ceil(n / k) images (classes label[::k]), each cut into k crops at their own offsets, so
        a large training torus (a wide spatial_margin) costs no more generator pixels a step."""
        return self.fakes_and_wide(G, n, label)[:2]

    def fakes_and_wide(
        self, G: nn.Module, n: int, label: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """fakes(), and with a wide critic (cfg.wide_critic f > 1) `n` crops of f x crop px cut
        from the same images as the crops and in the same order (so they carry the same classes);
        else None."""
        k = self.cfg.crops_per_image
        if not self.spec.spatial:
            return G(self.latents(n), label), label, None
        wide = self.cfg.wide_critic
        if k <= 1 and wide <= 1:
            return self.crop(G(self.latents(n), label)), label, None
        m = -(-n // k)
        image_label = label[::k] if label is not None else None
        images = G(self.latents(m), image_label)
        crop_label = image_label.repeat_interleave(k)[:n] if image_label is not None else None
        return (
            self._cut(images, n, k, self.cfg.crop),
            crop_label,
            (self._cut(images, n, k, self.cfg.crop * wide) if wide > 1 else None),
        )

    def _cut(self, images: torch.Tensor, n: int, k: int, c: int) -> torch.Tensor:
        """`n` crops of side `c`: k from each of `images` in turn, each at its own offset."""
        offsets = self.rng.integers(0, images.shape[-1] - c + 1, size=(len(images) * k, 2))[:n]
        return torch.stack([images[i // k, :, oy : oy + c, ox : ox + c] for i, (oy, ox) in enumerate(offsets.tolist())])

    @property
    def G_sample(self) -> nn.Module:
        """The generator that is sampled, evaluated and exported: the moving average when there
        is one, with BatchNorm statistics measured for its own weights (see calibrate_batchnorm)."""
        if self.G_ema is None:
            return self.G
        if self._ema_stats_step != self.step:
            calibrate_batchnorm(self)
            self._ema_stats_step = self.step
        return self.G_ema

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)


def _optimizer(cfg: TrainConfig, params, lr: float, device: torch.device) -> torch.optim.Optimizer:
    if cfg.optimizer == "rmsprop":
        # Keras RMSprop defaults (rho 0.9, epsilon 1e-7), as the course's WGAN used them.
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)
    fused = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), **fused)


def make_state(cfg: TrainConfig, data, device: torch.device, d: Dist) -> TrainingState:
    """Networks (seeded), optimizers, data feed and random streams for `cfg` on `device`."""
    # 1. Networks: seeded identically on every rank (DDP also broadcasts rank 0's weights).
    num_classes = len(data.class_names) if cfg.conditional else 0
    spec = cfg.net_spec(num_classes)
    torch.manual_seed(cfg.seed)
    G, D = build_generator(spec), build_critic(spec)
    if cfg.wide_critic > 1:
        D = TwoScaleCritic(D, build_critic(spec), cfg.crop, cfg.wide_critic, cfg.wide_shrink)
    G, D = G.to(device), D.to(device)
    # Channels-last (NHWC) on CUDA and the CPU: cuDNN's and oneDNN's fast convolution paths use
    # it (measured on a 2-core CPU: a lanham-wgan-32 step 25 % faster than with NCHW). Not on
    # MPS, where channels-last convolutions and BatchNorm have given wrong results in several
    # torch releases (pytorch/pytorch#140902, #174345): NCHW there.
    channels_last = device.type != "mps"
    if channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    G.train(), D.train()
    # 2. Per-rank random streams: latents and dropout (torch), data picks (numpy).
    torch.manual_seed(cfg.seed * 1000 + d.rank + 1)
    random.seed(cfg.seed * 1000 + d.rank)
    rng = np.random.default_rng([cfg.seed, d.rank])
    if cfg.batch % d.world:
        raise RequestError(
            f"batch {cfg.batch} does not split over {d.world} processes",
            f"use a batch that is a multiple of {d.world}",
        )
    batch = cfg.batch // d.world
    feed = BatchFeed(
        data, crop=cfg.crop, batch=batch, augment=cfg.augment, device=device, rng=rng,
        channels_last=channels_last,
    )  # fmt: skip
    wide_feed = None
    if cfg.wide_critic > 1:
        _check_wide(cfg, data, d)
        wide_feed = BatchFeed(data, crop=cfg.crop * cfg.wide_critic, batch=batch, augment=cfg.augment, device=device,
                              rng=rng, channels_last=channels_last)  # fmt: skip
    G_train, D_train = G, D
    if d.active:
        ids = [device.index] if device.type == "cuda" else None
        G_train, D_train = DDP(G, device_ids=ids), DDP(D, device_ids=ids)
    amp = pick_amp(cfg.amp, device)
    fp16 = amp == torch.float16
    return TrainingState(
        cfg=cfg, spec=spec, device=device, dist=d, G=G, D=D, G_train=G_train, D_train=D_train,
        opt_g=_optimizer(cfg, G.parameters(), cfg.lr_g, device),
        opt_d=_optimizer(cfg, D.parameters(), cfg.lr_d, device),
        feed=feed, wide_feed=wide_feed, rng=rng, amp_dtype=amp,
        scaler_g=torch.amp.GradScaler("cuda") if fp16 else None,
        scaler_d=torch.amp.GradScaler("cuda") if fp16 else None,
        batch=batch, num_classes=num_classes, channels_last=channels_last,
        G_ema=copy.deepcopy(G).eval().requires_grad_(False) if cfg.ema_halflife > 0 else None,
        _params_d=list(D.parameters()),
        wide_params=G.stage_parameters(cfg.wide_reach) if cfg.wide_critic > 1 and cfg.wide_reach else [],
    )  # fmt: skip


def _check_wide(cfg: TrainConfig, data, d: Dist) -> None:
    """A wide critic needs data images that hold its crops, and one process."""
    side = cfg.crop * cfg.wide_critic
    small = [img.shape[1:] for img in data.images if min(img.shape[1:]) < side]
    if small:
        h, w = min(small, key=min)
        raise RequestError(
            f"wide_critic {cfg.wide_critic} cuts {side} px crops of the data, but {len(small)} of its images "
            f"are smaller at the training scale (the smallest {w}x{h} px)",
            "lower wide_critic or the crop, raise --scale, or leave out the small images",
        )
    if d.active:
        raise RequestError(
            "wide_critic runs in one process only (its two critics share one module, which DDP cannot split)",
            "train on one GPU, or leave wide_critic at 1",
        )


def _update(loss: torch.Tensor, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    opt.zero_grad(set_to_none=True)
    (loss if scaler is None else scaler.scale(loss)).backward()
    _step(opt, scaler)


def _step(opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    if scaler is None:
        opt.step()
    else:
        scaler.step(opt)
        scaler.update()


def _update_reaching(
    loss: torch.Tensor,
    partial: torch.Tensor,
    reach: list[torch.Tensor],
    opt: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
) -> None:
    """_update(loss + partial) with `partial`'s gradient kept to the parameters in `reach`:
    every other parameter is trained by `loss` alone (cfg.wide_reach). One more backward pass
    through the graph that `partial` shares with `loss`."""
    opt.zero_grad(set_to_none=True)
    scale = scaler.scale if scaler is not None else (lambda t: t)
    grads = torch.autograd.grad(scale(partial), reach, retain_graph=True, allow_unused=True)
    scale(loss).backward()
    for p, g in zip(reach, grads):
        if g is not None:
            p.grad = g if p.grad is None else p.grad + g
    _step(opt, scaler)


SPECTRUM_AVERAGE = 0.02  # weight of each step's real crops in the real spectrum (about 50 steps)


def train_step(s: TrainingState) -> dict[str, torch.Tensor]:
    """One generator iteration. Returns detached scalar losses (no host sync)."""
    cfg, n = s.cfg, s.batch
    wasserstein = cfg.algorithm != "dcgan"
    # With one critic step per generator step, the generator's forward pass is shared by both
    # updates (the usual DCGAN loop); with several, each critic step gets fresh fakes.
    reuse = cfg.n_critic == 1
    d_sum = torch.zeros((), device=s.device)
    w_sum = torch.zeros((), device=s.device)
    gp_sum = torch.zeros((), device=s.device)

    # 1. Critic steps (with a wide critic, its loss on the wide crops is added to the first's).
    for _ in range(cfg.n_critic):
        real, label = s.feed.next()
        label = label if s.num_classes else None  # fakes get the real batch's classes
        if reuse:
            with s.autocast():
                fake_g, fake_label, wide_g = s.fakes_and_wide(s.G_train, n, label)
            fake, wide_fake = fake_g.detach(), (wide_g.detach() if wide_g is not None else None)
        else:
            with torch.no_grad(), s.autocast():
                fake, fake_label, wide_fake = s.fakes_and_wide(s.G, n, label)
        pairs = [(real, label, fake)]
        if s.wide_feed is not None:
            wide_real, wide_label = s.wide_feed.next()
            pairs.append((wide_real, wide_label if s.num_classes else None, wide_fake))
        loss_d = torch.zeros((), device=s.device)
        for real_x, real_label, fake_x in pairs:
            if cfg.diffaug:
                real_x, fake_x = diff_augment(real_x, cfg.diffaug), diff_augment(fake_x, cfg.diffaug)
            with s.autocast():
                d_real = s.D_train(real_x, real_label).float()
                d_fake = s.D_train(fake_x, fake_label).float()
            if wasserstein:
                loss_d = loss_d + losses.wgan_d_loss(d_real, d_fake)
                w_sum += losses.wasserstein_estimate(d_real, d_fake).detach()
                if cfg.algorithm == "wgan-gp":
                    gp = losses.gradient_penalty(s.D_train, real_x, fake_x, real_label)
                    loss_d = loss_d + cfg.gp_lambda * gp
                    gp_sum += gp.detach()
            else:
                loss_d = loss_d + losses.dcgan_d_loss(
                    d_real, d_fake, smoothing=cfg.label_smoothing, noise=cfg.label_noise, flip=cfg.label_flip
                )
        _update(loss_d, s.opt_d, s.scaler_d)
        if cfg.algorithm == "wgan":
            losses.clip_weights(s.D, cfg.clip)
        d_sum += loss_d.detach()

    # 2. One generator step, through the plain critic (its weights frozen, no DDP sync).
    for p in s._params_d:
        p.requires_grad_(False)
    if not reuse:
        with s.autocast():
            fake_g, fake_label, wide_g = s.fakes_and_wide(s.G_train, n, s.fake_labels(n))
    loss_g = torch.zeros((), device=s.device)
    loss_wide = None  # the wide critic's part, when cfg.wide_reach keeps it to the first stages
    for i, fake in enumerate((fake_g, wide_g) if wide_g is not None else (fake_g,)):
        if cfg.diffaug:
            fake = diff_augment(fake, cfg.diffaug)
        with s.autocast():
            score = s.D(fake, fake_label).float()
        part = losses.wgan_g_loss(score) if wasserstein else losses.dcgan_g_loss(score)
        if i == 1 and cfg.wide_weight != 1:
            part = cfg.wide_weight * part
        if i == 1 and s.wide_params:
            loss_wide = part
        else:
            loss_g = loss_g + part
    # The extra losses read the widest crops of the step: the wide critic's when there is one.
    target, made = (wide_real, wide_g) if wide_g is not None else (real, fake_g)
    if cfg.patch_swd > 0:
        patch = losses.patch_swd(target, made)
        loss_g = loss_g + cfg.patch_swd * patch
    if cfg.spectral > 0:
        with torch.no_grad():
            power = losses.power_spectrum(target)
            s.real_power = power if s.real_power is None else torch.lerp(s.real_power, power, SPECTRUM_AVERAGE)
        spectral = losses.spectral_loss(s.real_power, made)
        loss_g = loss_g + cfg.spectral * spectral
    if loss_wide is None:
        _update(loss_g, s.opt_g, s.scaler_g)
    else:
        _update_reaching(loss_g, loss_wide, s.wide_params, s.opt_g, s.scaler_g)
        loss_g = loss_g + loss_wide.detach()
    for p in s._params_d:
        p.requires_grad_(True)
    s.step += 1
    if s.G_ema is not None:
        update_ema(s)

    out = {"d": d_sum / cfg.n_critic, "g": loss_g.detach()}
    if cfg.patch_swd > 0:
        out["patch_swd"] = patch.detach()
    if cfg.spectral > 0:
        out["spectral"] = spectral.detach()
    if wasserstein:
        out["wasserstein"] = w_sum / cfg.n_critic
    if cfg.algorithm == "wgan-gp":
        out["gp"] = gp_sum / cfg.n_critic
    return out


@torch.no_grad()
def update_ema(s: TrainingState) -> None:
    """G_ema <- beta * G_ema + (1 - beta) * G; BatchNorm statistics copied as they are, to be
    measured again for the averaged weights before G_ema is used (TrainingState.G_sample)."""
    halflife = min(s.cfg.ema_halflife, max(1.0, 0.1 * (s.step + s.steps_before)))
    beta = 0.5 ** (1.0 / halflife)
    ema, live = list(s.G_ema.parameters()), list(s.G.parameters())
    torch._foreach_lerp_(ema, live, 1.0 - beta)
    for b_ema, b in zip(s.G_ema.buffers(), s.G.buffers()):
        b_ema.copy_(b)


CALIBRATION_LATENTS = 1024


@torch.no_grad()
def calibrate_batchnorm(s: TrainingState) -> None:
    """Measure G_ema's BatchNorm running statistics on its own outputs.

    The live generator's statistics (which update_ema copies) belong to other weights: an
    averaged generator normalised with them draws something else than it would with its own
    (Foster's generator at 150 steps: off by 0.09 on average, for outputs of spread 0.6). So its
    BatchNorm layers are reset and fed CALIBRATION_LATENTS latents in training mode, with a
    cumulative average (momentum None). The latents come from a generator of their own,
    seeded by the run's seed and step, so the training's random streams are untouched and a
    resumed run measures the same. Networks without BatchNorm (the spatial family) skip this.
    """
    G = s.G_ema
    norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    g = torch.Generator(device=s.device).manual_seed(s.cfg.seed * 1_000_003 + s.step)
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    G.train()
    try:
        for start in range(0, CALIBRATION_LATENTS, 64):
            n = min(64, CALIBRATION_LATENTS - start)
            G(s.latents(n, generator=g), s.fake_labels(n, generator=g))
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        G.eval()


# -- state for checkpoints ------------------------------------------------------------------


def _rng_state(s: TrainingState) -> dict:
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if s.device.type == "cuda" else [],
        "mps": torch.mps.get_rng_state() if s.device.type == "mps" else None,  # latents are drawn there
        "numpy": s.rng.bit_generator.state,
        "python": random.getstate(),
    }


def state_of(s: TrainingState) -> dict:
    """Everything that continues the run exactly (collective under torchrun: call on every rank)."""
    rngs = gather(_rng_state(s), s.dist)
    return {
        "step": s.step,
        "G": s.G.state_dict(),
        "D": s.D.state_dict(),
        "G_ema": s.G_sample.state_dict() if s.G_ema is not None else None,  # its BatchNorm measured
        "opt_g": s.opt_g.state_dict(),
        "opt_d": s.opt_d.state_dict(),
        "scaler_g": s.scaler_g.state_dict() if s.scaler_g else None,
        "scaler_d": s.scaler_d.state_dict() if s.scaler_d else None,
        "rng": rngs,  # one entry per rank
        "origin": s.origin,
    }


def restore_state(s: TrainingState, state: dict) -> None:
    s.step = int(state["step"])
    s.origin = state.get("origin")
    s.G.load_state_dict(state["G"])
    s.D.load_state_dict(state["D"])
    if s.G_ema is not None:
        s.G_ema.load_state_dict(state.get("G_ema") or state["G"])
    s.opt_g.load_state_dict(state["opt_g"])
    s.opt_d.load_state_dict(state["opt_d"])
    if s.scaler_g and state.get("scaler_g"):
        s.scaler_g.load_state_dict(state["scaler_g"])
        s.scaler_d.load_state_dict(state["scaler_d"])
    rngs = state["rng"]
    if len(rngs) == s.dist.world:  # else a different process count: streams start afresh
        r = rngs[s.dist.rank]
        torch.set_rng_state(r["torch"])
        if s.device.type == "cuda" and r["cuda"]:
            torch.cuda.set_rng_state_all(r["cuda"])
        if s.device.type == "mps" and r.get("mps") is not None:
            torch.mps.set_rng_state(r["mps"])
        s.rng.bit_generator.state = r["numpy"]
        random.setstate(r["python"])


# What a generator's weights mean besides their shapes: a run started from another run's weights
# (cfg.init_from) must have the same values for all of these.
GENERATOR_FIELDS = ("family", "channels", "latent_size", "num_classes", "embed_dim", "g_width", "upsamples",
                    "upsample_blur", "blur_last", "class_affine", "coarse_field", "pixel_noise", "cell_convs", "global_channels")  # fmt: skip


def start_from(s: TrainingState, source: dict) -> str:
    """Start a new run from another run's weights (cfg.init_from; `source` is its checkpoint):
    the generator and its moving average as they were (the two runs' generators must be built
    alike: RequestError naming what differs), the critic wherever a tensor of the same name and
    shape exists (a plain critic fills a TwoScaleCritic's `local` half, and the other way round),
    the rest as make_state drew it. Optimizers, the step and the random streams stay fresh; the
    moving average's half-life counts the source's steps (s.origin), as if it had gone on.
    Returns a line that says what was taken."""
    src_cfg: TrainConfig = source["config"]
    src_classes = len(source.get("data", {}).get("class_names") or []) if src_cfg.conditional else 0
    mine, theirs = s.spec, src_cfg.net_spec(src_classes)
    differ = [f"{f} {getattr(theirs, f)} there, {getattr(mine, f)} here" for f in GENERATOR_FIELDS
              if getattr(theirs, f) != getattr(mine, f)]  # fmt: skip
    if src_cfg.kind != s.cfg.kind:
        differ.insert(0, f"kind {src_cfg.kind} there, {s.cfg.kind} here")
    if differ:
        raise RequestError(
            f"init_from {source['path']}: its generator is built otherwise ({'; '.join(differ)})",
            "start from a run whose generator settings match this run's, or change this run's to match",
        )
    s.G.load_state_dict(source["G"])
    earlier = source.get("origin") or {"steps": 0, "elapsed_s": 0.0}
    s.origin = {
        "path": str(source["path"]),
        "steps": int(source["step"]) + int(earlier["steps"]),
        "elapsed_s": float(source.get("elapsed_s", 0.0)) + float(earlier["elapsed_s"]),
        # the commands of the earlier stages, first first, for the model card's Reproduce section
        "commands": [*earlier.get("commands", []), reproduce_command(src_cfg)],
    }
    if s.G_ema is not None:
        s.G_ema.load_state_dict(source.get("G_ema") or source["G"])
    theirs_d = source["D"]

    def counterpart(key: str) -> str:
        if isinstance(s.D, TwoScaleCritic) and not any(k.startswith("local.") for k in theirs_d):
            return key.removeprefix("local.") if key.startswith("local.") else ""
        if not isinstance(s.D, TwoScaleCritic) and any(k.startswith("local.") for k in theirs_d):
            return "local." + key
        return key

    critic = s.D.state_dict()
    taken = {
        k: theirs_d[c] for k, v in critic.items() if (c := counterpart(k)) in theirs_d and theirs_d[c].shape == v.shape
    }
    s.D.load_state_dict({**critic, **taken})
    fresh = len(critic) - len(taken)
    minutes = float(source.get("elapsed_s", 0.0)) / 60
    return (
        f"started from {source['path']} (step {source['step']}, {minutes:.3g} minutes): its generator"
        f"{' and moving average' if s.G_ema is not None else ''}, and {len(taken)} of the critic's {len(critic)} "
        f"tensors{f' ({fresh} start fresh)' if fresh else ''}; step, optimizers and random streams start anew"
    )
