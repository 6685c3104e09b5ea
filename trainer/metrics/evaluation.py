"""One call that scores a generator's samples against its training data, for logs and export.

The training loop logs the returned dict each evaluation step; the exporter stores the last
one in the model metadata (`GeneratorInfo.metrics`). No pretrained network is involved, so it
runs offline and on any data.
"""

from __future__ import annotations

import numpy as np

from trainer.metrics.nearest_neighbours import memorisation
from trainer.metrics.sliced_wasserstein import swd


def evaluate(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    tileable: bool,
    seed: int = 0,
    period: int = 1,
    seam_images: np.ndarray | None = None,
) -> dict[str, float]:
    """SWD per level and mean, memorisation medians and ratio, and `seam_score` if tileable.

    `real` (training crops) and `fake` (generated) are NCHW batches in [-1, 1] of the same
    (C, H, W); the counts may differ. `real` doubles as the training set searched by the
    memorisation check, so pass crops of the images the model trains on. `period`: the
    generator's pixels per latent cell, for the seam score (see `seam_metric`).
    `seam_images`: the whole generated images the seam is scored on, when `fake` holds
    windows cut from them to match the crops' size (a window has no wrap to score).
    """
    result = swd(real, fake, seed=seed)
    result.update(memorisation(fake, real, seed=seed))
    if tileable:
        result["seam_score"] = seam_metric(fake if seam_images is None else seam_images, period)
    return result


def seam_metric(fake: np.ndarray, period: int = 1) -> float:
    """Mean `texgen.seamless.seam_score` over a batch: about 1.0 when every sample tiles.

    A generator that wraps by construction should stay near 1.0; a crop of a photograph
    scores 1.5 to 3. `period`: a spatial generator's pixels per latent cell, so the wrap
    pair is compared with the interior pairs that also straddle two cells.
    """
    from texgen.seamless import seam_score  # the runtime's definition, shared, not copied  # noqa: PLC0415

    batch = np.asarray(fake)
    if batch.ndim != 4 or batch.shape[1] not in (1, 3) or len(batch) == 0:
        raise ValueError(f"fake has shape {batch.shape}; pass an NCHW batch with C = 1 or 3")
    images = (np.clip(batch, -1.0, 1.0).transpose(0, 2, 3, 1) + 1.0) / 2.0  # NHWC in [0, 1]
    return float(np.mean([seam_score(img, period) for img in images.astype(np.float32)]))
