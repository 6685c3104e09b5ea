"""Command line of the trainer: `texgen train ...` / `texgen export ...` (or `python -m trainer`).

    texgen train --preset lanham-wgan-32 --data cifar100:forest
    texgen train --preset spatial-wgan-gp --data ./my_textures --kind heightmap --minutes 30
    texgen train --resume runs/00003-spatial-wgan-gp-my_textures --steps 40000
    texgen export runs/00003-spatial-wgan-gp-my_textures --out gravel.onnx

Every user mistake (unknown preset, bad data spec, empty folder, unknown class, bad --set,
CUDA or MPS asked for but absent, PyTorch not installed) prints one line `error: ...` on stderr
naming the fix and exits with code 2. Ctrl-C or SIGTERM stops training cleanly: checkpoint, metrics, export, exit 0
(a second Ctrl-C aborts at once). With `--stop-on-stdin`, a line `stop` on stdin does the same:
the channel a front-end uses on Windows, where no signal reaches a console process cleanly.

Progress on stdout: `bar` (the default on a terminal) a tqdm bar; `log` (the default otherwise:
a file, nohup, a batch scheduler) a plain line at the first step and about every 30 s, with
warnings, evaluations, checkpoints and the end, each flushed at once; `none` nothing but the
end. `--progress json` prints one JSON object per line on stdout, flushed, for a parent
process (the GUI). Events, in order:

    {"event": "start", "run_dir": str, "total_steps": int | null, "minutes": float | null,
     "config": {...}}                          the resolved TrainConfig as a dict
    {"event": "step", "step": int, "total_steps": int | null, "elapsed_s": float,
     "eta_s": float | null, "images_per_s": float,
     "losses": {"d": float, "g": float, "wasserstein": float, "gp": float}}  (null: dropped, see note)
        at most one per `log_seconds` (default 1 s) and always for the first and last step;
        losses are means since the previous step event; "wasserstein" is present for wgan and
        wgan-gp, "gp" for wgan-gp; images_per_s counts real images through the critic
    {"event": "eval", "step": int, "metrics": {"swd": float, "swd_32": float, ...,
     "nn_fake_median": float, "nn_train_median": float, "memorisation_ratio": float,
     "seam_score": float (tileable models)}}
    {"event": "sample", "step": int, "path": str}        the sample grid PNG just written
    {"event": "checkpoint", "step": int, "path": str}
    {"event": "warning", "step": int, "message": str}   the run goes on, but the user should look
                                                       (flat images, exploding losses, saturated
                                                       or seed-independent output: trainer/health.py)
    {"event": "note", "step": int, "message": str}      on_divergence=stop went back to that step,
                                                       or mixed precision overflowed: float32 from there
    {"event": "done", "step": int, "run_dir": str, "onnx": str, "stopped_early": bool,
     "healthy": bool, "problems": [str, ...],           the exported model's last health check
     "best": {"step": int, "swd": float, "path": str}}  "best" only when an earlier evaluation
                                                       read a lower SWD than the last: its
                                                       weights are checkpoints/best.pt
    {"event": "error", "message": str}                    then exit code 2 (1 for a bug)

Data loading notes (skipped files, ...) go to stderr as plain lines, never to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from texgen.cli.extras import EXPORT_NEEDS, extra_module_missing, missing_error, missing_extra
from texgen.errors import EXIT_INTERRUPTED, INTERRUPTED, ExportError, RequestError, TexgenError

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage: one `error:` line like every user error."""

    def error(self, message: str):  # type: ignore[override]
        raise RequestError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def _train_parser() -> _Parser:
    p = _Parser(prog="texgen train", description="Train a texture or heightmap GAN and export it to ONNX.")
    p.add_argument("--recipe", "--preset", dest="recipe", help="named starting point (see --list-recipes)")
    p.add_argument("--data", help="cifar100:forest, cifar100:33@ARCHIVE, an image folder, or a DEM file")
    p.add_argument("--kind", choices=("texture", "heightmap", "material"),
                   help="heightmap: 1 channel, 16-bit precision kept; material: map sets (or photos, maps derived)")  # fmt: skip
    p.add_argument("--conditional", action="store_true", default=None,
                   help="sub-folders or the listed CIFAR classes become classes")  # fmt: skip
    p.add_argument("--steps", type=int, help="generator iterations")
    p.add_argument(
        "--minutes",
        type=float,
        help="wall-time budget, counted from the run's start (a resumed run "
        "includes the time before its checkpoint); stops at whichever of --steps and --minutes comes first",
    )
    p.add_argument("--batch", type=int, help="images per training step (split over the processes under torchrun)")
    p.add_argument("--crop", type=int, help="training image side: 16, 32, 64, 128 or 256")
    p.add_argument("--scale", type=float, help="resize source images by this before cropping")
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda", "mps"),
        help="default auto: CUDA when present, else Apple's GPU (mps), else the CPU",
    )
    p.add_argument("--out", help="parent folder of run folders (default runs/)")
    p.add_argument("--name", help="run name")
    p.add_argument("--seed", type=int, help="seed of the networks' weights and the run's random streams")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    p.add_argument(
        "--init-from",
        metavar="RUN_DIR",
        help="start a new run from another run's weights (its generator, and its critic where it fits; "
        "e.g. add a wide critic to a finished run: docs/training.md)",
    )
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any setting (repeatable); --dry-run lists them")  # fmt: skip
    p.add_argument("--dry-run", action="store_true", help="print the resolved settings as JSON and exit")
    p.add_argument(
        "--progress",
        choices=("bar", "log", "json", "none"),
        help=f"default: bar on a terminal, else log (a plain line about every {LOG_SECONDS:g} s)",
    )
    p.add_argument(
        "--stop-on-stdin",
        action="store_true",
        help="also stop cleanly when the line 'stop' arrives on stdin (for front-ends; works on Windows)",
    )
    p.add_argument(
        "--list-recipes", "--list-presets", dest="list_recipes", action="store_true", help="list the recipes and exit"
    )
    return p


