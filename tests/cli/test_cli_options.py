"""CLI features a user reaches for that no other test pinned down: --resample, --start, the
default --count, --progress json, --threads, `texgen presets` / `texgen models`, the README's
first command, and the user model folder. Real models run by onnxruntime, written files read
back with readers that are not texgen's writers (tests/png_decoder.py, numpy, onnx)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from png_decoder import read_png
from texgen import service
from texgen.cli import main as cli_main
from texgen.latents import MAX_SEED
from texgen.presets import PRESETS

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "assets" / "models"
UNITY_TERRAIN_SIZES = [33, 65, 129, 257, 513, 1025, 2049, 4097]  # docs/export-formats.md: 2^n + 1, 33 ... 4097


def run(capsys, *args: str) -> tuple[int, str, str]:
    """`texgen ARGS` in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()  # drop whatever an earlier step printed
    rc = cli_main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("note:")]


def sidecar(path: Path) -> dict:
    return json.loads(Path(str(path) + ".json").read_text())


def seeds_in(folder: Path, model: str, map_: str, suffix: str) -> list[int]:
    """The seeds of the files `{model}_{seed}_{map}{suffix}` in `folder`, from their names."""
    pattern = re.compile(rf"^{re.escape(model)}_(\d+)_{map_}{re.escape(suffix)}$")
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := pattern.match(p.name)))


# --- 1. --resample -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "snapped"),
    [
        ("500", 513),  # the README's case: between 257 and 513, nearer 513
        ("97", 129),  # halfway between 65 and 129: ties go up, so no detail is lost
        ("40", 33),  # nearer the smaller size: snapped down
        ("70x40", 65),  # not square: the larger side, snapped and squared
    ],
)
def test_resample_snaps_a_size_the_preset_cannot_take(size, snapped, models, tmp_path, capsys):
    args = [
        "generate",
        "-m",
        str(models.spatial_height),
        "--preset",
        "unity-terrain",
        "--size",
        size,
        "--seeds",
        "3",
        "--device",
        "cpu",
    ]
    # Without --resample the size is refused, naming the fix, and nothing is written.
    rc, _, err = run(capsys, *args, "-o", str(tmp_path / "refused"))
    assert rc == 2
    (line,) = errors(err)
    assert "unity-terrain" in line and "add --resample" in line, line
    assert not (tmp_path / "refused").exists()

    out = tmp_path / "snapped"
    rc, _, err = run(capsys, *args, "--resample", "-o", str(out))
    assert rc == 0, err
    w, h = (int(v) for v in (size.split("x") if "x" in size else (size, size)))
    assert notes(err) == [
        f"note: spatial-height: size {w}x{h} resampled to {snapped}x{snapped} for preset unity-terrain"
    ]
    raw = out / "spatial-height_3_height.raw"
    assert raw.stat().st_size == 2 * snapped * snapped
    heights = np.fromfile(raw, "<u2").reshape(snapped, snapped)
    assert heights.std() > 100  # a real heightfield
    assert np.array_equal(heights[0], heights[-1]) and np.array_equal(
        heights[:, 0], heights[:, -1]
    )  # 2^n + 1 shared edge
    preview = read_png(out / "spatial-height_3_hillshade.png")
    assert (preview.width, preview.height) == (snapped, snapped)
    side = sidecar(raw)
    assert side["size"] == {"height": snapped, "width": snapped}
    assert f"--size {snapped} " in side["regenerate"] + " " and "--resample" not in side["regenerate"]


def test_resample_leaves_a_size_the_preset_takes(models, tmp_path, capsys):
    out = tmp_path / "o"
    rc, _, err = run(
        capsys,
        "generate",
        "-m",
        str(models.spatial_height),
        "--preset",
        "unity-terrain",
        "--size",
        "65",
        "--resample",
        "--seeds",
        "1",
        "-o",
        str(out),
        "--device",
        "cpu",
    )
    assert rc == 0 and notes(err) == [], err
    assert (out / "spatial-height_1_height.raw").stat().st_size == 2 * 65 * 65


