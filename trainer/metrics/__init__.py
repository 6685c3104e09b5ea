"""GAN quality metrics that need no pretrained network: numpy only, fast enough for training.

- `swd`: multi-scale sliced Wasserstein distance (ProGAN), x 1e3 per pyramid level and mean.
- `memorisation`: nearest-training-image L1 distances and their ratio (Foster, ch. 4).
- `seam_metric`: mean seam score of tileable samples (texgen.seamless.seam_score).
- `evaluate`: all of them in one dict, as logged in stats.jsonl and stored in the model file.

Every function takes `batch` arrays: NCHW float32 in [-1, 1], C = 1 or 3.
"""

from trainer.metrics.evaluation import evaluate, seam_metric
from trainer.metrics.nearest_neighbours import memorisation
from trainer.metrics.sliced_wasserstein import swd

__all__ = ["evaluate", "memorisation", "seam_metric", "swd"]
