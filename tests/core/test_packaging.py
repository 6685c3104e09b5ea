"""Packaging: where assets are found in each layout, the PyInstaller spec, icons, desktop entry.

The frozen app itself is built and run by packaging/smoke.sh (minutes, TEXGEN_PACKAGING=1 in CI);
these tests are the fast part: `assets_root` for every layout it decides between, the spec run
with PyInstaller's build steps recorded instead of performed (names, data, variants), the icons
read back by other readers (Qt's SVG renderer, Pillow's ICO reader), the desktop entry, the
Linux installer on a built-folder layout, and the GUI launcher's hand-over to the CLI.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

import texgen
from texgen.assets import assets_root

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
SPEC = PACKAGING / "texgen.spec"


# --- assets_root: one function decides, for every layout ----------------------------------


def _models_folder(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "terrain.onnx").write_bytes(b"onnx")
    return root


def test_assets_env_override_beats_every_layout(tmp_path):
    _models_folder(tmp_path / "bundle" / "assets")
    chosen = assets_root(
        env={"TEXGEN_ASSETS": str(tmp_path / "mine")},
        frozen=True,
        meipass=str(tmp_path / "bundle"),
        package_dir=REPO / "texgen",
        prefix=str(tmp_path),
    )
    assert chosen == tmp_path / "mine"


def test_assets_frozen_app_uses_the_bundle(tmp_path):
    bundle = tmp_path / "dist" / "texgen" / "_internal"
    _models_folder(bundle / "assets")
    # Even with a checkout beside the package: a frozen app reads only its own bundle.
    checkout = tmp_path / "checkout"
    _models_folder(checkout / "assets")
    chosen = assets_root(
        env={}, frozen=True, meipass=str(bundle), package_dir=checkout / "texgen", prefix=str(tmp_path)
    )
    assert chosen == bundle / "assets"


def test_assets_source_checkout_or_editable_install(tmp_path):
    checkout = tmp_path / "checkout"
    _models_folder(checkout / "assets")
    prefix = tmp_path / "venv"
    _models_folder(prefix / "share" / "texgen" / "assets")
    chosen = assets_root(env={}, frozen=False, meipass="", package_dir=checkout / "texgen", prefix=str(prefix))
    assert chosen == checkout / "assets"  # the checkout's assets win over an older installed copy


def test_assets_installed_wheel_uses_the_prefix_data_files(tmp_path):
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    (site / "texgen").mkdir(parents=True)
    installed = _models_folder(tmp_path / "venv" / "share" / "texgen" / "assets")
    chosen = assets_root(env={}, frozen=False, meipass="", package_dir=site / "texgen", prefix=str(tmp_path / "venv"))
    assert chosen == installed


@pytest.mark.parametrize(
    "layout",
    [("lib", "python3.11", "site-packages"), ("lib", "python3", "dist-packages"), ("Lib", "site-packages"), ()],
)
def test_assets_beside_the_prefix_the_package_sits_in(tmp_path, layout):
    """pip install --prefix DIR, or Debian's system pip (packages and data in /usr/local while
    sys.prefix is /usr): the data files sit under the prefix that holds the package; with
    pip install --target DIR (no lib/ level), beside it."""
    site = tmp_path.joinpath("pfx", *layout)
    (site / "texgen").mkdir(parents=True)
    installed = _models_folder(tmp_path / "pfx" / "share" / "texgen" / "assets")
    chosen = assets_root(
        env={},
        frozen=False,
        meipass="",
        package_dir=site / "texgen",
        prefix=str(tmp_path / "usr"),
        userbase=str(tmp_path / "nobody"),
    )
    assert chosen == installed


def test_assets_user_install_uses_the_user_base(tmp_path):
    site = tmp_path / "home" / ".local" / "lib" / "python3.11" / "site-packages"
    (site / "texgen").mkdir(parents=True)
    installed = _models_folder(tmp_path / "home" / ".local" / "share" / "texgen" / "assets")
    chosen = assets_root(
        env={},
        frozen=False,
        meipass="",
        package_dir=site / "texgen",
        prefix=str(tmp_path / "usr"),
        userbase=str(tmp_path / "home" / ".local"),
    )
    assert chosen == installed


def test_assets_none_when_no_layout_has_them(tmp_path):
    (tmp_path / "checkout" / "assets").mkdir(parents=True)  # an assets folder without models/
    chosen = assets_root(
        env={"TEXGEN_ASSETS": ""},
        frozen=False,
        meipass="",
        package_dir=tmp_path / "checkout" / "texgen",
        prefix=str(tmp_path / "nowhere"),
        userbase=str(tmp_path / "nobody"),
    )
    assert chosen is None


def test_assets_frozen_without_meipass_falls_back_to_the_other_layouts(tmp_path):
    installed = _models_folder(tmp_path / "share" / "texgen" / "assets")
    chosen = assets_root(env={}, frozen=True, meipass="", package_dir=tmp_path / "pkg" / "texgen", prefix=str(tmp_path))
    assert chosen == installed


# --- the PyInstaller spec, run with the build steps recorded -------------------------------


class _Recorder:
    """Stand-ins for PyInstaller's build classes: each records its arguments, builds nothing."""

    def __init__(self, binaries: list[tuple[str, str, str]]) -> None:
        self.calls: dict[str, list[SimpleNamespace]] = {}
        self.binaries = binaries

    def namespace(self, spec_dir: Path, dist: Path) -> dict:
        rec = self

        def record(kind):
            def build(*args, **kwargs):
                call = SimpleNamespace(args=args, kwargs=kwargs, kind=kind)
                rec.calls.setdefault(kind, []).append(call)
                if kind == "Analysis":
                    scripts = [Path(s).stem for s in args[0]]
                    call.scripts = [("pyi_rth_inspect", "hook.py", "PYSOURCE")] + [
                        (s, f"{s}.py", "PYSOURCE") for s in scripts
                    ]
                    call.pure = []
                    call.datas = list(kwargs["datas"]) + [
                        ("torch/include/ATen/ops.yaml", "x", "DATA"),
                        ("torch/test/test_jit", "x", "DATA"),
                        ("torch/bin/torch_shm_manager", "x", "DATA"),
                        ("torch/functional.py", "x", "DATA"),
                    ]
                    call.binaries = list(rec.binaries)
                return call

            return build

        return {
            "SPECPATH": str(spec_dir),
            "DISTPATH": str(dist),
            "__file__": str(SPEC),
            **{k: record(k) for k in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")},
        }


BINARIES = [
    ("onnxruntime/capi/libonnxruntime.so.1.31.1", "x", "BINARY"),
    ("onnxruntime/capi/libonnxruntime_providers_shared.so", "x", "BINARY"),
    ("onnxruntime/capi/libonnxruntime_providers_cuda.so", "x", "BINARY"),
    ("onnxruntime/capi/libonnxruntime_providers_tensorrt.so", "x", "BINARY"),
    ("torch/lib/libtorch_cpu.so", "x", "BINARY"),
    ("torch/lib/libtorchbind_test.so", "x", "BINARY"),
    ("PySide6/Qt/plugins/platforms/libqxcb.so", "x", "BINARY"),
    ("libcudart.so.13", "x", "BINARY"),  # what the CUDA provider links to, found on the build machine
]


def run_spec(
    tmp_path: Path, monkeypatch, *, assets: Path | None = None, variant: str | None = None, binaries=BINARIES
) -> _Recorder:
    (tmp_path / "dist" / "texgen").mkdir(parents=True, exist_ok=True)
    for name, value in (("TEXGEN_BUNDLE_ASSETS", assets), ("TEXGEN_VARIANT", variant)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(value))
    rec = _Recorder(binaries)
    code = compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec")
    exec(code, rec.namespace(PACKAGING, tmp_path / "dist"))  # noqa: S102 (a .spec file is Python run by PyInstaller)
    return rec


@pytest.fixture
def bundle_assets(tmp_path) -> Path:
    root = tmp_path / "assets"
    (root / "models").mkdir(parents=True)
    for name in ("stone-texture.onnx", "terrain.onnx", "terrain.md", "prepare_data.py", "notes.txt"):
        (root / "models" / name).write_text(name)
    return root


def test_spec_names_both_executables_sharing_one_folder(tmp_path, monkeypatch, bundle_assets):
    rec = run_spec(tmp_path, monkeypatch, assets=bundle_assets)
    exes = {c.kwargs["name"]: c for c in rec.calls["EXE"]}
    assert set(exes) == {"texgen", "texgen-gui"}
    assert exes["texgen"].kwargs["console"] is True and exes["texgen-gui"].kwargs["console"] is False
    assert all(c.kwargs["exclude_binaries"] for c in exes.values())  # one-folder: binaries in COLLECT
    # Each executable runs its own entry script (and the runtime hooks), not the other one's.
    scripts = {name: [s[0] for s in c.args[1]] for name, c in exes.items()}
    assert scripts["texgen"] == ["pyi_rth_inspect", "launch_texgen"]
    assert scripts["texgen-gui"] == ["pyi_rth_inspect", "launch_texgen_gui"]
    (coll,) = rec.calls["COLLECT"]
    assert coll.kwargs["name"] == "texgen"
    assert [getattr(a, "kwargs", {}).get("name") for a in coll.args[:2]] == [
        "texgen-gui",
        "texgen",
    ]  # GUI first (macOS .app)
    (analysis,) = rec.calls["Analysis"]
    assert analysis.kwargs["noarchive"] is True  # modules as shared files, not one archive per executable
    assert "trainer.cli" in analysis.kwargs["hiddenimports"] and "texgen.gui" in analysis.kwargs["hiddenimports"]
    assert all(Path(s).is_file() for s in analysis.args[0])


def test_spec_bundles_models_cards_and_icons_under_assets(tmp_path, monkeypatch, bundle_assets):
    rec = run_spec(tmp_path, monkeypatch, assets=bundle_assets)
    datas = rec.calls["Analysis"][0].kwargs["datas"]
    by_folder: dict[str, set[str]] = {}
    for src, dest in datas:
        assert Path(src).is_file(), src
        by_folder.setdefault(dest, set()).add(Path(src).name)
    assert by_folder["assets/models"] == {"stone-texture.onnx", "terrain.onnx", "terrain.md"}  # not the scripts
    assert by_folder["assets/icons"] == {"texgen.png", "texgen.svg"}  # from the checkout: the folder has none
    assert by_folder["."] == {"LICENSE"}


def test_spec_uses_the_checkout_assets_by_default(tmp_path, monkeypatch):
    rec = run_spec(tmp_path, monkeypatch)
    datas = rec.calls["Analysis"][0].kwargs["datas"]
    models = sorted(Path(s).name for s, d in datas if d == "assets/models")
    assert models == sorted(p.name for p in (REPO / "assets" / "models").glob("*") if p.suffix in (".onnx", ".md"))
    assert {Path(s).parent for s, d in datas if d == "assets/icons"} == {REPO / "assets" / "icons"}


def test_spec_cpu_variant_leaves_out_cuda_providers_and_torch_dev_files(tmp_path, monkeypatch, bundle_assets):
    rec = run_spec(tmp_path, monkeypatch, assets=bundle_assets)
    analysis = rec.calls["Analysis"][0]
    names = [b[0] for b in analysis.binaries]
    assert "onnxruntime/capi/libonnxruntime.so.1.31.1" in names
    assert "onnxruntime/capi/libonnxruntime_providers_shared.so" in names
    assert not [n for n in names if "providers_cuda" in n or "providers_tensorrt" in n or "cudart" in n]
    assert "torch/lib/libtorchbind_test.so" not in names and "torch/lib/libtorch_cpu.so" in names
    data = {d[0] for d in analysis.datas}
    assert "torch/functional.py" in data and "torch/bin/torch_shm_manager" in data
    assert not data & {"torch/include/ATen/ops.yaml", "torch/test/test_jit"}
    # With a CUDA build of torch the CUDA runtime stays (torch needs it); the providers still go.
    cuda_torch = BINARIES + [("torch/lib/libtorch_cuda.so", "x", "BINARY")]
    names = [
        b[0]
        for b in run_spec(tmp_path, monkeypatch, assets=bundle_assets, binaries=cuda_torch)
        .calls["Analysis"][0]
        .binaries
    ]
    assert "libcudart.so.13" in names and not [n for n in names if "providers_cuda" in n]


def test_spec_gpu_variant_keeps_providers_and_refuses_a_cpu_environment(tmp_path, monkeypatch, bundle_assets):
    with pytest.raises(SystemExit, match="CUDA build of torch"):
        run_spec(tmp_path, monkeypatch, assets=bundle_assets, variant="gpu")
    gpu_binaries = BINARIES + [("torch/lib/libtorch_cuda.so", "x", "BINARY")]
    rec = run_spec(tmp_path, monkeypatch, assets=bundle_assets, variant="gpu", binaries=gpu_binaries)
    kept = [b[0] for b in rec.calls["Analysis"][0].binaries]
    assert "onnxruntime/capi/libonnxruntime_providers_cuda.so" in kept and "libcudart.so.13" in kept
    no_ort_gpu = [b for b in gpu_binaries if "providers_cuda" not in b[0]]
    with pytest.raises(SystemExit, match="onnxruntime-gpu"):
        run_spec(tmp_path, monkeypatch, assets=bundle_assets, variant="gpu", binaries=no_ort_gpu)
    with pytest.raises(SystemExit, match="not a variant"):
        run_spec(tmp_path, monkeypatch, assets=bundle_assets, variant="cuda")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the desktop entry is copied on Linux")
def test_spec_puts_the_desktop_entry_and_installer_beside_the_executables(tmp_path, monkeypatch, bundle_assets):
    run_spec(tmp_path, monkeypatch, assets=bundle_assets)
    out = tmp_path / "dist" / "texgen"
    sources = {
        "texgen.desktop": PACKAGING,
        "install-linux.sh": PACKAGING,
        "texgen.png": PACKAGING / "icons",
        "texgen.svg": PACKAGING / "icons",
    }
    for name, folder in sources.items():
        assert (out / name).read_bytes() == (folder / name).read_bytes()
    assert os.access(out / "install-linux.sh", os.X_OK)


# --- icons -----------------------------------------------------------------------------------


def _premultiplied(img: Image.Image) -> np.ndarray:
    a = np.asarray(img.convert("RGBA")).astype(np.float64)
    return np.concatenate([a[..., :3] * a[..., 3:] / 255.0, a[..., 3:]], axis=2)


def test_png_icon_is_256_px_with_transparent_corners_and_matches_the_app_copy():
    png = PACKAGING / "icons" / "texgen.png"
    img = Image.open(png)
    assert img.size == (256, 256) and img.mode == "RGBA"
    alpha = np.asarray(img)[..., 3]
    assert alpha[0, 0] == alpha[0, -1] == alpha[-1, 0] == alpha[-1, -1] == 0  # rounded corners
    assert alpha[128, 128] == 255
    assert (REPO / "assets" / "icons" / "texgen.png").read_bytes() == png.read_bytes()
    assert (REPO / "assets" / "icons" / "texgen.svg").read_bytes() == (PACKAGING / "icons" / "texgen.svg").read_bytes()


def test_windows_icon_holds_several_sizes():
    ico = Image.open(PACKAGING / "icons" / "texgen.ico")
    assert ico.format == "ICO"
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    ico.size = (16, 16)  # Pillow's way of picking one of the images in the file
    small = ico.convert("RGBA")
    assert small.size == (16, 16) and np.asarray(small)[..., 3].max() == 255


def test_svg_icon_draws_the_same_picture_as_the_png(qapp):
    """Rendered by Qt's SVG renderer (not by the script that wrote both), compared with the PNG."""
    from PySide6.QtCore import Qt  # noqa: PLC0415
    from PySide6.QtGui import QImage, QPainter  # noqa: PLC0415
    from PySide6.QtSvg import QSvgRenderer  # noqa: PLC0415

    renderer = QSvgRenderer(str(PACKAGING / "icons" / "texgen.svg"))
    assert renderer.isValid()
    image = QImage(256, 256, QImage.Format.Format_RGBA8888)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    svg = np.frombuffer(image.constBits(), np.uint8).reshape(256, 256, 4).copy()
    diff = np.abs(
        _premultiplied(Image.fromarray(svg)) - _premultiplied(Image.open(PACKAGING / "icons" / "texgen.png"))
    ).max(axis=2)
    assert diff.mean() < 3 and np.percentile(diff, 99) < 40  # only antialiased edges differ


def test_icons_are_up_to_date_with_their_shapes():
    sys.path.insert(0, str(PACKAGING))
    try:
        import make_icons  # noqa: PLC0415
    finally:
        sys.path.remove(str(PACKAGING))
    assert (PACKAGING / "icons" / "texgen.svg").read_text(encoding="utf-8") == make_icons.svg()
    drawn = make_icons.scaled(make_icons.master(), 256)
    diff = np.abs(_premultiplied(drawn) - _premultiplied(Image.open(PACKAGING / "icons" / "texgen.png")))
    assert diff.max() <= 2  # the same drawing (a Pillow upgrade may move a rounding)


# --- the Linux desktop entry and installer -------------------------------------------------------


def test_desktop_entry_starts_the_gui_with_the_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(PACKAGING / "texgen.desktop", encoding="utf-8")
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Name"] == "texgen" and d["Icon"] == "texgen"
    assert d["Exec"].split()[0] == "texgen-gui" and d["Terminal"] == "false"
    assert {"Graphics", "Development"} <= set(filter(None, d["Categories"].split(";")))
    assert d["Categories"].endswith(";")


@pytest.mark.skipif(not sys.platform.startswith("linux") or not shutil.which("bash"), reason="Linux installer")
def test_linux_installer_installs_and_uninstalls_a_built_folder(tmp_path):
    tmp_path = tmp_path / "my apps"  # a space: the desktop entry's Exec must quote the program
    built = tmp_path / "dist" / "texgen"
    (built / "_internal" / "assets").mkdir(parents=True)
    for exe in ("texgen", "texgen-gui"):
        (built / exe).write_text(f'#!/bin/sh\necho {exe} "$@"\n')
        (built / exe).chmod(0o755)
    prefix = tmp_path / "home" / ".local"
    env = {**os.environ, "PREFIX": str(prefix), "HOME": str(tmp_path / "home")}
    result = subprocess.run(
        ["bash", str(PACKAGING / "install-linux.sh"), str(built)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    app = prefix / "lib" / "texgen"
    assert (
        subprocess.run([str(prefix / "bin" / "texgen-gui"), "x"], capture_output=True, text=True).stdout.strip()
        == "texgen-gui x"
    )
    desktop = (prefix / "share" / "applications" / "texgen.desktop").read_text()
    assert (
        f'Exec="{app}/texgen-gui" %f' in desktop
        and f"TryExec={app}/texgen-gui\n" in desktop
        and "Icon=texgen" in desktop
    )
    assert (prefix / "share" / "icons" / "hicolor" / "256x256" / "apps" / "texgen.png").read_bytes() == (
        PACKAGING / "icons" / "texgen.png"
    ).read_bytes()
    assert (prefix / "share" / "icons" / "hicolor" / "scalable" / "apps" / "texgen.svg").is_file()

    not_built = subprocess.run(
        ["bash", str(PACKAGING / "install-linux.sh"), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert not_built.returncode == 2 and "not a built texgen folder" in not_built.stderr
    assert (app / "texgen-gui").is_file()  # a refused install leaves the installed one alone

    odd = subprocess.run(
        ["bash", str(PACKAGING / "install-linux.sh"), str(built)],
        env={**env, "PREFIX": str(tmp_path / "a$b")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert odd.returncode == 2 and "holds a quote, backquote, $, backslash or %" in odd.stderr

    gone = subprocess.run(
        ["bash", str(PACKAGING / "install-linux.sh"), "--uninstall"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gone.returncode == 0 and not app.exists() and not (prefix / "bin" / "texgen").exists()
    assert not (prefix / "share" / "applications" / "texgen.desktop").exists()


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_smoke_script_is_valid_bash():
    result = subprocess.run(["bash", "-n", str(PACKAGING / "smoke.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert os.access(PACKAGING / "smoke.sh", os.X_OK)


# --- the GUI launcher hands `-m texgen ...` to the command line -----------------------------------


def test_gui_launcher_runs_the_cli_for_dash_m_texgen(tmp_path):
    """In the frozen app the GUI's `sys.executable -m texgen train ...` reaches texgen-gui."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "launch_texgen_gui.py"), "-m", "texgen", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"texgen {texgen.__version__}"
    bad = subprocess.run(
        [sys.executable, str(PACKAGING / "launch_texgen_gui.py"), "-m", "texgen", "generate", "--size", "x"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