# --- 2. --start ----------------------------------------------------------------------------


def test_start_is_the_first_seed_of_a_count(models, tmp_path, capsys):
    base = ["generate", "-m", str(models.spatial_rgb), "--size", "32", "--device", "cpu"]
    started, listed = tmp_path / "started", tmp_path / "listed"
    assert run(capsys, *base, "--count", "3", "--start", "5", "-o", str(started))[0] == 0
    assert run(capsys, *base, "--seeds", "5-7", "-o", str(listed))[0] == 0
    names = sorted(p.name for p in started.glob("*.png"))
    assert names == [f"spatial-rgb_{s}_albedo.png" for s in (5, 6, 7)]
    assert sorted(p.name for p in started.glob("*.json")) == [n + ".json" for n in names]
    for seed, name in zip((5, 6, 7), names):
        side = sidecar(started / name)
        assert side["seed"] == seed and f"--seeds {seed} " in side["regenerate"]
        mine, theirs = read_png(started / name).pixels, read_png(listed / name).pixels
        assert mine.shape == (32, 32, 3) and mine.std() > 5
        assert np.array_equal(mine, theirs)  # seed 5 of --start 5 is --seeds 5's image
    # ... and not seed 0's image under seed 5's name.
    assert run(capsys, *base, "--seeds", "0", "-o", str(tmp_path / "zero"))[0] == 0
    assert not np.array_equal(
        read_png(started / names[0]).pixels, read_png(tmp_path / "zero" / "spatial-rgb_0_albedo.png").pixels
    )


def test_start_past_the_largest_seed_is_refused_before_anything_is_written(models, tmp_path, capsys):
    """--start and --count were not checked against the largest seed (--seeds is): the seeds in
    range were written before the first one past it failed the run."""
    out = tmp_path / "o"
    rc, _, err = run(
        capsys,
        "generate",
        "-m",
        str(models.spatial_rgb),
        "--size",
        "32",
        "--start",
        str(MAX_SEED - 1),
        "--count",
        "3",
        "--batch-size",
        "1",
        "-o",
        str(out),
        "--device",
        "cpu",
    )
    assert rc == 2 and len(errors(err)) == 1, err
    assert f"--start {MAX_SEED - 1} with --count 3 goes past the largest seed {MAX_SEED}" in err
    # As for --seeds with the same seeds: found before anything is made, the folder included.
    assert not out.exists(), sorted(p.name for p in out.iterdir())


# --- 3. --progress json ------------------------------------------------------------------


def test_progress_json_counts_every_image_over_all_models(tmp_path, capsys):
    """The bundled defaults (two models), two seeds each: four images, counted across models."""
    out = tmp_path / "o"
    rc, stdout, err = run(
        capsys, "generate", "--seeds", "0,1", "--size", "33", "--progress", "json", "-o", str(out), "--device", "cpu"
    )
    assert rc == 0, err
    events = [json.loads(line) for line in stdout.splitlines()]  # every line is one JSON object
    assert len(events) == 5 and all(isinstance(e, dict) for e in events)
    progress, done = events[:-1], events[-1]
    assert [e["event"] for e in progress] == ["progress"] * 4
    assert [(e["done"], e["total"]) for e in progress] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [(e["model"], e["seed"]) for e in progress] == [
        ("stone-texture", 0),
        ("stone-texture", 1),
        ("terrain", 0),
        ("terrain", 1),
    ]
    assert all(e["frame"] is None for e in progress)
    listed = [Path(f) for e in progress for f in e["files"]]
    written = sorted(p for p in out.iterdir() if not p.name.endswith(".json"))
    assert sorted(listed) == written and len(written) == 2 + 2 * 2  # albedo; height + hillshade
    assert done["event"] == "done" and done["files"] == 6 and done["skipped"] == 0
    assert done["devices"] == {"stone-texture": "cpu", "terrain": "cpu"}
    assert "wrote" not in stdout  # the text summary is not mixed into the JSON lines