def _config(args: argparse.Namespace):
    import dataclasses  # noqa: PLC0415

    from trainer.checkpoint import load_checkpoint  # noqa: PLC0415
    from trainer.config import apply_overrides, check_config  # noqa: PLC0415
    from trainer.recipes import DEFAULT_RECIPE, get_recipe  # noqa: PLC0415

    if args.resume:
        cfg = load_checkpoint(args.resume)["config"]
        cfg = dataclasses.replace(cfg, resume=str(args.resume))
    else:
        cfg = get_recipe(args.recipe or DEFAULT_RECIPE)
    flags = {
        name: getattr(args, name)
        for name in (
            "data",
            "kind",
            "conditional",
            "steps",
            "minutes",
            "batch",
            "crop",
            "scale",
            "device",
            "out",
            "name",
            "seed",
            "init_from",
        )
        if getattr(args, name) is not None
    }
    if args.resume and args.init_from:
        raise RequestError(
            "--resume continues a run, --init-from starts a new one from another run's weights: not both",
            "give --resume RUN_DIR to go on with that run, or --init-from RUN_DIR for a new run",
        )
    if args.resume and args.recipe and args.recipe != cfg.preset:
        flags["preset"] = args.recipe  # reported as a change the checkpoint cannot take
    if flags.get("kind") == "heightmap":
        flags["channels"] = 1
    if "steps" in flags and args.minutes is None:
        flags["minutes"] = None  # --steps alone means exactly that many steps (resumed too)
    if args.resume and "minutes" in flags and args.steps is None:
        flags["steps"] = None  # --minutes alone on a resumed run: until that budget, whatever the steps
    cfg = apply_overrides(dataclasses.replace(cfg, **flags), args.overrides)
    check_config(cfg)
    return cfg


