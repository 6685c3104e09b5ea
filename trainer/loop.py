"""train(): check, resume, open the data, build the state and the run folder, then `_Run`
iterates (steps, evaluations, the log window and its health checks, samples, checkpoints) and
finishes (checkpoint, export); progress goes out through a callback.

Progress events (dicts passed to `on_progress`; the CLI prints them as JSON lines, see
trainer/cli.py): start, step, eval, sample, checkpoint, done. `should_stop` is polled once per
generator step; when it answers True the run checkpoints, evaluates, exports and returns.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from texgen.errors import RequestError, TexgenError
from trainer.checkpoint import BEST, LATEST, load_checkpoint, run_dir_of, save_checkpoint
from trainer.config import TrainConfig, check_config
from trainer.data.imagefile import IMAGE_SUFFIXES
from trainer.health import LossWatch, output_problems
from trainer.distributed import any_rank, any_ranks, broadcast, finish_distributed, init_distributed, same_weights
from texgen.atomic import write_atomic
from trainer.pictures import plot_stats, save_derived_maps, save_grid
from trainer.run_folder import StatsLog, make_run_dir, slug
from trainer.state import (TrainingState, spatial_latents, restore_state, make_state, pick_device, start_from, state_of, set_threads,
                           train_step)  # fmt: skip

# At the start, not at the end: a run outlives edits to the code (an update, a checkout), and
# its export must not fail on a module that changed under it.
from trainer.metrics import evaluate
from trainer.to_onnx import export_generator

Progress = Callable[[dict[str, Any]], None]

# Fields that may change when a run is resumed; anything else must match the checkpoint.
RESUMABLE = {"steps", "minutes", "device", "amp", "threads", "sample_every", "checkpoint_every", "on_divergence",
             "eval_every", "eval_samples", "log_seconds", "resume", "out", "name", "cache_dir", "download"}  # fmt: skip
SAMPLE_SEED = 20240601  # fixed latents for sample grids and metrics: the same images every time


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _resumed_config(cfg: TrainConfig, saved: TrainConfig) -> TrainConfig:
    changed = [
        f.name for f in dataclasses.fields(TrainConfig)
        if f.name not in RESUMABLE and getattr(cfg, f.name) != getattr(saved, f.name)
    ]  # fmt: skip
    if changed:
        raise RequestError(
            f"cannot change {', '.join(changed)} when resuming (the checkpoint was trained with other values)",
            "resume with only --steps, --minutes, --device or the intervals changed, or start a new run",
        )
    return cfg


def _open_data(cfg: TrainConfig, log: Callable[[str], None]):
    from trainer.data import open_dataset  # imported here: reading data pulls in image decoders  # noqa: PLC0415

    return open_dataset(
        cfg.data, kind=cfg.kind, channels=cfg.channels, crop=cfg.crop, scale=cfg.scale,
        classes=cfg.conditional, cache_dir=Path(cfg.cache_dir) if cfg.cache_dir else None,
        download=cfg.download, log=log,
    )  # fmt: skip


class _Samples:
    """Fixed latents for the sample grids and the metrics, drawn from their own generator so
    that sampling never disturbs the training streams (resume stays exact)."""

    def __init__(self, s: TrainingState, data, cfg: TrainConfig):
        self.s, self.data, self.cfg = s, data, cfg
        g = torch.Generator().manual_seed(SAMPLE_SEED)
        self.cells = cfg.crop // s.spec.pixels_per_cell if s.spec.spatial else None
        k = s.num_classes
        if k:  # rows: classes (at most 8), columns: the same 8 latents
            rows = min(k, 8)
            z = self._z(8, g).repeat(rows, *[1] * (3 if self.cells else 1))
            self.grid_labels = torch.arange(rows).repeat_interleave(8)
        else:
            z = self._z(32 if cfg.crop <= 64 else 16, g)
            self.grid_labels = None
        self.grid_z = z
        # Spatial: the metrics' samples are twice the crop's cells a side, and SWD and
        # memorisation read a crop-sized window of them. An output of n cells tiles with a period
        # of n cells, so crop-sized outputs (2 to 4 cells) would be scored on that tiny period,
        # not on the texture users generate at 256 px and up (a gravel model read SWD 41 from its
        # 32 px outputs, 21 from windows of larger ones).
        self.eval_z = self._z(cfg.eval_samples, g, 2 * self.cells if self.cells else None)
        self.eval_labels = torch.arange(cfg.eval_samples) % k if k else None
        self._real: np.ndarray | None = None

    def _z(self, n: int, g: torch.Generator, cells: int | None = None) -> torch.Tensor:
        cells = cells or self.cells
        if cells:
            return spatial_latents(self.s.spec, n, cells, generator=g)
        return torch.randn((n, self.s.spec.latent_size), generator=g)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None) -> np.ndarray:
        G, dev, out = self.s.G_sample, self.s.device, []
        was_training = G.training
        G.eval()
        try:
            for i in range(0, len(z), self.s.batch):
                y = labels[i : i + self.s.batch].to(dev) if labels is not None else None
                out.append(G(z[i : i + self.s.batch].to(dev), y).float().cpu().numpy())
        finally:
            G.train(was_training)
        return np.concatenate(out)

    def real(self) -> np.ndarray:
        if self._real is None:
            rng = np.random.default_rng([self.cfg.seed, 7])
            self._real, _ = self.data.batch(rng, self.cfg.eval_samples, self.cfg.crop, augment=False)
        return self._real

    def evaluate(self) -> dict[str, float]:
        """SWD and memorisation against training crops; spatial: the seam score of whole outputs."""
        fake = self.generate(self.eval_z, self.eval_labels)
        if not self.cells:
            return evaluate(self.real(), fake, tileable=False, seed=0)
        c = self.cfg.crop
        window = fake[:, :, c // 2 : c // 2 + c, c // 2 : c // 2 + c]  # across the cells' joins
        return evaluate(
            self.real(), window, tileable=True, seed=0, period=self.s.spec.pixels_per_cell, seam_images=fake
        )


def train(
    cfg: TrainConfig,
    on_progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Path:
    """Train a GAN as `cfg` says; returns the run folder (with generator.onnx at the end)."""
    # 1. Check the settings, join torchrun's process group if launched by it, pick the device.
    check_config(cfg)
    dist = init_distributed("cuda" if cfg.device != "cpu" and torch.cuda.is_available() else "cpu")
    try:
        return _train(
            cfg, dist, on_progress if dist.main else None, should_stop if should_stop is not None else (lambda: False)
        )
    finally:
        finish_distributed(dist)


def _train(cfg: TrainConfig, dist, emit: Progress | None, should_stop: Callable[[], bool]) -> Path:
    if cfg.on_divergence == "stop" and dist.active:
        raise RequestError(
            "on_divergence=stop keeps the last healthy weights of one process, not of several",
            "leave on_divergence at warn under torchrun, or train in one process",
        )
    device = _start_device(cfg, dist)
    cfg, ckpt = _resume(cfg)
    source = _init_source(cfg, ckpt)
    # Open the data before making any folder: a bad data spec leaves nothing behind.
    data = _open_data(cfg, _stderr if dist.main else (lambda m: None))
    if cfg.kind == "material":  # the networks make every map the data holds, channels stacked
        if ckpt is not None and cfg.channels != data.channels:
            raise RequestError(
                f"the run was trained on {cfg.channels} material channels, the data now gives {data.channels} "
                f"({', '.join(data.channel_names)})",
                "resume with the same data, or start a new run",
            )
        cfg = dataclasses.replace(cfg, channels=data.channels)
    if cfg.conditional and len(data.class_names) < 2:
        raise RequestError(
            f"conditional training needs at least 2 classes, {cfg.data!r} gives {len(data.class_names)}",
            "use a folder with one sub-folder per class, or list several CIFAR-100 classes (cifar100:forest,sea)",
        )
    # Networks, optimizers and random streams; the saved state when resuming.
    s = make_state(cfg, data, device, dist)
    if ckpt is not None:
        restore_state(s, ckpt)
    started = start_from(s, source) if source is not None else None
    run = _Run(
        cfg,
        dist,
        emit if emit is not None else (lambda event: None),
        should_stop,
        s,
        data,
        ckpt,
        _run_folder(cfg, ckpt, s, dist, data),
    )
    if started and dist.main:
        _stderr("note: " + started)
        run.emit({"event": "note", "step": s.step, "message": started})
    while not run.iteration():
        pass
    return run.finish()


def _start_device(cfg: TrainConfig, dist) -> torch.device:
    device = pick_device(cfg.device, dist)
    set_threads(cfg, device, dist)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return device


def _resume(cfg: TrainConfig) -> tuple[TrainConfig, dict | None]:
    """(the run's settings, its checkpoint): the checkpoint's settings with only run-control
    fields changed, and a refusal where the budget asked for is already spent."""
    if not cfg.resume:
        return cfg, None
    ckpt = load_checkpoint(cfg.resume, "cpu")
    cfg = _resumed_config(cfg, dataclasses.replace(ckpt["config"], **{k: getattr(cfg, k) for k in RESUMABLE}))
    ran = float(ckpt.get("elapsed_s", 0.0)) / 60
    if cfg.steps is not None and cfg.steps <= ckpt["step"]:
        raise RequestError(
            f"the run is already at step {ckpt['step']} of {cfg.steps}",
            f"resume with --steps larger than {ckpt['step']}, or --minutes alone larger than the {ran:.3g} it has run",
        )
    if cfg.minutes is not None and cfg.minutes <= ran:
        raise RequestError(
            f"the run has already trained {ran:.3g} minutes of its {cfg.minutes:g}-minute budget",
            f"resume with --minutes larger than {ran:.3g} (the budget counts from the run's start), or --steps",
        )
    return cfg, ckpt


def _init_source(cfg: TrainConfig, ckpt: dict | None) -> dict | None:
    """The checkpoint a new run starts from (cfg.init_from), read before any folder is made; a
    resumed run continues its own weights, whatever it once started from."""
    if not cfg.init_from or ckpt is not None:
        return None
    return load_checkpoint(cfg.init_from, "cpu")


def _run_folder(cfg: TrainConfig, ckpt: dict | None, s: TrainingState, dist, data) -> Path:
    """The run folder: rank 0 makes it (or finds the resumed one) and writes config.json; the
    other ranks learn its name. A resumed run's stats lose the lines written after its
    checkpoint (a crash)."""
    run_dir = None
    if dist.main:
        if ckpt is not None:
            run_dir = run_dir_of(ckpt["path"])
        else:
            source = Path(cfg.data)  # one photo: its stem (a run "wall", not "wall.png")
            label = source.stem if source.suffix.lower() in IMAGE_SUFFIXES else source.name
            run_dir = make_run_dir(Path(cfg.out), cfg.name or f"{cfg.preset}-{slug(label or cfg.data)}")
        write_atomic(run_dir / "config.json", cfg.to_json().encode(), export_errors=False)
    run_dir = Path(broadcast(str(run_dir) if run_dir else "", dist))
    if dist.main and ckpt is None and data.derived_maps:
        paths = save_derived_maps(data.derived_maps, run_dir / "derived-maps")
        _stderr(f"note: height, roughness and AO derived from colour (heuristics, docs/materials.md); "
                f"look at them in {paths[0].parent} ({len(paths)} files)")  # fmt: skip
    if dist.main and ckpt is not None:
        stats = StatsLog(run_dir)
        kept = [r for r in stats.read() if r.get("step", 0) <= s.step]
        write_atomic(stats.path, "".join(json.dumps(r) + "\n" for r in kept).encode(), export_errors=False)
    return run_dir


class _Run:
    """One run's schedule and reporter: an iteration is n_critic critic steps and one generator
    step, then whatever falls due (evaluation, the log window and its health checks, sample
    grids, checkpoints); `finish` checkpoints, exports and says how it went.

    State kept between iterations: the losses summed over the log window, the best evaluation
    (its weights kept as checkpoints/best.pt: a GAN can read worse the longer it trains), the
    health watch (trainer/health.py: fixed latents whose outputs are checked, the losses'
    running level, what was said already) and, with on_divergence=stop, the last weights found
    healthy."""

    def __init__(self, cfg: TrainConfig, dist, emit: Progress, should_stop: Callable[[], bool], s: TrainingState,
                 data, ckpt: dict | None, run_dir: Path):  # fmt: skip
        self.cfg, self.dist, self.emit, self.should_stop, self.s = cfg, dist, emit, should_stop, s
        self.ckpt, self.run_dir, self.device = ckpt, run_dir, s.device
        self.stats = StatsLog(run_dir)
        self.samples = _Samples(s, data, cfg)
        self.data_facts = {"description": data.description, "license": data.license,
                           "class_names": list(data.class_names), "skipped": len(data.skipped),
                           "channel_names": list(data.channel_names)}  # fmt: skip
        emit({"event": "start", "run_dir": str(run_dir), "total_steps": cfg.steps, "minutes": cfg.minutes,
              "config": dataclasses.asdict(cfg)})  # fmt: skip
        self.best: dict[str, float] = dict(ckpt.get("best", {})) if ckpt else {}  # main rank only
        self.metrics: dict[str, float] = dict(ckpt.get("metrics", {})) if ckpt else {}
        self.latest_step = int(ckpt["step"]) if ckpt is not None else None  # the step latest.pt holds
        self.elapsed_before = float(ckpt.get("elapsed_s", 0.0)) if ckpt else 0.0
        self.elapsed = self.elapsed_before
        self.start_step, self.t0 = s.step, time.perf_counter()
        self.last_log_t, self.last_log_step = self.t0, s.step
        self.sums: dict[str, torch.Tensor] = {}
        self.stopped_early = False
        health_g = torch.Generator().manual_seed(SAMPLE_SEED + 1)
        count = max(8, 2 * s.num_classes)  # two of each class at least: collapse is read within a class
        self.health_z = self.samples._z(count, health_g)
        self.health_labels = torch.arange(count) % s.num_classes if s.num_classes else None
        self.watch, self.said, self.diverged = LossWatch(), set(), []
        self.snapshot = _snapshot(s) if cfg.on_divergence == "stop" else None
        self.last_health_t = self.t0
        self.next_health_step = self.start_step + HEALTH_WARMUP
        self.reverted_from: int | None = None
        self.untrained: str | None = None  # why the exported weights are the untrained ones, if they are

    def checkpoint(self, name: str = LATEST, health: dict | None = None) -> Path:
        s, dist = self.s, self.dist
        state = state_of(s)  # collective: every rank gives its random streams
        path = self.run_dir / "checkpoints" / name
        if dist.main:
            save_checkpoint(path, self.cfg, state, data=self.data_facts, metrics=self.metrics or {}, best=self.best,
                            elapsed_s=self.elapsed, device=_device_name(self.device, dist), health=health)  # fmt: skip
            if name == LATEST:
                self.latest_step = s.step
            self.emit({"event": "checkpoint", "step": s.step, "path": str(path)})
        return path

    def warn(self, message: str) -> None:
        kind = message.split(" at step")[0]
        if self.dist.main and kind not in self.said:
            self.said.add(kind)
            if kind.startswith("training diverged"):
                self.diverged.append(message)
            _stderr("warning: " + message)
            self.emit({"event": "warning", "step": self.s.step, "message": message})

    def _step(self) -> None:
        """One training step, its losses added to the window's; a GPU's failures in one line."""
        s = self.s
        try:
            losses = train_step(s)
        except torch.cuda.OutOfMemoryError:  # torch.OutOfMemoryError from torch 2.5 on, the same class
            raise TexgenError(*_out_of_memory(self.cfg, s.step + 1, self.device)) from None
        except RuntimeError as exc:
            if "MPS backend out of memory" in str(exc):  # MPS raises no OutOfMemoryError of its own
                raise TexgenError(*_out_of_memory(self.cfg, s.step + 1, self.device)) from None
            if not gpu_failed(exc):
                raise
            raise TexgenError(*_gpu_lost(exc, s.step + 1, self.run_dir, self.latest_step)) from None
        for k, v in losses.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v

    def iteration(self) -> bool:
        """One step and what falls due after it; True when the run is over."""
        cfg, dist, s = self.cfg, self.dist, self.s
        self._step()
        now = time.perf_counter()
        self.elapsed = self.elapsed_before + now - self.t0
        # Agreed by every rank: a stop request reaches one process first (the stdin line
        # reaches rank 0 alone), and a rank that checkpointed alone would wait for the others
        # in a collective call they never make.
        out_of_time = cfg.minutes is not None and self.elapsed >= cfg.minutes * 60
        user_stop, out_of_time = any_ranks([self.should_stop(), out_of_time], dist, self.device)
        self.stopped_early = user_stop
        last = user_stop or out_of_time or (cfg.steps is not None and s.step >= cfg.steps)
        do_eval = bool(last or (cfg.eval_every and s.step % cfg.eval_every == 0))

        if last and self.stopped_early:  # the weights are safe before a slow final evaluation
            self.checkpoint()
        if do_eval:
            self._evaluate()
        health_due = self.snapshot is not None and s.step >= self.next_health_step
        if dist.main and (last or do_eval or now - self.last_log_t >= cfg.log_seconds or s.step == self.start_step + 1
                          or health_due):  # fmt: skip
            last = self._report(now, do_eval, last)
        if self.reverted_from is not None and s.step == self.reverted_from:
            self._go_back()
        if dist.main and (last or (cfg.sample_every and s.step % cfg.sample_every == 0)):
            self._sample(last)
        if not last and cfg.checkpoint_every and s.step % cfg.checkpoint_every == 0:
            self.checkpoint()
        return last

    def _evaluate(self) -> None:
        """The metrics (main rank); the weights kept as best.pt when they read the lowest SWD yet."""
        dist = self.dist
        if dist.main:
            try:
                self.metrics = self.samples.evaluate()
            except ValueError:  # non-finite outputs: the losses' check (_report) says what happened
                self.metrics = {}
        if any_rank(dist.main and self.metrics.get("swd", np.inf) < self.best.get("swd", np.inf), dist, self.device):
            if dist.main:
                self.best = {"step": self.s.step, "swd": self.metrics["swd"]}
            self.checkpoint(BEST)

    def _report(self, now: float, do_eval: bool, last: bool) -> bool:
        """The log window (main rank): average losses, health checks, the stats line and the
        step event. Returns `last`, made True where a divergence is to be reverted."""
        cfg, s = self.cfg, self.s
        n = s.step - self.last_log_step
        avg = {k: float(v) / n for k, v in zip(self.sums, torch.stack(list(self.sums.values())).tolist())}
        finite = all(np.isfinite(list(avg.values())))
        if (
            s.amp_dtype is not None
            and not self.dist.active
            and (not finite or _scale_collapsed(s))
            and _weights_finite(s)
        ):
            # Mixed precision overflowed (a non-finite loss in bf16, or fp16's loss scale
            # driven to nothing) while the weights are still whole: go on in float32.
            message = (f"mixed precision ({'fp16' if s.amp_dtype == torch.float16 else 'bf16'}) overflowed at step "
                       f"{s.step}; training goes on in float32 (--set amp=off starts a run so)")  # fmt: skip
            s.amp_dtype, s.scaler_g, s.scaler_d = None, None, None
            _stderr("note: " + message)
            self.emit({"event": "note", "step": s.step, "message": message})
            avg = {k: (v if np.isfinite(v) else None) for k, v in avg.items()}
            finite = None  # this window's losses tell nothing of the float32 run
        if finite is False and self.snapshot is None:
            gone = ""
            if self.ckpt is None and _remove_if_no_checkpoint(self.run_dir):
                gone = f"; no checkpoint had been written, so its run folder {self.run_dir.name} was removed"
            raise TexgenError(
                f"training diverged: a loss is not finite at step {s.step} ({avg}){gone}",
                "lower the learning rates (--set lr_g=... lr_d=...) or use a wgan-gp preset",
            )
        problem = (self.watch.check(avg, s.step) if finite else None if finite is None
                   else f"training diverged at step {s.step}: a loss is not finite")  # fmt: skip
        # The outputs, every HEALTH_SECONDS and at the end, once the first HEALTH_WARMUP steps
        # are made (an untrained generator's outputs can be near flat: that is no collapse).
        # With on_divergence=stop also at doubling step counts (10, 20, 40, ...): a run that
        # breaks within its first seconds still has healthy weights to go back to.
        due = now - self.last_health_t >= HEALTH_SECONDS or last
        due = due or (self.snapshot is not None and s.step >= self.next_health_step)
        if problem is None and s.step - self.start_step >= HEALTH_WARMUP and due:
            self.last_health_t = now
            self.next_health_step = self.start_step + 2 * (s.step - self.start_step)
            found = _output_problems(
                self.samples.generate(self.health_z, self.health_labels), s.step, self.health_labels, s.cfg
            )
            problem = found[0] if found else None
            if not found and self.snapshot is not None:
                self.snapshot = _snapshot(s)
        if problem is not None:
            self.warn(problem)
            if self.snapshot is not None:
                self.reverted_from, last, self.stopped_early = s.step, True, True
        window = max(now - self.last_log_t, 1e-9)
        rate = (s.step - self.start_step) / max(now - self.t0, 1e-9)
        eta = _eta(cfg, s.step, rate, self.elapsed)
        images_per_s = n * cfg.n_critic * cfg.batch / window
        record = {"step": s.step, "elapsed_s": round(self.elapsed, 3), "losses": avg,
                  "images_per_s": round(images_per_s, 2), "steps_per_s": round(n / window, 4)}  # fmt: skip
        if do_eval:
            record["metrics"] = self.metrics
        self.stats.write(record)
        self.emit({"event": "step", "step": s.step, "total_steps": cfg.steps, "elapsed_s": round(self.elapsed, 3),
                   "eta_s": None if eta is None else round(eta, 1), "images_per_s": round(images_per_s, 2),
                   "losses": avg})  # fmt: skip
        if do_eval:
            self.emit({"event": "eval", "step": s.step, "metrics": self.metrics})
        self.sums, self.last_log_t, self.last_log_step = {}, now, s.step
        return last

    def _go_back(self) -> None:
        """on_divergence=stop: back to the last weights found healthy; where none was found, back
        to the untrained weights (their seeds differ), exported and marked not healthy."""
        s, snapshot = self.s, self.snapshot
        restore_state(s, snapshot)
        if int(snapshot["step"]) == self.start_step and self.ckpt is None:  # only the untrained weights were kept
            self.untrained = (f"untrained: training diverged at step {self.reverted_from}, before any step was found "
                              f"healthy, so this model holds the untrained weights of step {s.step} (it draws noise, "
                              "not the data); train again with lower learning rates (--set lr_g=0.0001 --set "
                              "lr_d=0.0001) or a wgan-gp preset")  # fmt: skip
            message = (f"went back to the untrained weights of step {s.step} (on_divergence=stop): no step was "
                       "found healthy; they are exported, and marked not healthy")  # fmt: skip
        else:
            message = (f"went back to step {s.step}, the last found healthy, and stopped there "
                       f"(on_divergence=stop); that model is exported")  # fmt: skip
        _stderr("note: " + message)
        self.emit({"event": "note", "step": s.step, "message": message})
        self.metrics = self.samples.evaluate()

    def _sample(self, last: bool) -> None:
        s = self.s
        grid = self.samples.generate(self.samples.grid_z, self.samples.grid_labels)
        path = save_grid(grid, self.run_dir / "samples" / f"step-{s.step:06d}.png", self.data_facts["channel_names"])
        self.emit({"event": "sample", "step": s.step, "path": str(path)})
        if not last:
            for problem in _output_problems(grid, s.step, self.samples.grid_labels, s.cfg):
                self.warn(problem)
        plot_stats(self.stats.read(), self.run_dir / "plot.png")

    def finish(self) -> Path:
        """Final checkpoint (with the final metrics and health), export, and a check that the
        ranks never drifted apart."""
        s, dist = self.s, self.dist
        problems = (
            _output_problems(
                self.samples.generate(self.health_z, self.health_labels), s.step, self.health_labels, s.cfg
            )
            if dist.main
            else []
        )
        problems += [m for m in self.diverged if self.reverted_from is None]  # it diverged and trained on
        problems += [self.untrained] if self.untrained else []
        health = {"healthy": not problems, "problems": problems}
        if self.reverted_from is not None:
            health["reverted_from_step"] = self.reverted_from
        if self.untrained:
            health["untrained"] = True
        ckpt_path = self.checkpoint(health=health)
        if not same_weights(s.G, dist, self.device):
            raise RuntimeError("generator weights differ between processes: a DistributedDataParallel bug")
        if dist.main:
            onnx_path = export_generator(ckpt_path)
            done = {"event": "done", "step": s.step, "run_dir": str(self.run_dir), "onnx": str(onnx_path),
                    "stopped_early": self.stopped_early, **health}  # fmt: skip
            if self.best and int(self.best["step"]) != s.step:  # an earlier evaluation read lower than the last
                done["best"] = {"step": int(self.best["step"]), "swd": self.best["swd"],
                                "path": str(self.run_dir / "checkpoints" / BEST)}  # fmt: skip
            self.emit(done)
        return self.run_dir


HEALTH_SECONDS = 5.0  # how often the outputs are checked (and, on_divergence=stop, the weights kept)
HEALTH_WARMUP = 10  # steps before the first check of the outputs


def _remove_if_no_checkpoint(run_dir: Path) -> bool:
    """Remove a run folder that holds no checkpoint (nothing in it to export or resume: no
    folder that looks resumable); whether it was removed."""
    import shutil  # noqa: PLC0415

    if any((run_dir / "checkpoints").glob("*.pt")):
        return False
    shutil.rmtree(run_dir, ignore_errors=True)
    return True


def _snapshot(s: TrainingState) -> dict:
    """A copy of the session's state in memory (on_divergence=stop), this process's streams only."""
    import copy  # noqa: PLC0415

    state = {"step": s.step, "G": s.G.state_dict(), "D": s.D.state_dict(),
             "G_ema": s.G_ema.state_dict() if s.G_ema is not None else None,
             "opt_g": s.opt_g.state_dict(), "opt_d": s.opt_d.state_dict(),
             "scaler_g": s.scaler_g.state_dict() if s.scaler_g else None,
             "scaler_d": s.scaler_d.state_dict() if s.scaler_d else None}  # fmt: skip
    state = copy.deepcopy(state)
    state["rng"] = []  # streams start afresh after going back: the run stops there anyway
    return state


FLAT_STD = 0.01  # per-image standard deviation (images in [-1, 1]) below which a sample is flat


def flat_samples(images: np.ndarray) -> bool:
    """True when every image of an NCHW batch is flat, each of its channels one value: the
    generator has collapsed. Per channel: a flat orange (or a material whose every map is one
    value, each a different one) is as flat as a flat grey."""
    n, c = images.shape[:2]
    return bool(np.all(images.reshape(n, c, -1).std(axis=2).max(axis=1) < FLAT_STD))


# A CUDA failure that ends the process's use of the GPU (lost device, launch failure, a
# library's internal error), as torch words it; a Python bug's RuntimeError is left alone.
GPU_FAILURES = ("CUDA error", "CUDA driver", "cuDNN error", "CUDNN_STATUS", "CUBLAS_STATUS", "device-side assert",
                "NCCL error", "an illegal memory access")  # fmt: skip


def gpu_failed(exc: BaseException) -> bool:
    return any(words in str(exc) for words in GPU_FAILURES)


def gpu_memory(device: torch.device) -> tuple[int, int]:
    """(peak bytes this process allocated, the GPU's total); (0, 0) off CUDA."""
    if device.type != "cuda":
        return 0, 0
    return torch.cuda.max_memory_allocated(device), torch.cuda.get_device_properties(device).total_memory


def batch_that_fits(batch: int, peak: int, total: int) -> int:
    """A batch under `batch` estimated to fit: memory grows about in proportion to the batch,
    so the failed one's peak scaled to 80 % of the card, a power of two, at most half."""
    fit = int(batch * 0.8 * total / peak) if peak and total else batch // 2
    fit = max(1, min(fit, batch // 2))
    return 1 << (fit.bit_length() - 1)


def _out_of_memory(cfg: TrainConfig, step: int, device: torch.device) -> tuple[str, str]:
    peak, total = gpu_memory(device)
    used = f" (this process's peak {peak / 2**30:.1f} of {total / 2**30:.1f} GiB)" if total else ""
    if cfg.batch <= 1:
        return (
            f"the GPU ran out of memory at step {step} with a batch of 1{used}",
            "use a smaller --crop or narrower networks (--set g_width=16 --set d_width=16), or train on the CPU",
        )
    fit = batch_that_fits(cfg.batch, peak, total)
    return (
        f"the GPU ran out of memory at step {step} with a batch of {cfg.batch}{used}",
        f"train with --batch {fit} (estimated to fit), a smaller --crop, or narrower networks",
    )


def _gpu_lost(exc: BaseException, step: int, run_dir: Path, saved: int | None) -> tuple[str, str]:
    what = str(exc).strip().splitlines()[0][:200]
    if saved is None:
        return (
            f"the GPU failed at step {step} ({what}); no checkpoint had been written yet",
            "start the run again (set --set checkpoint_every=N to keep one every N steps)",
        )
    return (
        f"the GPU failed at step {step} ({what}); the checkpoint of step {saved} "
        f"({run_dir / 'checkpoints' / LATEST}) is whole",
        f"continue it once the GPU is back: texgen train --resume {run_dir}",
    )


MIN_LOSS_SCALE = 1.0  # fp16: GradScaler starts at 65536; below 1, sixteen halvings in a row: it persists


def _scale_collapsed(s: TrainingState) -> bool:
    return any(sc is not None and sc.get_scale() < MIN_LOSS_SCALE for sc in (s.scaler_g, s.scaler_d))


def _weights_finite(s: TrainingState) -> bool:
    return all(bool(torch.isfinite(p).all()) for net in (s.G, s.D) for p in net.parameters())


def _output_problems(images: np.ndarray, step: int, labels, cfg: TrainConfig) -> list[str]:
    """What is wrong with outputs of different latents (and, for a conditional model, their
    classes): flat (the collapse message), else saturated or the same for every latent of a
    class (trainer/health.py). A conditional run with the free class term is also told of the
    unit one, which kept colour materials from collapsing (docs/training.md)."""
    labels = None if labels is None else np.asarray(labels)
    found = (
        [collapse_message(step, cfg.lr_g, cfg.lr_d)] if flat_samples(images) else output_problems(images, step, labels)
    )
    if labels is not None and cfg.projection == "sum":
        found = [f"{p}; for a conditional model, also --set projection=unit" if "collapse" in p else p for p in found]
    return found


def collapse_message(step: int, lr_g: float, lr_d: float) -> str:
    """The collapse warning, its advice half the run's own learning rates."""
    return (
        f"the generator has collapsed at step {step}: every sample is one flat colour, and a collapsed "
        f"GAN rarely recovers. Stop, then start again with lower learning rates (--set lr_g={lr_g / 2:g} "
        f"--set lr_d={lr_d / 2:g}), a narrower network, or a wgan-gp preset"
    )


def _eta(cfg: TrainConfig, step: int, rate: float, elapsed: float) -> float | None:
    etas = []
    if cfg.steps is not None and rate > 0:
        etas.append(max(cfg.steps - step, 0) / rate)
    if cfg.minutes is not None:
        etas.append(max(cfg.minutes * 60 - elapsed, 0.0))
    return min(etas) if etas else None


def _device_name(device: torch.device, dist) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    elif device.type == "mps":
        import platform  # noqa: PLC0415

        name = f"Apple GPU (MPS, {platform.machine()})"
    else:
        import platform  # noqa: PLC0415

        name = f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    return f"{dist.world} x {name}" if dist.active else name