def test_progress_json_counts_skipped_images_as_done(models, tmp_path, capsys):
    out = tmp_path / "o"
    args = [
        "generate",
        "-m",
        str(models.spatial_rgb),
        "--size",
        "32",
        "--seeds",
        "4-6",
        "--progress",
        "json",
        "-o",
        str(out),
        "--device",
        "cpu",
    ]
    assert run(capsys, *args)[0] == 0
    (out / "spatial-rgb_5_albedo.png").unlink()
    rc, stdout, _ = run(capsys, *args, "--skip-existing")
    assert rc == 0
    events = [json.loads(line) for line in stdout.splitlines()]
    assert [(e["event"], e.get("done"), e.get("total"), e.get("seed")) for e in events[:-1]] == [
        ("progress", 2, 3, None),  # the two images already there, counted at once
        ("progress", 3, 3, 5),
    ]
    assert events[1]["files"] == [str(out / "spatial-rgb_5_albedo.png")]
    assert events[-1]["event"] == "done" and events[-1]["files"] == 1 and events[-1]["skipped"] == 2


# --- 4. --threads ------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "threads", "intra_op"), [(["--threads", "1"], 1, 1), ([], None, 0)])
def test_threads_reach_the_onnxruntime_session(given, threads, intra_op, models, tmp_path, capsys, monkeypatch):
    """--threads goes from the command line to the loader and into onnxruntime's session
    options; left out, onnxruntime picks (0 = all cores)."""
    real, loaded = service.load_generator, []

    def spy(*args, **kwargs):
        gen = real(*args, **kwargs)
        loaded.append((kwargs.get("threads"), gen))
        return gen

    monkeypatch.setattr(service, "load_generator", spy)
    rc, _, err = run(
        capsys,
        "generate",
        "-m",
        str(models.spatial_rgb),
        "--size",
        "32",
        "--seeds",
        "1",
        *given,
        "-o",
        str(tmp_path / "o"),
        "--device",
        "cpu",
    )
    assert rc == 0, err
    ((passed, gen),) = loaded
    assert passed == threads
    assert gen.runtime.session.get_session_options().intra_op_num_threads == intra_op
    assert (tmp_path / "o" / "spatial-rgb_1_albedo.png").is_file()


# --- 5. the default --count ----------------------------------------------------------------


