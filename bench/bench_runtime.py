"""Runtime benchmark: texgen's sampling path against a bare onnxruntime session and torch eager.

Everything is measured in one run on one model, so the ratios hold whatever the machine:

1. images/s at batch 1, 16, 64, 256 (native size) for texgen `sample()` (latents from seeds,
   run, post-process to images), a bare `InferenceSession.run` on ready-made latents, and the
   same network in torch eager mode; texgen's overhead over the bare session in %.
2. one 512x512 and one 1024x1024 tileable texture (ms), and the fraction of the CPU's measured
   fp32 matmul peak the model reaches there.
3. batch export of 1,000 64x64 PNG textures through the service (s), and the peak memory of a
   `texgen generate` process writing 1,000 and 10,000 (MB): it must not grow with the count.
4. one big image (`--big`, default 4096 px; 2048 with --quick) written by `texgen generate`,
   in tiles as texgen runs it and whole (tiling turned off in that process): seconds and peak
   memory of each, and the largest pixel difference between the two files. Needs the memory
   of the whole run (a spatial model at 4096 px: about 13 GB).

The model is a trainer preset's generator network (`--preset`, default spatial-wgan-gp)
with random weights: speed does not depend on the weights. `--model PATH` times a given .onnx
instead (without the torch column). Usage: python bench/bench_runtime.py [--quick]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]  # texgen itself comes from the installed package (pip install -e .)


def best_of(fn, repeat: int) -> float:
    """The fastest of `repeat` runs (after one warm-up), in seconds: the least disturbed one."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def matmul_peak(threads: int) -> float:
    """Measured fp32 matmul FLOP/s of this CPU (numpy's BLAS, `threads` threads)."""
    n = 2048
    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    return 2 * n**3 / best_of(lambda: a @ b, 5)


def build_network(preset: str, overrides: list[str]):
    """The torch generator of a trainer preset, random weights, and its texgen ONNX bytes."""
    import onnx  # noqa: PLC0415
    import torch  # noqa: PLC0415

    from texgen.metadata import GeneratorInfo, write_metadata  # noqa: PLC0415
    from trainer.config import apply_overrides  # noqa: PLC0415
    from trainer.networks import build_generator  # noqa: PLC0415
    from trainer.recipes import get_recipe  # noqa: PLC0415

    cfg = apply_overrides(get_recipe(preset), overrides)
    spec = cfg.net_spec()
    torch.manual_seed(0)
    g = build_generator(spec).eval()
    grid = spec.resolution // spec.pixels_per_cell
    buf = io.BytesIO()
    torch.onnx.export(
        g,
        (torch.randn(1, spec.latent_size, grid, grid),),
        buf,
        dynamo=False,
        input_names=["z"],
        output_names=["image"],
        opset_version=17,
        dynamic_axes={"z": {0: "n", 2: "h", 3: "w"}, "image": {0: "n", 2: "H", 3: "W"}},
    )
    model = onnx.load_model_from_string(buf.getvalue())
    info = GeneratorInfo(
        name="bench",
        kind="texture",
        channels=spec.channels,
        latent_kind="spatial",
        latent_size=spec.latent_size,
        native_height=spec.resolution,
        native_width=spec.resolution,
        pixels_per_cell=spec.pixels_per_cell,
        tileable=True,
        architecture=preset,
    )
    write_metadata(model, info)
    return g, spec, model.SerializeToString()


