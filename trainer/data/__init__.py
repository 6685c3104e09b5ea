"""Training data: every source (CIFAR-100, an image folder, a DEM file) behind one contract.

    data = open_dataset("cifar100:forest", crop=32)          # or a folder, or a .npz DEM
    batch, labels = data.batch(np.random.default_rng(0), 64, 32)   # NCHW float32 in [-1, 1]
"""

from .imageset import ImageSet
from .spec import CifarSpec, PathSpec, describe_spec, open_dataset, parse_spec

__all__ = ["CifarSpec", "ImageSet", "PathSpec", "describe_spec", "open_dataset", "parse_spec"]
