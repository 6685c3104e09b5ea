"""Colour photographs of surfaces for the bundled material model, from a Debian package.

    python3 assets/models/prepare_colour_data.py data [--work DIR]

Debian's `supertuxkart-data` (bookworm: 1.4+dfsg-2, a 628 MB download by `apt-get download`,
no root needed) ships, among game art under other licences, real photographs of rock, ground,
sand, wood and brick that its copyright file (machine-readable, DEP-5) marks CC0 or public
domain. This script downloads the package (or reuses it in --work), takes the files listed in
SOURCES, checks each one's licence against that copyright file (the last matching `Files:`
paragraph wins, as in Debian) and refuses to copy any that is not CC0 or public domain, then
writes them as `--kind material --conditional` training data:

    data/colour-materials/<class>/<material>/<material>_Color.jpg   (and _NormalDX / _NormalGL)

with LICENSE.txt (the governing copyright paragraphs, quoted) and MANIFEST.tsv (every file's
source path and licence) beside them. Survey of what else was searched: docs/materials.md.

Normal maps: the package's are mostly DirectX ("green down") and one is OpenGL. Which is which
was measured: the correlation of each map's green with the green of normals derived from its
own photograph (texgen.materials.derive_from_photo) is -0.57 to -0.87 for the DirectX ones and
+0.91 for forest_floor; red agrees in every one (+0.59 to +0.91). The ambientCG ice scan, whose
normals agree with neither (-0.20, +0.25), is left out, as is a rock photo tiled as a mirror
image (snowrock).
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = "supertuxkart-data"
ROOT = "usr/share/games/supertuxkart/data"
COPYRIGHT = f"usr/share/doc/{PACKAGE}/copyright"
FREE = {"CC0", "CC0-1.0", "public-domain"}

# class -> material -> (colour file, normal file or None, its convention "DX" / "GL")
SOURCES: dict[str, dict[str, tuple[str, str | None, str]]] = {
    "rock": {
        "rock_mountain_a": ("textures/rockMountain.jpg", None, ""),
        "rock_mountain_b": ("textures/rock_mountain.jpg", None, ""),
        "rock_wall": ("textures/rockwall.jpg", None, ""),
        "rock_waterfall": ("textures/rockwaterfall.jpg", None, ""),
        "rock_to_grass": ("textures/rockTograss.jpg", None, ""),
        "rock_black_a": ("textures/blackrock.jpg", None, ""),
        "rock_black_b": ("textures/black_rockMountain.jpg", None, ""),
        "rock_black_c": ("textures/to_black_rockMountain.jpg", None, ""),
        "rock_gray": ("tracks/black_forest/rock_gray.jpg", None, ""),
    },
    "ground": {
        "forest_floor": ("tracks/black_forest/forest_floor.jpg", "tracks/black_forest/forest_floor_nm.jpg", "GL"),
        "ground010": ("tracks/cave/Ground010_1K_Color.png", "tracks/cave/Ground010_1K_Normal.png", "DX"),
        "sand_road": ("tracks/sandtrack/road.jpg", "tracks/sandtrack/road_nm.png", "DX"),
        "sand_dunes": ("tracks/sandtrack/sand.png", "tracks/sandtrack/sand_nm.png", "DX"),
        "paving_hacienda": ("textures/hacienda_ground.jpg", None, ""),
    },
    "wood": {
        "wood_old": ("textures/oldWood.png", None, ""),
        "wood_bridge": ("textures/woodBridge.jpg", None, ""),
        "wood_planks": ("textures/wood_planks1.jpg", None, ""),
    },
    "brick": {
        "brick_old_round": (
            "tracks/ancient_colosseum_labyrinth/3td_BrickOldRound_01.jpg",
            "tracks/ancient_colosseum_labyrinth/3td_BrickOldRound_01_NRM.png",
            "DX",
        ),
        "sandstone_blocks": ("textures/pyramidwall.jpg", "textures/pyramidwall_nm.png", "DX"),
        "roof_tiles": ("tracks/black_forest/roof_3.jpg", None, ""),
    },
}  # fmt: skip


def fetch(work: Path) -> tuple[Path, str]:
    """The package's files unpacked under `work` (downloaded once), and its version."""
    work.mkdir(parents=True, exist_ok=True)
    debs = sorted(work.glob(f"{PACKAGE}_*.deb"))
    if not debs:
        print(f"downloading {PACKAGE} (about 630 MB) with apt-get ...", flush=True)
        subprocess.run(["apt-get", "download", PACKAGE], cwd=work, check=True)
        debs = sorted(work.glob(f"{PACKAGE}_*.deb"))
    deb = debs[-1]
    unpacked = work / PACKAGE
    if not (unpacked / COPYRIGHT).exists():
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True, check=True)
    return unpacked, version.stdout.strip()