def model_flops(g, spec, side: int) -> float:
    import torch  # noqa: PLC0415
    from torch.utils.flop_counter import FlopCounterMode  # noqa: PLC0415

    z = torch.randn(1, spec.latent_size, side // spec.pixels_per_cell, side // spec.pixels_per_cell)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        g(z)
    return float(counter.get_total_flops())


def _generate_child(argv: list[str], setup: str = "") -> tuple[float, float]:
    """(seconds, peak RSS MB) of a child process that runs `texgen generate` with `argv`
    (after `setup`, Python run first in that process)."""
    code = (
        f"import sys, time; from texgen.cli import main; {setup}t = time.perf_counter(); "
        f"rc = main({['generate', *argv, '--device', 'cpu']!r}); "
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child started by this
        # torch-laden benchmark would report the parent's peak.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
        "print(time.perf_counter() - t, hwm); sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"texgen generate failed: {done.stderr.strip()}")
    seconds, rss_kb = done.stdout.split()[-2:]
    return float(seconds), int(rss_kb) / 1024


def peak_rss_of_generate(model: Path, count: int, out: Path) -> tuple[float, float]:
    """(seconds, peak RSS MB) of a `texgen generate` child process writing `count` textures."""
    return _generate_child(["-m", str(model), "--count", str(count), "--size", "64", "--preset", "png",
                            "--out", str(out), "--batch-size", "64"])  # fmt: skip


def big_image(model: Path, side: int, out: Path, tiled: bool) -> tuple[float, float, Path]:
    """(seconds, peak RSS MB, the file) of a `texgen generate` child writing one side x side
    image of `model`, in tiles or (tiling turned off in that process) whole."""
    seconds, rss = _generate_child(
        ["-m", str(model), "--seeds", "0", "--size", str(side), "--preset", "png", "--maps", "albedo",
         "--name", "big", "--out", str(out)],
        setup="" if tiled else "from texgen import tiling; tiling.TILES = tiling.NEVER; ",
    )  # fmt: skip
    return seconds, rss, next(out.glob("big*.png"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="spatial-wgan-gp", help="trainer preset whose generator to time")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="trainer config override, e.g. g_width=12 (as the bundled model)",
    )
    ap.add_argument("--model", type=Path, help="time this .onnx instead (no torch column)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--quick", action="store_true", help="fewer repeats and a 2,000-texture memory run")
    ap.add_argument(
        "--big", type=int, help="side of the big image of part 4 (default 4096, 2048 with --quick; 0 skips it)"
    )
    args = ap.parse_args()
    repeat = 2 if args.quick else 5

    import onnxruntime as ort  # noqa: PLC0415

    from texgen.latents import latents_for_seeds  # noqa: PLC0415
    from texgen.model import load_generator  # noqa: PLC0415
    from texgen.sampling import sample  # noqa: PLC0415

    torch_g = spec = None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.model:
            path = args.model
        else:
            torch_g, spec, data = build_network(args.preset, args.set)
            path = tmp / "bench.onnx"
            path.write_bytes(data)
        gen = load_generator(path, device="cpu", threads=args.threads)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        opts.inter_op_num_threads = 1
        bare = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        info = gen.info
        size = (info.native_height, info.native_width)
        peak = matmul_peak(args.threads)
        print(
            f"model: {path.name}  {info.latent_kind} latent {info.latent_size}, native {size[1]}x{size[0]}, threads {args.threads}"
        )
        print(f"CPU fp32 matmul peak (numpy 2048^3): {peak / 1e9:.1f} GFLOP/s")

        # 1. Throughput at native size.
        if torch_g is not None:
            import torch  # noqa: PLC0415

            torch.set_num_threads(args.threads)
        print("\nbatch | texgen img/s | bare ORT img/s | torch eager img/s | texgen overhead vs bare")
        for batch in (1, 16, 64, 256):
            seeds = list(range(batch))
            z = latents_for_seeds(seeds, gen.latent_shape(*size), gen.info.global_channels)
            t_tex = best_of(lambda: list(sample(gen, seeds, size=size, batch_size=batch)), repeat)
            t_bare = best_of(lambda: bare.run(None, {"z": z}), repeat)
            t_torch = float("nan")
            if torch_g is not None:
                zt = torch.from_numpy(z)
                with torch.no_grad():
                    t_torch = best_of(lambda: torch_g(zt), repeat)
            print(
                f"{batch:5d} | {batch / t_tex:12.1f} | {batch / t_bare:14.1f} | {batch / t_torch:17.1f} | {100 * (t_tex / t_bare - 1):+6.1f} %"
            )

        # 2. Large tileable textures.
        print("\nsize      | texgen ms | bare ORT ms | model GFLOP | fraction of matmul peak")
        for side in (512, 1024):
            z = latents_for_seeds([0], gen.latent_shape(side, side), gen.info.global_channels)
            t_tex = best_of(lambda: next(sample(gen, [0], size=(side, side))), repeat)
            t_bare = best_of(lambda: bare.run(None, {"z": z}), repeat)
            flops = model_flops(torch_g, spec, side) if torch_g is not None else float("nan")
            print(
                f"{side}x{side} | {t_tex * 1e3:9.0f} | {t_bare * 1e3:11.0f} | {flops / 1e9:11.1f} | {flops / t_bare / peak:8.1%}"
            )

        # 3. Batch export and memory.
        n_small, n_large = 1000, 2000 if args.quick else 10000
        t_small, rss_small = peak_rss_of_generate(path, n_small, tmp / "out-small")
        t_large, rss_large = peak_rss_of_generate(path, n_large, tmp / "out-large")
        written = len(list((tmp / "out-large").glob("*.png")))
        print(
            f"\nbatch export 64x64 PNG: {n_small:,} in {t_small:.2f} s ({n_small / t_small:.0f}/s), peak RSS {rss_small:.0f} MB"
        )
        print(
            f"batch export 64x64 PNG: {n_large:,} in {t_large:.2f} s ({n_large / t_large:.0f}/s), peak RSS {rss_large:.0f} MB ({written:,} PNG files)"
        )
        print(f"memory growth {n_small:,} -> {n_large:,}: {rss_large - rss_small:+.0f} MB")

        # 4. One big image, in tiles and whole.
        side = args.big if args.big is not None else 2048 if args.quick else 4096
        if side and info.latent_kind == "spatial":
            from PIL import Image  # noqa: PLC0415

            t_tiles, rss_tiles, f_tiles = big_image(path, side, tmp / "big-tiles", tiled=True)
            t_whole, rss_whole, f_whole = big_image(path, side, tmp / "big-whole", tiled=False)
            with Image.open(f_tiles) as a, Image.open(f_whole) as b:
                diff = np.abs(np.asarray(a, np.int64) - np.asarray(b, np.int64)).max()
            print(
                f"\none {side}x{side} image: in tiles {t_tiles:.1f} s, peak RSS {rss_tiles:.0f} MB; "
                f"whole {t_whole:.1f} s, peak RSS {rss_whole:.0f} MB (memory {rss_whole / rss_tiles:.1f}x, "
                f"time {t_tiles / t_whole:.2f}x); largest pixel difference {diff}"
            )


if __name__ == "__main__":
    main()
