"""Training speed: generator iterations per second of our loop beside a plain PyTorch loop.

For lanham-wgan-32 (batch 64, n_critic 5, weight clipping), WGAN-GP (the same networks with a
gradient penalty and no BatchNorm in the critic) and foster-dcgan-64, it times `train_step`
(the step `train()` runs) and a plain, straightforward PyTorch loop of the SAME networks,
in alternating blocks in the same process, and prints the ratio ours / plain (target >= 1.0).
It also counts the FLOPs of one iteration (torch's FlopCounterMode) and measures a large
fp32 matmul, to report the fraction of the machine's matmul peak each loop reaches.

    python bench/bench_train.py            # a few minutes on a 2-core CPU
    python bench/bench_train.py --quick    # under a minute or two
    python bench/bench_train.py --device cuda --course   # + the course's whole schedule
                                           # (4,000 iterations, batch 32) through train()

Data: crops of scikit-image's CC0 textures (500 images, like CIFAR-100's 500 "forest"
images), kept as one tensor on the device, as train() does for same-size images.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from trainer.config import TrainConfig
from trainer.data import ImageSet
from trainer.distributed import Dist
from trainer.recipes import get_recipe
from trainer.state import make_state, train_step


def texture_set(n: int, size: int, channels: int = 3) -> ImageSet:
    import skimage.data  # noqa: PLC0415

    rng = np.random.default_rng(0)
    sources = [skimage.data.gravel(), skimage.data.brick(), skimage.data.grass()]
    images = []
    for i in range(n):
        src = sources[i % 3]
        y, x = rng.integers(0, 512 - size, size=2)
        patch = src[y : y + size, x : x + size].astype(np.float32) / 127.5 - 1.0
        images.append(np.repeat(patch[None], channels, axis=0))
    return ImageSet(images, np.zeros(n, np.int64), (), "texture crops", "CC0")


# -- the plain loops: what one would write from the papers, no care for speed ----------------


def plain_wgan(G, D, opt_g, opt_d, X, cfg: TrainConfig, device):
    for _ in range(cfg.n_critic):
        idx = np.random.randint(0, len(X), cfg.batch)
        real = torch.from_numpy(X[idx]).to(device)
        z = torch.randn(cfg.batch, cfg.latent_size, device=device)
        fake = G(z).detach()
        loss_d = D(fake).mean() - D(real).mean()
        if cfg.algorithm == "wgan-gp":
            alpha = torch.rand(cfg.batch, 1, 1, 1, device=device)
            x_hat = (real + alpha * (fake - real)).requires_grad_(True)
            grad = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)[0]
            loss_d = loss_d + cfg.gp_lambda * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        if cfg.algorithm == "wgan":
            for p in D.parameters():
                p.data.clamp_(-cfg.clip, cfg.clip)
    z = torch.randn(cfg.batch, cfg.latent_size, device=device)
    loss_g = -D(G(z)).mean()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()


def plain_dcgan(G, D, opt_g, opt_d, X, cfg: TrainConfig, device):
    idx = np.random.randint(0, len(X), cfg.batch)
    real = torch.from_numpy(X[idx]).to(device)
    z = torch.randn(cfg.batch, cfg.latent_size, device=device)
    fake = G(z)
    ones, zeros = torch.ones(cfg.batch, 1, device=device), torch.zeros(cfg.batch, 1, device=device)
    loss_d = F.binary_cross_entropy_with_logits(D(real), ones) + F.binary_cross_entropy_with_logits(
        D(fake.detach()), zeros
    )
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    loss_g = F.binary_cross_entropy_with_logits(D(fake), ones)
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()


def plain_setup(cfg: TrainConfig, device):
    from trainer.networks import build_critic, build_generator  # noqa: PLC0415

    spec = cfg.net_spec()
    G, D = build_generator(spec).to(device), build_critic(spec).to(device)
    if cfg.optimizer == "rmsprop":
        opt_g, opt_d = (
            torch.optim.RMSprop(G.parameters(), lr=cfg.lr_g),
            torch.optim.RMSprop(D.parameters(), lr=cfg.lr_d),
        )
    else:
        betas = (cfg.beta1, cfg.beta2)
        opt_g, opt_d = (
            torch.optim.Adam(G.parameters(), cfg.lr_g, betas),
            torch.optim.Adam(D.parameters(), cfg.lr_d, betas),
        )
    return G, D, opt_g, opt_d


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    sync(device)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def flops_per_iteration(step) -> float:
    """FLOPs of one call, counted per aten op with torch's own formulas (convolutions, matmuls,
    and their backward passes). FlopCounterMode itself cannot be used: its module tracker
    breaks the double backward of the gradient penalty."""
    from torch.utils._python_dispatch import TorchDispatchMode  # noqa: PLC0415
    from torch.utils.flop_counter import flop_registry  # noqa: PLC0415

    class Count(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            formula = flop_registry.get(func._overloadpacket)
            if formula is not None:
                Count.total += formula(*args, **kwargs, out_val=out)
            return out

    with Count():
        step()
    return float(Count.total)


def bench(
    name: str,
    cfg: TrainConfig,
    data: ImageSet,
    device,
    iters: int,
    rounds: int,
    peak: float,
    round_seconds: float | None = None,
) -> dict:
    """Generator iterations/s and images/s of ours and the plain loop, and their share of `peak`.
    `round_seconds`: each timed block runs about that long (iterations counted from a timed
    warm-up call) instead of `iters` iterations, so a slow device cannot overrun a time limit."""
    torch.manual_seed(0)
    np.random.seed(0)
    s = make_state(cfg, data, device, Dist())
    X = data.stacked()
    plain = plain_setup(cfg, device)
    plain_fn = plain_dcgan if cfg.algorithm == "dcgan" else plain_wgan

    def ours_step():
        train_step(s)

    def plain_step():
        plain_fn(*plain, X, cfg, device)

    for fn in (ours_step, plain_step):  # warm up (allocator, oneDNN/cuDNN kernel choice)
        for _ in range(2):
            fn()
    flops = flops_per_iteration(ours_step)
    if round_seconds:
        slowest = 0.0
        for fn in (ours_step, plain_step):
            sync(device)
            t = time.perf_counter()
            fn()
            sync(device)
            slowest = max(slowest, time.perf_counter() - t)
        iters = max(1, int(round_seconds / slowest))
    rates = {"ours": [], "plain": []}
    for _ in range(rounds):  # alternate, so a machine that changes speed hits both alike
        for label, fn in (("ours", ours_step), ("plain", plain_step)):
            sync(device)
            t = time.perf_counter()
            for _ in range(iters):
                fn()
            sync(device)
            rates[label].append(iters / (time.perf_counter() - t))
    ours, base = statistics.median(rates["ours"]), statistics.median(rates["plain"])
    # Real images the critic reads per generator iteration (n_critic batches for the WGANs).
    images = cfg.batch * (cfg.n_critic if cfg.algorithm != "dcgan" else 1)
    print(
        f"{name:34s} ours {ours:7.2f} it/s   plain {base:7.2f} it/s   ratio {ours / base:5.2f}   "
        f"{flops / 1e9:6.2f} GFLOP/it   ours {100 * ours * flops / peak:5.1f}% / plain "
        f"{100 * base * flops / peak:5.1f}% of matmul peak",
        flush=True,
    )
    return {
        "iterations_per_round": iters,
        "rounds": rounds,
        "ours_it_per_s": ours,
        "plain_it_per_s": base,
        "ratio": ours / base,
        "ours_images_per_s": ours * images,
        "plain_images_per_s": base * images,
        "gflop_per_it": flops / 1e9,
        "ours_peak_share": ours * flops / peak,
        "plain_peak_share": base * flops / peak,
    }


def course_schedule(device, steps: int | None = None, minutes: float | None = None) -> dict:
    """The course's whole schedule (4,000 generator iterations, batch 32) through train(), data,
    final evaluation and export included; `steps` shortens it (smoke runs). `minutes` stops the
    training there (train()'s own budget): the whole schedule's time is then extrapolated from
    the iterations done, and said to be."""
    import tempfile  # noqa: PLC0415

    from trainer.loop import train  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "forest"
        folder.mkdir()
        from PIL import Image  # noqa: PLC0415

        for i, img in enumerate(texture_set(500, 32).images):
            Image.fromarray(np.round((img.transpose(1, 2, 0) + 1) * 127.5).astype(np.uint8)).save(
                folder / f"{i:03d}.png"
            )
        cfg = dataclasses.replace(get_recipe("lanham-wgan-32"), data=str(folder), out=str(Path(tmp) / "runs"),
                                  device=device.type, sample_every=0, checkpoint_every=0, eval_every=0,
                                  minutes=minutes)  # fmt: skip
        if steps:
            cfg.steps = steps
        events: list[dict] = []
        t = time.perf_counter()
        train(cfg, events.append)
        seconds = time.perf_counter() - t
        done = next(e for e in events if e["event"] == "done")["step"]
        trained = [e for e in events if e["event"] == "step"]
        out = {"iterations": cfg.steps, "iterations_done": done, "batch": cfg.batch, "seconds": seconds,
               "completed": done >= cfg.steps}  # fmt: skip
        if done < cfg.steps and trained:
            rate = trained[-1]["step"] / trained[-1]["elapsed_s"]
            out["iterations_per_s"] = rate
            out["whole_schedule_s_extrapolated"] = seconds + (cfg.steps - done) / rate
        what = (
            "whole"
            if out["completed"]
            else f"{done:,} of {cfg.steps:,} iterations, whole extrapolated to "
            f"{out.get('whole_schedule_s_extrapolated', float('nan')):.0f} s"
        )
        print(f"course schedule (lanham-wgan-32, {cfg.steps:,} iterations, batch 32) through train(): "
              f"{seconds:.1f} s including data, final evaluation and export ({what})")  # fmt: skip
        return out


def bench_all(
    device, iters: int, rounds: int, quick: bool = False, shrink: int = 1, round_seconds: float | None = None
) -> dict:
    """The three loops of the module's docstring: {name: bench()'s figures}, and the peak.
    `shrink` divides the batches (a smoke run of bench/gpu_run.py on a CPU); `round_seconds`
    times each block by the clock rather than by `iters` (see bench())."""
    peak = matmul_peak(device)
    print(f"device {device}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
          f"fp32 matmul peak {peak / 1e9:.1f} GFLOP/s; {rounds} alternating rounds of {iters} iterations")  # fmt: skip
    small, large = texture_set(500, 32), texture_set(500 if not quick else 200, 64)
    common = dict(data="bench", device=device.type, amp="auto")
    lanham = dataclasses.replace(get_recipe("lanham-wgan-32"), batch=64 // shrink, **common)
    out = {"fp32_matmul_peak_gflop_s": peak / 1e9}
    out["lanham-wgan-32"] = bench(
        f"lanham-wgan-32 (b{lanham.batch}, n_critic 5)", lanham, small, device, iters, rounds, peak, round_seconds
    )
    if device.type != "cpu":  # job 3: bf16 autocast made ours slower than the plain loop on an H200
        bf16 = dataclasses.replace(lanham, amp="bf16")
        out["lanham-wgan-32-bf16"] = bench(f"lanham-wgan-32 (b{bf16.batch}, n_critic 5, bf16)", bf16, small, device,
                                           iters, rounds, peak, round_seconds)  # fmt: skip
    gp = dataclasses.replace(lanham, algorithm="wgan-gp", optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.9)
    out["wgan-gp"] = bench(
        f"lanham networks, WGAN-GP (b{gp.batch})", gp, small, device, iters, rounds, peak, round_seconds
    )
    dcgan = dataclasses.replace(get_recipe("foster-dcgan-64"), channels=3, batch=128 // shrink, **common)
    out["foster-dcgan-64"] = bench(
        f"foster-dcgan-64 (b{dcgan.batch})", dcgan, large, device, max(1, iters // 2), rounds, peak, round_seconds
    )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer iterations")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--course", action="store_true", help="also time the course's whole schedule")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    iters, rounds = (2, 3) if args.quick else (5, 5)
    bench_all(device, iters * (20 if device.type == "cuda" else 1), rounds, args.quick)
    if args.course:
        course_schedule(device)


if __name__ == "__main__":
    main()