def _json_printer(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class _Bar:
    """tqdm progress bar fed by progress events."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, event: dict[str, Any]) -> None:
        from tqdm import tqdm  # noqa: PLC0415

        kind = event["event"]
        if kind == "start":
            self.bar = tqdm(total=event["total_steps"], unit="step", dynamic_ncols=True)
            tqdm.write(f"run folder: {event['run_dir']}")
        elif kind == "step" and self.bar is not None:
            self.bar.update(event["step"] - self.bar.n)
            self.bar.set_postfix(
                {k: "-" if v is None else f"{v:.3g}" for k, v in event["losses"].items()}, refresh=False
            )
        elif kind == "eval":
            shown = {k: v for k, v in event["metrics"].items() if k in ("swd", "memorisation_ratio", "seam_score")}
            tqdm.write(f"step {event['step']}: " + ", ".join(f"{k} {v:.3g}" for k, v in shown.items()))
        elif kind == "done" and self.bar is not None:
            self.bar.close()


LOG_SECONDS = 30.0  # --progress log: seconds of training between two progress lines


class _Log:
    """Plain progress lines for a log file (`texgen train ... > log`, nohup, a batch scheduler),
    each flushed at once: the run folder; a step line at the first step event, then at most
    one per `interval` seconds of training, and the last one at the end; evaluations,
    checkpoints, warnings and notes as they come; and how the run ended."""

    def __init__(self, interval: float = LOG_SECONDS, echo_warnings: bool | None = None) -> None:
        self.interval = interval
        # The loop writes warnings and notes to stderr itself: repeated here unless stderr
        # is the same file (`> log 2>&1`, nohup.out), where they would be there twice.
        self.echo_warnings = not _same_file(sys.stdout, sys.stderr) if echo_warnings is None else echo_warnings
        self.printed_at: float | None = None  # elapsed_s of the last step line
        self.unprinted: dict[str, Any] | None = None  # the latest step event not printed

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "start":
            self._write(f"run folder: {event['run_dir']}")
        elif kind == "step":
            elapsed = float(event.get("elapsed_s") or 0.0)
            if self.printed_at is None or elapsed - self.printed_at >= self.interval:
                self._write(step_line(event))
                self.printed_at, self.unprinted = elapsed, None
            else:
                self.unprinted = event
        elif kind == "eval":  # after the losses of its step
            self._write_unprinted()
            shown = {k: v for k, v in event["metrics"].items() if k in ("swd", "memorisation_ratio", "seam_score")}
            self._write(f"step {event['step']}: " + ", ".join(f"{k} {v:.3g}" for k, v in shown.items()))
        elif kind == "checkpoint":
            self._write(f"step {event['step']}: checkpoint {event['path']}")
        elif kind in ("warning", "note") and self.echo_warnings:
            self._write(f"{kind}: {event['message']}")
        elif kind == "done":
            self._write_unprinted()
            early = " (stopped early)" if event.get("stopped_early") else ""
            self._write(f"finished at step {event['step']}{early}")

    def _write_unprinted(self) -> None:
        if self.unprinted is not None:
            self._write(step_line(self.unprinted))
            self.printed_at, self.unprinted = float(self.unprinted.get("elapsed_s") or 0.0), None

    @staticmethod
    def _write(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def step_line(event: dict[str, Any]) -> str:
    """`step 120/20000  312 images/s  d -0.512 g 0.233  elapsed 0:01:02  left 2:03:10`."""
    total = event.get("total_steps")
    parts = [f"step {event['step']}/{total}" if total else f"step {event['step']}"]
    rate = event.get("images_per_s")
    if isinstance(rate, (int, float)):
        parts.append(f"{rate:.3g} images/s")
    losses = event.get("losses") or {}
    if losses:
        parts.append(" ".join(f"{k} {'-' if v is None else f'{v:.3g}'}" for k, v in losses.items()))
    parts.append(f"elapsed {_clock(event.get('elapsed_s'))}")
    if event.get("eta_s") is not None:
        parts.append(f"left {_clock(event['eta_s'])}")
    return "  ".join(parts)


def _clock(seconds: float | None) -> str:
    """h:mm:ss."""
    m, s = divmod(int(round(seconds or 0.0)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


def _same_file(a, b) -> bool:
    try:
        return os.path.samestat(os.fstat(a.fileno()), os.fstat(b.fileno()))
    except (OSError, ValueError, AttributeError):  # a stream without a file (a test's capture)
        return False


_STOPPING = "stopping: finishing the step, then checkpoint and export (Ctrl-C again to abort)"


def _stop_flag(stdin: bool = False) -> tuple[Callable[[], bool], Callable[[], None]]:
    """SIGINT/SIGTERM (and, with `stdin`, a line `stop` on stdin) set a flag the loop polls; a
    second Ctrl-C aborts. Returns (poll, restore)."""
    flag = threading.Event()
    lock = threading.RLock()  # re-entrant: a second signal may land while the first holds it

    def request() -> None:
        """Set the flag; say so once (the GUI sends both the stdin line and SIGTERM)."""
        with lock:
            first = not flag.is_set()
            flag.set()
        if first:
            print(_STOPPING, file=sys.stderr, flush=True)

    if stdin:
        threading.Thread(target=_watch_stdin, args=(request,), name="stop-on-stdin", daemon=True).start()
    if threading.current_thread() is not threading.main_thread():
        return flag.is_set, lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum, frame):
        if flag.is_set() and signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        request()

    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, h in previous.items():
            signal.signal(sig, h)

    return flag.is_set, restore


def _watch_stdin(request: Callable[[], None]) -> None:
    """Call `request` on a line `stop`; end quietly at end of input (a closed pipe is not a stop)."""
    try:
        for line in sys.stdin:
            if line.strip() == "stop":
                request()
    except (OSError, ValueError):  # no usable stdin (closed, or captured by a test runner)
        return


def _fail(message: str, progress: str | None) -> int:
    if progress == "json":
        _json_printer({"event": "error", "message": message})
    print(f"error: {message}", file=sys.stderr, flush=True)
    return EXIT_USER_ERROR


def _file_error(exc: OSError) -> str:
    """One line for a file the run could not read or write: what the system said, which file,
    and how to go on. Every file is written whole or not at all (texgen.atomic), so the
    last checkpoint is intact."""
    where = f": {exc.filename}" if exc.filename else ""
    return (
        f"training stopped: {exc.strerror or exc}{where}. free disk space, or check that the folder "
        "exists and is writable; a run that has saved a checkpoint goes on from it with "
        "`texgen train --resume RUN_FOLDER`"
    )


def train_main(argv: list[str]) -> int:
    """`texgen train`: returns the exit code (0 done, 2 user error)."""
    progress = "json" if "json" in argv and "--progress" in argv else None
    try:
        args = _train_parser().parse_args(argv)
        progress = args.progress or ("bar" if sys.stdout.isatty() else "log")
        problem = missing_extra("training")
        if problem is not None:
            raise problem
        if args.list_recipes:
            from trainer.recipes import RECIPES  # noqa: PLC0415

            for name, cfg in RECIPES.items():
                print(f"{name:22s} {cfg.description}")
            return 0
        cfg = _config(args)
        if args.dry_run:
            from trainer.data import describe_spec  # noqa: PLC0415

            resolved = json.loads(cfg.to_json())
            if cfg.data:
                resolved["data_resolved"] = describe_spec(cfg.data, kind=cfg.kind, classes=cfg.conditional)
            print(json.dumps(resolved, indent=2))
            return 0
        should_stop, restore = _stop_flag(args.stop_on_stdin)  # before importing torch: a Stop while it loads counts
        try:
            from trainer.loop import train  # noqa: PLC0415

            printer = {"json": _json_printer, "bar": _Bar(), "log": _Log(), "none": None}[progress]
            done: dict[str, Any] = {}

            def on_progress(event: dict[str, Any]) -> None:
                if event.get("event") == "done":
                    done.update(event)
                if printer is not None:
                    printer(event)

            run_dir = train(cfg, on_progress, should_stop)
        finally:
            restore()
        if progress != "json":
            print(f"done: {run_dir / 'generator.onnx'}")
            if done.get("healthy") is False:
                print("warning: the exported model is not healthy (its card says why): "
                      + "; ".join(p.split(";")[0] for p in done.get("problems", [])), file=sys.stderr)  # fmt: skip
            if "best" in done:
                best = done["best"]
                print(
                    f"lowest SWD ({best['swd']:.1f}) at step {best['step']}, kept as {best['path']}; "
                    f"export it with: texgen export {best['path']}"
                )
        return 0
    except TexgenError as exc:
        return _fail(str(exc), progress)
    except OSError as exc:  # the disk filled up, or the run folder went away, during the run
        return _fail(_file_error(exc), progress)
    except ModuleNotFoundError as exc:  # found by the check above, yet not importable
        name = extra_module_missing(exc)
        if name is None:
            raise
        return _fail(str(missing_error("training", [name])), progress)
    except Exception as exc:
        if progress == "json":
            _json_printer({"event": "error", "message": f"internal error: {type(exc).__name__}: {exc}"})
        raise


def _export_target(text: str | None) -> tuple[Path | None, list[Path]]:
    """--out as the exporter takes it: an .onnx file, or a folder (made when written with a
    trailing slash, e.g. `--out models/`), never a file named like the folder the user meant.
    Also the folders made for it, to remove again if the export fails."""
    if not text:
        return None, []
    out = Path(text).expanduser()
    if text.endswith(("/", os.sep)):
        made = [p for p in (out, *out.parents) if not p.exists()]
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(
                f"cannot make the folder {out} ({exc.strerror or exc})", "choose a writable place with --out"
            ) from None
        return out, made
    if not out.is_dir() and out.suffix.lower() != ".onnx":
        raise ExportError(
            f"--out {text} is neither an .onnx file nor an existing folder",
            "end a file name with .onnx, or a folder with / (it is made)",
        )
    return out, []


def export_main(argv: list[str]) -> int:
    """`texgen export RUN_OR_CHECKPOINT [--out FILE] [--name NAME] [--description TEXT]`: exit code 0 or 2."""
    p = _Parser(prog="texgen export", description="Export a training run's generator to a texgen ONNX file.")
    p.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run folder or a checkpoint .pt file")
    p.add_argument(
        "--out",
        help="output .onnx file or folder (default: generator.onnx in the run folder; generator-best.onnx from checkpoints/best.pt)",
    )
    p.add_argument("--name", help="model name stored in the file (default: the run's name)")
    p.add_argument(
        "--description", help="what the model makes, stored in the file and the card (default: the preset's)"
    )
    try:
        args = p.parse_args(argv)
        problem = missing_extra("exporting a run", EXPORT_NEEDS)
        if problem is not None:
            raise problem
        from trainer.to_onnx import export_generator  # noqa: PLC0415

        target, made = _export_target(args.out)
        try:
            out = export_generator(Path(args.run), target, name=args.name, description=args.description)
        except TexgenError:
            for folder in made:  # innermost first: a refused export leaves no empty folder behind
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise
        print(out)
        return 0
    except TexgenError as exc:
        return _fail(str(exc), None)


def main(argv: list[str] | None = None) -> int:
    """`python -m trainer train|export ...`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"train": train_main, "export": export_main}
    if not argv or argv[0] not in commands:
        print("usage: python -m trainer {train,export} ... (--help after the command for options)", file=sys.stderr)
        return EXIT_USER_ERROR
    try:
        return commands[argv[0]](argv[1:])
    except KeyboardInterrupt:  # a second Ctrl-C: what `texgen train` says and returns, under torchrun too
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