def test_default_count_writes_as_many_seeds_as_help_says(models, tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        cli_main(["generate", "--help"])
    assert done.value.code == 0
    helptext = " ".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere
    m = re.search(r"--count COUNT .*?\(default (\d+)\)", helptext)
    assert m, helptext
    default = int(m.group(1))
    assert default > 1  # so one image too few or too many shows

    out = tmp_path / "o"
    rc, stdout, _ = run(
        capsys, "generate", "-m", str(models.spatial_rgb), "--size", "32", "-o", str(out), "--device", "cpu"
    )
    assert rc == 0
    assert seeds_in(out, "spatial-rgb", "albedo", ".png") == list(range(default))  # --start defaults to 0
    assert len(list(out.glob("*.png"))) == default and len(list(out.glob("*.png.json"))) == default
    assert stdout.startswith(f"wrote {default} files to ")


# --- 6. texgen presets / texgen models -----------------------------------------------------


def test_presets_lists_every_preset_with_its_fields(capsys):
    rc, text, _ = run(capsys, "presets")
    assert rc == 0
    rows = [line.strip() for line in text.splitlines() if line.strip()]
    assert [r.split()[0] for r in rows] == list(PRESETS)
    for row, preset in zip(rows, PRESETS.values()):
        assert " ".join(row.split()[1:]) == " ".join(preset.description.split())

    rc, text, _ = run(capsys, "presets", "--json")
    assert rc == 0
    table = json.loads(text)
    assert list(table) == list(PRESETS)
    for name, preset in PRESETS.items():
        assert table[name] == json.loads(json.dumps(dataclasses.asdict(preset))), name
    # What the preset table of docs/export-formats.md promises, field by field.
    for name, order in (("unity-terrain", "little"), ("unity-terrain-mac", "big")):
        p = table[name]
        assert (p["height_format"], p["byte_order"], p["flip_vertical"], p["default_size"]) == (
            "raw16",
            order,
            True,
            513,
        )
        assert p["sizes"] == UNITY_TERRAIN_SIZES and p["heightmap_maps"] == ["height", "hillshade"]
    assert (
        table["godot-terrain"]["height_format"] == "r16" and table["godot-terrain"]["sizes"] == UNITY_TERRAIN_SIZES[1:]
    )
    assert (
        table["unreal-landscape-r16"]["height_format"] == "r16"
        and table["unreal-landscape"]["height_format"] == "png16"
    )
    assert {n: table[n]["normal_convention"] for n in ("unity-texture", "unreal-texture", "godot-texture")} == {
        "unity-texture": "opengl",
        "unreal-texture": "directx",
        "godot-texture": "opengl",
    }
    assert table["png16"]["texture_maps"] == ["albedo", "height"] and table["png8"]["height_format"] == "png8"
    assert table["unity-texture"]["texture_maps"] == ["albedo", "normal"]


def test_models_json_lists_the_bundled_models_with_their_metadata(capsys):
    rc, text, _ = run(capsys, "models", "--json")
    assert rc == 0
    rows = json.loads(text)
    files = sorted(BUNDLED.glob("*.onnx"))
    assert len(files) >= 2
    assert [r["name"] for r in rows] == [f.stem for f in files]  # the user folder is empty here
    for row, path in zip(rows, files):
        # The metadata as the onnx package reads it from the file, not as texgen's loader does.
        meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        assert row["source"] == "bundled" and Path(row["path"]).resolve() == path.resolve()
        assert "error" not in row, row
        assert row["kind"] == meta["texgen.kind"]
        assert row["size"] == f"{meta['texgen.native_width']}x{meta['texgen.native_height']}"
        assert row["tileable"] == (meta["texgen.tileable"] == "true")
        assert row["classes"] == json.loads(meta["texgen.classes"])
        assert row["default"] == (path.stem in ("stone-texture", "terrain"))
    by_name = {r["name"]: r for r in rows}
    assert by_name["terrain"]["kind"] == "heightmap" and by_name["stone-texture"]["kind"] == "texture"


# --- 7. README step 1 ------------------------------------------------------------------------


def test_readme_first_command_writes_seamless_textures_and_a_unity_heightfield(tmp_path, monkeypatch, capsys):
    """`texgen generate --out textures` from the README, with one seed (the default count is
    the test above): the bundled defaults, their default presets and sizes, with sidecars."""
    monkeypatch.chdir(tmp_path)
    rc, _, err = run(capsys, "generate", "--out", "textures", "--count", "1")
    assert rc == 0, err
    out = tmp_path / "textures"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        n + s
        for n in ("stone-texture_0_albedo.png", "terrain_0_height.raw", "terrain_0_hillshade.png")
        for s in ("", ".json")
    )

    # A seamless 512 texture: across the wrap, rows and columns differ as much as neighbours
    # do, and far less than rows half an image apart.
    albedo = read_png(out / "stone-texture_0_albedo.png")
    assert (albedo.width, albedo.height, albedo.bit_depth) == (512, 512, 8)
    px = albedo.pixels.astype(float)
    assert px.std() > 5
    for axis in (0, 1):
        a = np.moveaxis(px, axis, 0)
        neighbours = np.abs(np.diff(a, axis=0)).mean()
        assert np.abs(a[0] - a[-1]).mean() < 1.5 * neighbours < 1.5 * np.abs(a[0] - a[256]).mean()
    side = sidecar(out / "stone-texture_0_albedo.png")
    assert (side["model"], side["seed"], side["seamless"], side["preset"]) == ("stone-texture", 0, True, "png")

    # Unity's RAW: 513 x 513, 16-bit little-endian, no header, bottom row first.
    raw = out / "terrain_0_height.raw"
    assert raw.stat().st_size == 2 * 513 * 513
    little = np.fromfile(raw, "<u2").reshape(513, 513).astype(float)
    big = np.fromfile(raw, ">u2").reshape(513, 513).astype(float)
    assert little.std() > 1000
    # Read in the right byte order a terrain is smooth; in the wrong one its low bytes are noise.
    assert np.abs(np.diff(little, axis=1)).mean() * 20 < np.abs(np.diff(big, axis=1)).mean()
    assert np.array_equal(little[0], little[-1]) and np.array_equal(little[:, 0], little[:, -1])  # tiles meet
    shade = read_png(out / "terrain_0_hillshade.png")
    assert (shade.width, shade.height) == (513, 513) and shade.pixels.std() > 5
    side = sidecar(raw)
    assert (side["format"], side["byte_order"], side["header"], side["preset"], side["seed"]) == (
        "raw16",
        "little",
        "none",
        "unity-terrain",
        0,
    )
    assert side["size"] == {"height": 513, "width": 513}
    assert side["regenerate"].startswith("texgen generate --model terrain --seeds 0 --size 513 --preset unity-terrain")


