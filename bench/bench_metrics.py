"""Time the training metrics at the sizes the training loop uses, on one core.

    OPENBLAS_NUM_THREADS=1 python bench/bench_metrics.py

Real data: random 64x64 crops of scikit-image's astronaut (RGB) as the "real" set and of
chelsea as the "fake" one (scikit-image comes with the test tools: pip install -e ".[test]").
"""

from __future__ import annotations

import time

import numpy as np
import skimage.data

from trainer.metrics import memorisation, swd


def crops(img: np.ndarray, n: int, size: int, seed: int) -> np.ndarray:
    batch = np.asarray(img, np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    rng = np.random.default_rng(seed)
    ys = rng.integers(0, batch.shape[1] - size + 1, n)
    xs = rng.integers(0, batch.shape[2] - size + 1, n)
    return np.stack([batch[:, y : y + size, x : x + size] for y, x in zip(ys, xs)])


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    real = crops(skimage.data.astronaut(), 256, 64, 0)
    fake = crops(skimage.data.chelsea(), 256, 64, 1)
    train = crops(skimage.data.astronaut(), 2000, 64, 2)
    swd_s = best_of(3, lambda: swd(real, fake))
    memorisation_s = best_of(1, lambda: memorisation(fake, train))
    print(f"swd 256 vs 256, 64x64x3:           {swd_s:.2f} s")
    print(f"memorisation 256 vs 2000, 64x64x3: {memorisation_s:.2f} s")


if __name__ == "__main__":
    main()
