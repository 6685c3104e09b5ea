"""Is training healthy? Losses that explode, outputs pinned at the range's ends, outputs that
no longer depend on the latent: each is found here and said as a plain sentence with what to
change, so a broken run never ends as quietly as a good one.

- Losses: each logged average against its running level (the median of the last LEVEL_WINDOWS
  healthy windows, at least 1): LOSS_GROWTH times above it is divergence. A loss that drifts
  slowly (a WGAN critic's does) moves its level with it.
- Outputs, on a small batch of fixed latents: more than SATURATED_SHARE of the pixels within
  SATURATION of -1 or 1 is saturation; a spread across the latents under SAME_SPREAD (images in
  [-1, 1]) is mode collapse: every seed draws the same picture.
"""

from __future__ import annotations

import statistics
from collections import deque

import numpy as np

LOSS_GROWTH = 100.0  # two orders of magnitude over the running level
LEVEL_WINDOWS = 20
SATURATION = 0.99
SATURATED_SHARE = 0.5
SAME_SPREAD = 0.02
FIX = "lower the learning rates (--set lr_g=0.0001 --set lr_d=0.0001) or use a wgan-gp preset"


class LossWatch:
    """The running level of each loss; `check` names the losses that exploded over it."""

    def __init__(self) -> None:
        self.history: dict[str, deque] = {}

    def check(self, losses: dict[str, float], step: int) -> str | None:
        """A divergence sentence, or None (then these losses join the level)."""
        exploded = []
        for key, value in losses.items():
            past = self.history.get(key)
            if past:
                level = max(1.0, statistics.median(past))
                if abs(value) > LOSS_GROWTH * level:
                    exploded.append(f"{key} {value:.4g} against its level {level:.3g}")
        if exploded:
            several = len(exploded) > 1
            return (f"training diverged at step {step}: the {'losses grew' if several else 'loss grew'} over "
                    f"{LOSS_GROWTH:g} times {'their' if several else 'its'} running level ({'; '.join(exploded)}); {FIX}")  # fmt: skip
        for key, value in losses.items():
            self.history.setdefault(key, deque(maxlen=LEVEL_WINDOWS)).append(abs(value))
        return None


def output_problems(images: np.ndarray, step: int, labels: np.ndarray | None = None) -> list[str]:
    """Sentences for what is wrong with a batch of outputs (NCHW in [-1, 1]) of different
    latents: saturated, or the same for every latent. [] when neither. With `labels` (a
    conditional model's classes) the spread is read among the latents of each class: classes
    that each draw one image differ from each other, and that is still a collapse."""
    problems = []
    share = float(np.mean(np.abs(images) >= SATURATION))
    if share > SATURATED_SHARE:
        problems.append(f"the generator's output is saturated at step {step}: {100 * share:.0f}% of its pixels "
                        f"sit at black or white; {FIX}")  # fmt: skip
    groups = [images] if labels is None else [images[labels == c] for c in np.unique(labels)]
    groups = [g for g in groups if len(g) > 1]
    if groups:
        spread = float(np.mean([g.std(axis=0).mean() for g in groups]))
        if spread < SAME_SPREAD:
            problems.append(f"mode collapse at step {step}: every latent draws the same image (spread "
                            f"{spread:.3g} across seeds, under {SAME_SPREAD}); {FIX}")  # fmt: skip
    return problems