# --- 8. the user model folder --------------------------------------------------------------


def test_a_model_in_the_user_folder_is_listed_and_generates_by_name(models, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "my-models"
    folder.mkdir()
    monkeypatch.setenv("TEXGEN_USER_MODELS", str(folder))
    gen = ["generate", "-m", "my-hills", "--seeds", "2", "--size", "33", "--device", "cpu"]
    rc, _, err = run(capsys, *gen, "-o", str(tmp_path / "before"))
    assert rc == 2 and "no model named 'my-hills'" in errors(err)[0]  # not there yet

    shutil.copy(models.spatial_height, folder / "my-hills.onnx")
    rc, text, _ = run(capsys, "models")
    assert rc == 0
    assert f"user models:    {folder}" in text.splitlines()
    (row,) = [line.split() for line in text.splitlines() if line.strip().startswith("my-hills ")]
    assert row[:4] == ["my-hills", "user", "heightmap", "32x32"]
    rc, text, _ = run(capsys, "models", "--json")
    (entry,) = [r for r in json.loads(text) if r["source"] == "user"]
    assert (entry["name"], Path(entry["path"]), entry["kind"], entry["default"]) == (
        "my-hills",
        folder / "my-hills.onnx",
        "heightmap",
        False,
    )

    out = tmp_path / "o"
    rc, _, err = run(capsys, *gen, "-o", str(out))
    assert rc == 0, err
    raw = out / "spatial-height_2_height.raw"  # files take the model's own name (its metadata)
    assert raw.stat().st_size == 2 * 33 * 33
    assert (
        run(
            capsys,
            "generate",
            "-m",
            str(models.spatial_height),
            "--seeds",
            "2",
            "--size",
            "33",
            "--device",
            "cpu",
            "-o",
            str(tmp_path / "by-path"),
        )[0]
        == 0
    )
    assert np.array_equal(np.fromfile(raw, "<u2"), np.fromfile(tmp_path / "by-path" / raw.name, "<u2"))
    assert sidecar(raw)["regenerate"].startswith("texgen generate --model my-hills ")


@pytest.mark.parametrize("given", [["--seeds", "1-2"], ["--interpolate", "1:2"]])
def test_start_with_seeds_of_their_own_is_refused(models, tmp_path, capsys, given):
    """--start was silently ignored beside --seeds or --interpolate, which name their own seeds."""
    out = tmp_path / "o"
    rc, _, err = run(
        capsys, "generate", "-m", str(models.spatial_rgb), *given, "--start", "5", "-o", str(out), "--device", "cpu"
    )
    expected = {
        "--seeds": "--seeds names its own seeds. leave out --start, or use --count N --start S instead of --seeds",
        "--interpolate": "--interpolate A:B names its own two seeds. leave out --start",
    }[given[0]]
    assert rc == 2 and errors(err) == [f"error: --start is the first seed of --count, and {expected}"], err
    assert not out.exists()
