"""The headless CLI as a build pipeline uses it: real models, real files, real processes."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from png_decoder import read_png
from texgen.assets import list_models
from texgen.cli import main

ROOT = Path(__file__).resolve().parents[2]


def texgen(*args: str, cwd: Path | None = None, preexec=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python -m texgen ARGS` as a separate process, as a pipeline would."""
    return subprocess.run(
        [sys.executable, "-m", "texgen", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=timeout,
        preexec_fn=preexec,
    )


def png_header(path: Path) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from the IHDR bytes, per the PNG spec."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"), data[24], data[25]


def png_pixels(path: Path) -> np.ndarray:
    """Decode a non-interlaced 8/16-bit PNG with zlib and the PNG filters (no Pillow)."""
    data = path.read_bytes()
    w, h, depth, ctype = png_header(path)
    pos, idat = 8, b""
    while pos < len(data):
        n = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    ch = {0: 1, 2: 3, 6: 4}[ctype]
    bpp = ch * depth // 8
    stride = w * bpp
    out = np.zeros((h, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        f, line = raw[y * (stride + 1)], np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for x in range(stride):
            a = cur[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 4:  # Paeth
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            else:
                pred = (0, a, b, (a + b) // 2)[f]
            cur[x] = (line[x] + pred) & 0xFF
        out[y], prev = cur, cur
    if depth == 16:
        out = out[:, 0::2] * 256 + out[:, 1::2]
    return out.reshape(h, w, ch)


def test_each_sidecars_regenerate_command_writes_its_file_again(models, tmp_path, monkeypatch):
    """`regenerate` names the model so the CLI finds it, and every option that shaped the file."""
    import shlex

    from texgen import commands  # noqa: PLC0415

    lookups = []  # the installed models are listed once per run for the sidecars, not once per file
    monkeypatch.setattr(commands, "list_models", lambda: lookups.append(1) or list_models())
    out = tmp_path / "out"
    runs = [
        [
            "-m",
            str(models.vector_rgb),
            "--seeds",
            "4",
            "--size",
            "96",
            "--no-seamless",
            "--preset",
            "unity-texture",
            "--normal-strength",
            "3",
        ],
        ["-m", str(models.conditional_vector), "--class", "b", "--seeds", "2-4"],
        [
            "-m",
            str(models.spatial_height),
            "--seeds",
            "5",
            "--size",
            "65",
            "--preset",
            "unity-terrain",
            "--byte-order",
            "big",
        ],
    ]
    for args in runs:
        assert main(["generate", *args, "-o", str(out), "--device", "cpu"]) == 0
    assert len(lookups) == len(runs)
    sidecars = sorted(out.glob("*.json"))
    assert len(sidecars) == 7  # albedo + normal, 3 albedos, height + normal
    for sidecar in sidecars:
        made = sidecar.with_suffix("")
        first = made.read_bytes()
        command = shlex.split(json.loads(sidecar.read_text())["regenerate"])
        assert command[:2] == ["texgen", "generate"], command
        made.unlink()
        assert "--out" not in command  # the same command wherever the folder goes
        assert main([*command[1:], "--out", str(out)]) == 0, command
        assert made.read_bytes() == first, command
    side = json.loads((out / "vector-rgb_4_albedo.png.json").read_text())["regenerate"]
    assert "--no-seamless" in side and "--normal-strength 3.0" in side


def test_regenerate_gives_the_file_back_from_anywhere_whatever_made_it(tmp_path, monkeypatch):
    """The bundled networks, several seeds in one batch (a lone seed ran other kernels), a
    model given by a relative path (it was kept relative), {index} in the name (a one-seed
    command numbered its image 0) and a normal strength with many digits (cut to 6)."""
    import shlex

    from texgen.assets import assets_root  # noqa: PLC0415

    models = assets_root() / "models"
    monkeypatch.chdir(models.parent)  # the model given as models/stone-texture.onnx
    out = tmp_path / "out"
    runs = [
        [
            "-m",
            "models/stone-texture.onnx",
            "--seeds",
            "4,9,11",
            "--size",
            "64",
            "--name",
            "{index:02d}_{seed}_{map}",
            "--preset",
            "unity-texture",
            "--normal-strength",
            "2.3456499",
        ],
        ["-m", "terrain", "--seeds", "3-5", "--size", "65", "--batch-size", "2"],
    ]
    for args in runs:
        assert main(["generate", *args, "-o", str(out), "--device", "cpu"]) == 0
    monkeypatch.chdir(tmp_path)  # somewhere else
    sidecars = sorted(out.glob("*.json"))
    assert len(sidecars) == 3 * 2 + 3 * 2
    for sidecar in sidecars:
        made = sidecar.with_suffix("")
        first = made.read_bytes()
        command = shlex.split(json.loads(sidecar.read_text())["regenerate"])
        made.unlink()
        assert main([*command[1:], "--out", str(out)]) == 0, command
        assert made.read_bytes() == first, command
    side = json.loads((out / "01_9_albedo.png.json").read_text())["regenerate"]
    assert (
        "--model stone-texture " in side
        and "--name '01_{seed}_{map}'" in side
        and "--normal-strength 2.3456499" in side
    )


def test_generate_textures_and_unity_heightfield(models, tmp_path):
    out = tmp_path / "out"
    assert (
        main(
            [
                "generate",
                "-m",
                str(models.spatial_rgb),
                "--seeds",
                "3,5",
                "--size",
                "64",
                "-o",
                str(out),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "generate",
                "-m",
                str(models.spatial_height),
                "--seeds",
                "3",
                "--size",
                "65",
                "--preset",
                "unity-terrain",
                "-o",
                str(out),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    albedo = out / "spatial-rgb_3_albedo.png"
    assert png_header(albedo) == (64, 64, 8, 2)
    pixels = png_pixels(albedo)
    assert pixels.shape == (64, 64, 3) and pixels.std() > 5  # a real texture, not a blank
    meta = json.loads((out / "spatial-rgb_3_albedo.png.json").read_text())
    assert meta["seed"] == 3 and meta["model"] == "spatial-rgb" and "texgen generate" in meta["regenerate"]

    raw = out / "spatial-height_3_height.raw"
    assert raw.stat().st_size == 65 * 65 * 2
    heights = np.fromfile(raw, "<u2").reshape(65, 65)
    assert heights.std() > 100
    # The shared edge of a 2^n + 1 tile: last row/column repeat the first (tiles meet exactly).
    assert np.array_equal(heights[0], heights[-1]) and np.array_equal(heights[:, 0], heights[:, -1])
    side = json.loads((out / "spatial-height_3_height.raw.json").read_text())
    assert side["byte_order"] == "little" and side["format"] == "raw16"


def test_the_same_request_writes_the_same_bytes(models, tmp_path):
    args = [
        "generate",
        "-m",
        str(models.conditional),
        "--seeds",
        "1-2",
        "--size",
        "48x32",
        "--class",
        "brick",
        "--preset",
        "unity-texture",
        "--device",
        "cpu",
    ]
    assert main(args + ["-o", str(tmp_path / "a")]) == 0
    assert main(args + ["-o", str(tmp_path / "b")]) == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir() if p.suffix == ".png")
    assert files == [
        "conditional_brick_1_albedo.png",
        "conditional_brick_1_normal.png",
        "conditional_brick_2_albedo.png",
        "conditional_brick_2_normal.png",
    ]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert png_header(tmp_path / "a" / files[0])[:2] == (48, 32)


def test_classes_do_not_overwrite_each_other(models, tmp_path):
    base = [
        "generate",
        "-m",
        str(models.conditional),
        "--seeds",
        "4",
        "--size",
        "32",
        "-o",
        str(tmp_path),
        "--device",
        "cpu",
    ]
    assert main(base + ["--class", "brick"]) == 0 and main(base + ["--class", "grass"]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == ["conditional_brick_4_albedo.png", "conditional_grass_4_albedo.png"]
    assert (tmp_path / names[0]).read_bytes() != (tmp_path / names[1]).read_bytes()


def test_skip_existing_and_name_template(models, tmp_path):
    out = tmp_path / "o"
    args = [
        "generate",
        "-m",
        str(models.spatial_rgb),
        "--seeds",
        "0-3",
        "--size",
        "32",
        "-o",
        str(out),
        "--name",
        "{model}-{index}-{seed}",
        "--device",
        "cpu",
    ]
    assert main(args) == 0
    first = out / "spatial-rgb-0-0.png"
    stamp = first.stat().st_mtime_ns
    (out / "spatial-rgb-3-3.png").unlink()
    result = texgen(*args, "--skip-existing")
    assert result.returncode == 0 and "3 seeds skipped" in result.stdout and "wrote 1 file to" in result.stdout
    assert first.stat().st_mtime_ns == stamp and (out / "spatial-rgb-3-3.png").exists()
    # An image whose map is there but not its sidecar (killed between the two) is not done.
    (out / "spatial-rgb-1-1.png.json").unlink()
    result = texgen(*args, "--skip-existing")
    assert "3 seeds skipped" in result.stdout and (out / "spatial-rgb-1-1.png.json").is_file()


def test_info_and_models(models, capsys):
    assert main(["info", str(models.conditional), "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "0:gravel, 1:brick, 2:grass" in text and "tileable" in text and "CPUExecutionProvider" in text
    assert main(["info", str(models.plain_vector), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["texgen_metadata"] is False and d["guesses"]
    assert main(["models"]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("  ")]
    assert {"lanham-gravel-baseline", "stone-texture", "terrain"} <= {ln.split()[0] for ln in rows}
    assert len({ln.index(" bundled ") for ln in rows if " bundled " in ln}) == 1  # one column, long names too


def test_interpolation_frames_run_from_one_seed_to_the_other(models, tmp_path):
    out = tmp_path / "frames"
    base = ["generate", "-m", str(models.spatial_rgb), "--size", "32", "--device", "cpu"]
    assert main(base + ["--interpolate", "3:7", "--frames", "5", "--batch-size", "2", "-o", str(out)]) == 0
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == [f"spatial-rgb_3-7_f{i:03d}_albedo.png" for i in range(5)]
    # The ends are the two seeds' own images, byte for byte; the middle frames lie between.
    assert main(base + ["--seeds", "3,7", "-o", str(tmp_path / "seeds")]) == 0
    assert (out / names[0]).read_bytes() == (tmp_path / "seeds" / "spatial-rgb_3_albedo.png").read_bytes()
    assert (out / names[-1]).read_bytes() == (tmp_path / "seeds" / "spatial-rgb_7_albedo.png").read_bytes()
    frames = [png_pixels(out / n).astype(float) for n in names]
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]
    assert all(s > 0 for s in steps) and max(steps) < np.abs(frames[-1] - frames[0]).mean()
    side = json.loads((out / (names[2] + ".json")).read_text())
    assert side["interpolation"] == {"from_seed": 3, "to_seed": 7, "t": 0.5}
    assert "--interpolate 3:7 --frames 5" in side["regenerate"]
    # A conditional model's frames, and --skip-existing counts frames.
    cond = ["generate", "-m", str(models.conditional), "--size", "32", "--class", "grass", "--interpolate", "1:2",
            "--frames", "3", "-o", str(tmp_path / "c"), "--device", "cpu", "--name", "{class}-{frame}"]  # fmt: skip
    assert main(cond) == 0
    (tmp_path / "c" / "grass-1.png").unlink()
    result = texgen(*cond, "--skip-existing")
    assert result.returncode == 0 and "2 frames skipped" in result.stdout
    assert sorted(p.name for p in (tmp_path / "c").glob("*.png")) == ["grass-0.png", "grass-1.png", "grass-2.png"]


def _bad(tmp_path: Path, models) -> dict[str, tuple[list[str], str]]:
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(models.spatial_rgb.read_bytes()[:500])
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model")
    out = str(tmp_path / "out")
    m = ["-m", str(models.spatial_rgb)]
    return {
        "missing model": (["-m", str(tmp_path / "nope.onnx")], "does not exist"),
        "truncated model": (["-m", str(truncated)], "not a valid ONNX model"),
        "not onnx": (["-m", str(text)], "not a valid ONNX model"),
        "not a generator": (["-m", str(models.not_generator)], "not a generator"),
        "unknown class": (["-m", str(models.conditional), "--class", "marble"], "unknown class 'marble'"),
        "bad terrain size": (
            ["-m", str(models.spatial_height), "--preset", "unity-terrain", "--size", "512"],
            "33, 65, 129, 257, 513, 1025, 2049, 4097",
        ),
        "nan output": (["-m", str(models.nan), "--no-seamless"], "NaN"),
        "malformed seeds": (m + ["--seeds", "1-x"], "not a seed or a range"),
        "backwards range": (m + ["--seeds", "9-2"], "runs backwards"),
        "negative count": (m + ["--count", "-3"], "at least 1"),
        "bad size": (m + ["--size", "big"], "not a size"),
        "unknown preset": (m + ["--preset", "cryengine"], "unknown"),
        "unknown model name": (["-m", "no-such-model"], "no model named"),
        "bad template": (m + ["--name", "{model}_{colour}"], "colour"),
        "bad interpolation pair": (m + ["--interpolate", "3-7"], "write it as A:B"),
        "interpolation to itself": (m + ["--interpolate", "3:3"], "two different seeds"),
        "one frame": (m + ["--interpolate", "3:7", "--frames", "1"], "ask for 2"),
        "frames alone": (m + ["--frames", "5"], "--frames is for --interpolate"),
        "frame field without frames": (m + ["--name", "{model}_{frame}"], "has no value here"),
        "seeds share a file": (
            m + ["--seeds", "1-3", "--name", "{model}_{map}"],
            "gives spatial-rgb seed 1 and spatial-rgb seed 2 the same file spatial-rgb_albedo.png",
        ),
        "frames share a file": (
            m + ["--interpolate", "3:7", "--name", "{model}_{seed}_{map}"],
            "gives spatial-rgb frame 0 and spatial-rgb frame 1 the same file spatial-rgb_3_albedo.png, "
            "so one would overwrite the other. add {frame} to the template",
        ),
        "models share a file": (
            ["--seeds", "1", "--preset", "png16", "--name", "{seed}_{map}"],
            "gives stone-texture seed 1 and terrain seed 1 the same file 1_height.png",
        ),
        "albedo of the default heightmap": (
            ["--seeds", "1-2", "--maps", "albedo"],
            "model 'terrain': a heightmap model has no albedo",
        ),
        "unknown map": (m + ["--maps", "bogus"], "map 'bogus' is unknown"),
        "normal strength nan": (m + ["--preset", "unity-texture", "--normal-strength", "nan"], "not a positive number"),
        "name too long": (m + ["--name", "a" * 250 + "_{map}"], "more than the 255 a file system takes"),
        "too small to make seamless": (["-m", str(models.nan)], "makes 4x4 images, too small to make seamless"),
        "shared edge of one pixel": (
            ["-m", str(models.spatial_height), "--preset", "unreal-landscape", "--size", "2"],
            "too small for the unreal-landscape preset",
        ),
    } | {"_out": ([out], "")}


@pytest.mark.parametrize(
    "case",
    [
        "missing model",
        "truncated model",
        "not onnx",
        "not a generator",
        "unknown class",
        "bad terrain size",
        "nan output",
        "malformed seeds",
        "backwards range",
        "negative count",
        "bad size",
        "unknown preset",
        "unknown model name",
        "bad template",
        "bad interpolation pair",
        "interpolation to itself",
        "one frame",
        "frames alone",
        "frame field without frames",
        "seeds share a file",
        "frames share a file",
        "models share a file",
        "albedo of the default heightmap",
        "unknown map",
        "normal strength nan",
        "name too long",
        "too small to make seamless",
        "shared edge of one pixel",
    ],
)
def test_bad_input_is_one_clear_line(case, tmp_path, models):
    cases = _bad(tmp_path, models)
    args, words = cases[case]
    out = tmp_path / "out"
    result = texgen("generate", *args, "-o", str(out), "--device", "cpu")
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and words in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    # Found before anything is made, or (nan output) while generating, before the first file:
    # either way no output folder is left behind.
    assert not out.exists()


def test_a_folder_named_like_a_model_does_not_hide_it(tmp_path, monkeypatch):
    """`texgen generate -m terrain -o terrain`, run twice: the second run must still find the
    installed terrain model, not take the output folder for a model."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "terrain").mkdir()
    assert main(["generate", "-m", "terrain", "-s", "1", "--size", "33", "-o", "terrain", "--device", "cpu"]) == 0
    assert (tmp_path / "terrain" / "terrain_1_height.raw").stat().st_size == 33 * 33 * 2
    (tmp_path / "empty").mkdir()  # a folder that is no model's name is still named as a folder
    assert main(["generate", "-m", "empty", "-o", "out", "--device", "cpu"]) == 2


def test_unwritable_output_fails_before_generating(models, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    result = texgen("generate", "-m", str(models.spatial_rgb), "-o", str(blocker / "sub"), "--device", "cpu")
    assert result.returncode == 2 and "error:" in result.stderr and "Traceback" not in result.stderr
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0:
        ro.chmod(0o500)
    else:  # root writes anywhere, so the OS's refusal is simulated where texgen first writes
        from texgen import atomic  # noqa: PLC0415

        real = atomic.tempfile.NamedTemporaryFile

        def refuse(*args, dir=None, **kwargs):  # noqa: A002 (tempfile's own keyword)
            if dir is not None and Path(dir) == ro:
                raise PermissionError(errno.EACCES, "Permission denied")
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(atomic.tempfile, "NamedTemporaryFile", refuse)
    assert main(["generate", "-m", str(models.spatial_rgb), "-o", str(ro), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write into {ro} (Permission denied)") and "writable folder" in err
    assert list(ro.iterdir()) == []


def _limit_file_size() -> None:
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_full_disk_leaves_no_partial_file(models, tmp_path):
    """The OS refuses writes past 20 kB per file (RLIMIT_FSIZE): like a disk filling up mid-file."""
    out = tmp_path / "out"
    result = texgen(
        "generate",
        "-m",
        str(models.spatial_rgb),
        "--seeds",
        "0-2",
        "--size",
        "256",
        "-o",
        str(out),
        "--device",
        "cpu",
        preexec=_limit_file_size,
    )
    assert result.returncode == 2, result.stderr
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    # The first file failed: nothing whole was written, and the folder the run made is gone too.
    assert not out.exists()


def test_killed_batch_leaves_only_whole_files(models, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "texgen",
            "generate",
            "-m",
            str(models.spatial_rgb),
            "--count",
            "5000",
            "--size",
            "128",
            "-o",
            str(out),
            "--device",
            "cpu",
            "--batch-size",
            "4",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.glob("*.png"))) < 10:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    pngs = list(out.glob("*.png"))
    assert pngs
    for png in pngs:  # every PNG that has its final name is complete and decodes
        assert png_header(png)[:2] == (128, 128)
        assert png.read_bytes().endswith(b"IEND\xaeB`\x82")
    # A rerun with --skip-existing finishes the batch from where it was killed: the files
    # already there are kept as they are, and only the missing seeds are written.
    # (a PNG whose sidecar the kill cut off is written again: --skip-existing needs both)
    whole = [p for p in out.glob("*.png") if p.with_name(p.name + ".json").is_file()]
    kept = {f.name: f.stat().st_mtime_ns for p in whole for f in (p, p.with_name(p.name + ".json"))}
    assert (
        main(
            [
                "generate",
                "-m",
                str(models.spatial_rgb),
                "--seeds",
                f"0-{len(pngs) + 3}",
                "--size",
                "128",
                "-o",
                str(out),
                "--device",
                "cpu",
                "--skip-existing",
            ]
        )
        == 0
    )
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name in kept} == kept
    seeds = sorted(int(p.name.split("_")[1]) for p in out.glob("*.png"))
    assert seeds == list(range(len(pngs) + 4))


def test_terrain_shared_edge_only_for_tileable_output(models, tmp_path):
    """2^n + 1 terrains repeat the first row/column only when the map tiles; otherwise the odd
    size is generated as it is (a repeated edge would put a step on the far border)."""
    args = [
        "generate",
        "-m",
        str(models.vector_grey),
        "--seeds",
        "1",
        "--size",
        "65",
        "--preset",
        "unity-terrain",
        "--device",
        "cpu",
    ]
    assert main(args + ["-o", str(tmp_path / "tiled")]) == 0
    assert main(args + ["-o", str(tmp_path / "plain"), "--no-seamless"]) == 0
    tiled = np.fromfile(tmp_path / "tiled" / "vector-height_1_height.raw", "<u2").reshape(65, 65)
    plain = np.fromfile(tmp_path / "plain" / "vector-height_1_height.raw", "<u2").reshape(65, 65)
    assert np.array_equal(tiled[0], tiled[-1]) and np.array_equal(tiled[:, 0], tiled[:, -1])
    assert not np.array_equal(plain[0], plain[-1])


def test_defaults_that_decide_nothing_are_said_and_seeds_are_made_once(models, tmp_path, capsys):
    """A fixed-size model writes its own size unless asked (as --help says, and as the app
    does), a seed given twice is one image, and an option that applies to no file written
    here is named in a note instead of passing in silence."""
    out = tmp_path / "o"
    assert main(["generate", "-m", str(models.vector_rgb), "-s", "1,1", "-o", str(out), "--device", "cpu"]) == 0
    (png,) = out.glob("*.png")
    assert png.name == "vector-rgb_1_albedo.png" and (read_png(png).width, read_png(png).height) == (16, 16)
    assert "wrote 1 file " in capsys.readouterr().out
    assert (
        main(
            [
                "generate",
                "-m",
                str(models.spatial_height),
                "-p",
                "png",
                "--byte-order",
                "big",
                "-o",
                str(tmp_path / "h"),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (
        "--byte-order applies to RAW heights, which preset png does not write here (ignored)" in capsys.readouterr().err
    )
    assert (
        main(
            [
                "generate",
                "-m",
                str(models.spatial_rgb),
                "-p",
                "png",
                "--normal",
                "directx",
                "-o",
                str(tmp_path / "t"),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert "no normal map is written (maps: albedo), so the normal convention is ignored" in capsys.readouterr().err