def paragraphs(copyright_text: str) -> list[tuple[list[str], str, str]]:
    """(file patterns, licence, paragraph text) of each `Files:` paragraph of a DEP-5 file."""
    out = []
    for para in copyright_text.split("\n\n"):
        files = re.search(r"^Files:(.*?)(?=^\S)", para + "\nX", re.M | re.S)
        licence = re.search(r"^License: *(.*)$", para, re.M)
        if files and licence:
            out.append((files.group(1).split(), licence.group(1).strip(), para.strip()))
    return out


def licence_of(path: str, paras: list[tuple[list[str], str, str]]) -> tuple[str, str] | None:
    """The licence of `path` (relative to the package's data folder's parent, as the copyright
    file names it): the last paragraph whose pattern matches, as Debian reads DEP-5."""
    found = None
    for patterns, licence, text in paras:
        if any(fnmatch.fnmatchcase(path, p) for p in patterns):
            found = (licence, text)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the data folder (writes data/colour-materials)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/texgen-debs"), help="where the package is kept")
    args = parser.parse_args()
    unpacked, version = fetch(args.work)
    paras = paragraphs((unpacked / COPYRIGHT).read_text(encoding="utf-8"))
    out = args.data / "colour-materials"
    tmp = out.with_name(out.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    manifest = ["file\tsource\tlicence"]
    quoted: dict[str, None] = {}
    for cls, materials in SOURCES.items():
        for name, (colour, normal, convention) in materials.items():
            folder = tmp / cls / name
            folder.mkdir(parents=True)
            files = [(colour, f"{name}_Color{Path(colour).suffix}")]
            if normal:
                files.append((normal, f"{name}_Normal{convention}{Path(normal).suffix}"))
            own: dict[str, str] = {}  # this material's licences and their paragraphs
            for src, dst in files:
                found = licence_of(f"data/{src}", paras)
                if found is None or found[0] not in FREE:
                    print(f"error: {src} in {PACKAGE} {version} is not CC0 or public domain "
                          f"({found[0] if found else 'no licence found'}); not copied", file=sys.stderr)  # fmt: skip
                    shutil.rmtree(tmp, ignore_errors=True)
                    return 2
                quoted[found[1]] = None
                own[found[1]] = found[0]
                shutil.copyfile(unpacked / ROOT / src, folder / dst)
                manifest.append(f"{cls}/{name}/{dst}\t{PACKAGE} {version}:/{ROOT}/{src}\t{found[0]}")
            # A material trains on its own too (the bundled ground-material learns one), so its
            # folder says its own files' licence.
            (folder / "LICENSE.txt").write_text(
                f"{' and '.join(sorted(set(own.values())))}, as stated for these files by the Debian package {PACKAGE} {version}\n"
                f"(/{COPYRIGHT}). Files copied unchanged and renamed (see ../../MANIFEST.tsv).\n"
                "The governing paragraphs:\n\n" + "\n\n".join(own) + "\n"
            )
    (tmp / "MANIFEST.tsv").write_text("\n".join(manifest) + "\n")
    licence = (
        f"CC0 1.0 or public domain, as stated for each file in /{COPYRIGHT} of the Debian package\n"
        f"{PACKAGE} {version} (the last matching Files: paragraph decides). Files copied unchanged\n"
        "and renamed; MANIFEST.tsv gives each one's source path. The governing paragraphs:\n\n"
        + "\n\n".join(quoted)
        + "\n"
    )
    for folder in (tmp, *(tmp / cls for cls in SOURCES)):  # each class trains on its own too
        (folder / "LICENSE.txt").write_text(licence)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"wrote {out}: {len(manifest) - 1} files, {sum(len(m) for m in SOURCES.values())} materials in "
          f"{len(SOURCES)} classes ({', '.join(SOURCES)})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
