"""Write the training data of the bundled models into a folder, from the packages that ship it.

    python assets/models/prepare_data.py data/

gives data/cc0-textures/{gravel,brick,grass,moon}/*.png (scikit-image's CC0 / public domain
512x512 photographs, one sub-folder per class) and data/dem/*.npy (matplotlib's public-domain
USGS elevation samples). Only data that may be redistributed goes into bundled models.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

TEXTURES = ("gravel", "brick", "grass", "moon")  # skimage.data: CC0 (CC0Textures) / public domain
DEMS = {"jacksboro_fault_dem.npz": "elevation", "topobathy.npz": "topo"}  # matplotlib: USGS, public domain


def main(out: Path) -> None:
    import skimage.data  # noqa: PLC0415
    from matplotlib import cbook  # noqa: PLC0415

    for name in TEXTURES:
        folder = out / "cc0-textures" / name
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(getattr(skimage.data, name)()).save(folder / f"{name}.png")
        (folder / "LICENSE").write_text("CC0 1.0 / public domain (scikit-image data, from CC0Textures / NASA)\n")
    dem = out / "dem"
    dem.mkdir(parents=True, exist_ok=True)
    for file, key in DEMS.items():
        with np.load(cbook.get_sample_data(file, asfileobj=False)) as data:
            np.save(dem / file.replace(".npz", ".npy"), data[key].astype(np.float32))
    (dem / "LICENSE").write_text("public domain (USGS elevation data, matplotlib sample data)\n")
    print(f"wrote {out / 'cc0-textures'} and {dem}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data"))
