#!/usr/bin/env bash
# Build the texgen desktop app in a scratch folder and check that it works, as a user would use it:
#   - `texgen --version` (also through a symbolic link, as install-linux.sh installs it);
#   - the bundled models are found and generate a seamless texture and a Unity RAW heightfield
#     headlessly (sizes and contents checked), and a user mistake prints one `error:` line;
#   - `texgen train` trains a tiny model with the bundled torch, and the app generates from it
#     (the GUI's training panel runs exactly this command);
#   - the GUI starts offscreen and quits cleanly (`texgen-gui` and `texgen gui`).
#
#   packaging/smoke.sh                  install what is missing, build, check
#   packaging/smoke.sh --keep           the same, and keep the scratch folder (path printed)
#   TEXGEN_SMOKE_APP=dist/texgen packaging/smoke.sh     check an existing build, no build
#
# Environment: PYTHON (default python3), TEXGEN_VARIANT (cpu or gpu, see texgen.spec).
# It installs what a fresh machine lacks: PyInstaller 6, the CPU build of torch (Linux, cpu
# variant: the default PyPI torch is a multi-GB CUDA build), texgen with `pip install -e .` and
# matplotlib (the trainer draws its plot with it). Until assets/models holds the trained default
# models, it bundles tiny random-weight stand-ins made with tests/generators.py. Takes minutes.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
VARIANT=${TEXGEN_VARIANT:-cpu}
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/texgen-smoke.XXXXXX")
cleanup() { if [ "$KEEP" = 1 ]; then echo "scratch folder kept: $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }
fail() { KEEP=1; printf '\nSMOKE FAILED: %s\n' "$*" >&2; exit 1; }
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$REPO/texgen/__init__.py")
DEFAULTS="stone-texture terrain"  # texgen.assets.DEFAULT_MODELS
case "$(uname -s)" in
    Linux) QT_PLUGINS="libqxcb.so libqoffscreen.so" ;;
    Darwin) QT_PLUGINS="libqcocoa.dylib libqoffscreen.dylib" ;;
    *) QT_PLUGINS="qwindows.dll qoffscreen.dll" ;;
esac
run_limited() {  # run_limited SECONDS CMD...: `timeout` where there is one (macOS lacks it)
    local s=$1; shift
    if command -v timeout >/dev/null; then timeout "$s" "$@"; else "$@"; fi
}

if [ -n "${TEXGEN_SMOKE_APP:-}" ]; then
    APP=$(cd "$TEXGEN_SMOKE_APP" && pwd)
    BUILD_S="(not built here)"
else
    say "installing what is missing (PyInstaller 6, torch, texgen and its dependencies)"
    cd "$WORK"  # not the checkout: `import texgen` must find the installed one
    if ! "$PY" -c "import torch" 2>/dev/null && [ "$VARIANT" = cpu ] && [ "$(uname -s)" = Linux ]; then
        "$PY" -m pip install torch --index-url https://download.pytorch.org/whl/cpu
    fi
    if ! "$PY" -c "import texgen, trainer, numpy, PIL, onnx, onnxruntime, PySide6, torch, tqdm" 2>/dev/null; then
        "$PY" -m pip install -e "$REPO"
    fi
    "$PY" -c "import matplotlib" 2>/dev/null || "$PY" -m pip install "matplotlib>=3.8"
    "$PY" -m PyInstaller --version 2>/dev/null | grep -q '^6\.' || "$PY" -m pip install "pyinstaller>=6,<7"

    ASSETS=$REPO/assets
    missing=""
    for m in $DEFAULTS; do [ -f "$ASSETS/models/$m.onnx" ] || missing="$missing $m"; done
    if [ -n "$missing" ]; then
        say "assets/models lacks$missing: bundling tiny random-weight stand-ins instead"
        ASSETS=$WORK/assets
        mkdir -p "$ASSETS/models"
        cp -R "$REPO/assets/icons" "$ASSETS/icons"
        "$PY" - "$REPO/tests" "$ASSETS/models" <<'EOF'
import sys
from pathlib import Path

sys.path.insert(0, sys.argv[1])
import generators  # noqa: E402  (tests/generators.py: real ONNX generators with texgen metadata)

out = Path(sys.argv[2])
generators.make_spatial(out / "stone-texture.onnx", channels=3)
generators.make_spatial(out / "terrain.onnx", channels=1)  # one channel: a heightmap
EOF
    fi

    say "building the app with PyInstaller (variant $VARIANT; the log is $WORK/build.log)"
    t0=$(date +%s)
    if ! (cd "$WORK" && TEXGEN_BUNDLE_ASSETS="$ASSETS" TEXGEN_VARIANT="$VARIANT" nice -n 10 \
            "$PY" -m PyInstaller --noconfirm --log-level WARN \
            --distpath "$WORK/dist" --workpath "$WORK/build" "$REPO/packaging/texgen.spec") \
            >"$WORK/build.log" 2>&1; then
        tail -n 40 "$WORK/build.log"
        fail "the PyInstaller build failed (the end of its log is above)"
    fi
    BUILD_S="$(( $(date +%s) - t0 )) s"
    APP=$WORK/dist/texgen
    echo "built in $BUILD_S"
fi

# The checks run as a fresh user would: no TEXGEN_* overrides, an empty home (no user models, no
# settings), and from a folder outside the checkout.
export HOME=$WORK/home XDG_DATA_HOME=$WORK/home/.local/share XDG_CONFIG_HOME=$WORK/home/.config
unset TEXGEN_ASSETS TEXGEN_USER_MODELS PYTHONPATH
mkdir -p "$HOME" "$WORK/run" "$WORK/bin"
cd "$WORK/run"

say "the bundle's contents"
for exe in texgen texgen-gui; do [ -x "$APP/$exe" ] || [ -x "$APP/$exe.exe" ] || fail "$APP has no $exe executable"; done
for plugin in $QT_PLUGINS; do
    [ -n "$(find "$APP" -name "$plugin" | head -n 1)" ] || fail "the Qt platform plugin $plugin is not in the bundle"
done
# onnxruntime's native code: its Python extension (the engine is linked into it) and the
# provider bridge the GPU providers load through.
for lib in "onnxruntime_pybind11_state*" "*onnxruntime_providers_shared*"; do
    [ -n "$(find "$APP" -name "$lib" | head -n 1)" ] || fail "onnxruntime's native library $lib is not in the bundle"
done
if [ "$VARIANT" = cpu ] && [ -n "$(find "$APP" -name '*onnxruntime_providers_cuda*' | head -n 1)" ]; then
    fail "the cpu variant carries onnxruntime's CUDA provider"
fi
echo "executables, Qt platform plugins ($QT_PLUGINS), onnxruntime: present"

say "texgen --version"
got=$("$APP/texgen" --version)
[ "$got" = "texgen $VERSION" ] || fail "texgen --version printed '$got', expected 'texgen $VERSION'"
ln -sf "$APP/texgen" "$WORK/bin/texgen"
got=$("$WORK/bin/texgen" --version) || fail "texgen does not start through a symbolic link"
[ "$got" = "texgen $VERSION" ] || fail "through a symbolic link texgen --version printed '$got'"
echo "$got (also through a symbolic link)"

say "the bundled models"
"$APP/texgen" models | tee models.txt
for m in $DEFAULTS; do
    grep -Eq "^ +$m +bundled .*\(default\)" models.txt || fail "the bundled default model $m is not listed"
done
grep -q "_internal/assets/models" models.txt || fail "the bundled models are not read from the bundle's assets folder"

say "texgen generate (the bundled defaults: a texture and a Unity terrain)"
"$APP/texgen" generate --seeds 3 --out out --device cpu
"$APP/texgen" generate -m terrain --preset unity-terrain --size 257 --seeds 7 --out out --device cpu
if "$APP/texgen" generate -m terrain --preset unity-terrain --size 500 --out bad 2>bad.txt; then
    fail "a size Unity cannot take was accepted"
fi
cat bad.txt
[ "$(wc -l <bad.txt)" -eq 1 ] && grep -q "^error: " bad.txt || fail "a user mistake did not print exactly one error: line"
[ ! -e bad ] || [ -z "$(ls -A bad)" ] || fail "a refused request left files behind"

"$PY" - <<'EOF' || fail "the generated files are wrong (see above)"
# Read back with Pillow and numpy, not with texgen: sizes, byte counts, and real content.
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

out = Path("out")
problems = []
albedo = out / "stone-texture_3_albedo.png"
raw513, raw257 = out / "terrain_3_height.raw", out / "terrain_7_height.raw"
for path in (albedo, raw513, raw257, out / "terrain_3_hillshade.png", out / "terrain_3_height.raw.json"):
    if not path.is_file():
        problems.append(f"{path} is missing")
if not problems:
    img = Image.open(albedo)
    channels = json.loads((out / "stone-texture_3_albedo.png.json").read_text())["channels"]
    mode = {1: "L", 3: "RGB"}[channels]  # stone-texture is grey (1 channel); a stand-in may be RGB
    if img.size != (512, 512) or img.mode != mode:
        problems.append(f"{albedo} is {img.size} {img.mode}, expected (512, 512) {mode} as its sidecar says")
    elif np.asarray(img).std() < 1:
        problems.append(f"{albedo} is flat")
    for path, side in ((raw513, 513), (raw257, 257)):
        size = path.stat().st_size
        if size != side * side * 2:
            problems.append(f"{path} has {size} bytes, expected {side}x{side}x2 = {side * side * 2}")
            continue
        heights = np.fromfile(path, dtype="<u2")
        if heights.max() - heights.min() < 1000:
            problems.append(f"{path} spans only {heights.min()}..{heights.max()}")
for p in problems:
    print("  " + p)
print("files checked: 512x512 albedo PNG (grey or RGB, as its sidecar says), Unity RAW 513 and 257 (16-bit little-endian), hillshade, sidecar")
sys.exit(1 if problems else 0)
EOF

say "texgen train (a tiny run with the bundled torch, then generate from its model)"
mkdir -p photos
cp out/stone-texture_3_albedo.png photos/
tiny=(--batch 4 --crop 16 --set g_width=8 --set d_width=8 --set upsamples=2 --set eval_samples=8 --set n_critic=1)
run_limited 600 "$APP/texgen" train --recipe spatial-wgan-gp --data photos --steps 2 "${tiny[@]}" \
    --out runs --name smoke --device cpu --progress json >train.jsonl 2>train.err || {
    tail -n 20 train.err; fail "texgen train failed"; }
onnx=$("$PY" -c "import json,sys; e=[json.loads(l) for l in open('train.jsonl') if l.startswith('{')]; d=[x for x in e if x.get('event')=='done']; print(d[-1]['onnx'] if d else '')")
[ -n "$onnx" ] && [ -f "$onnx" ] || { tail -n 20 train.err; fail "texgen train did not report a done event with its model"; }
[ -f "$(dirname "$onnx")/plot.png" ] || fail "the training run has no plot.png (matplotlib missing from the bundle?)"
"$APP/texgen" generate -m "$onnx" --seeds 1 --size 64 --out trained --device cpu
[ -n "$(find trained -name '*.png' | head -n 1)" ] || fail "generating from the trained model wrote nothing"
# The GUI's training panel runs the console `texgen` beside the app (training_process.default_trainer):
# `texgen train ...`, and `texgen export` for a run's lowest-SWD checkpoint.
run_limited 300 "$APP/texgen" train --list-presets >presets.txt 2>&1 || {
    cat presets.txt; fail "texgen train --list-presets (how the Train tab lists recipes) failed"; }
grep -q "spatial-wgan-gp" presets.txt || fail "texgen train --list-presets listed no presets"
# texgen-gui -m texgen ARGS still runs the command line (launch_texgen_gui.py), for scripts.
run_limited 300 "$APP/texgen-gui" -m texgen train --list-presets >presets-gui.txt 2>&1 || {
    cat presets-gui.txt; fail "texgen-gui -m texgen train failed"; }
grep -q "spatial-wgan-gp" presets-gui.txt || fail "texgen-gui -m texgen train --list-presets listed no presets"
echo "trained $onnx, generated from it; texgen train (the Train tab's command) reaches the trainer"

say "the GUI starts offscreen and quits"
check_gui() {  # check_gui COMMAND...: starts offscreen, shows its window, exits 0, no traceback
    if ! QT_QPA_PLATFORM=offscreen run_limited 180 "$@" --quit-after-start --settings "$WORK/gui.ini" >gui.txt 2>&1; then
        cat gui.txt; fail "$* --quit-after-start did not exit 0"
    fi
    grep -q "window shown in" gui.txt || { cat gui.txt; fail "$* did not show its window"; }
    ! grep -q "Traceback" gui.txt || { cat gui.txt; fail "$* printed a traceback"; }
    echo "$(basename "$1")${2:+ $2}: $(grep 'window shown in' gui.txt)"
}
check_gui "$APP/texgen-gui"
check_gui "$APP/texgen" gui

if [ "$(uname -s)" = Linux ] && [ -x "$APP/install-linux.sh" ]; then
    say "install-linux.sh: the app installed elsewhere, started through its link on the PATH"
    PREFIX="$WORK/prefix" "$APP/install-linux.sh" >install.txt || { cat install.txt; fail "install-linux.sh failed"; }
    got=$("$WORK/prefix/bin/texgen" --version) || fail "the installed texgen does not start"
    [ "$got" = "texgen $VERSION" ] || fail "the installed texgen --version printed '$got'"
    "$WORK/prefix/bin/texgen" models | grep -q "$WORK/prefix/lib/texgen/_internal/assets/models" \
        || fail "the installed app does not read its own bundled models"
    grep -q "^Exec=$WORK/prefix/lib/texgen/texgen-gui" "$WORK/prefix/share/applications/texgen.desktop" \
        || fail "the installed desktop entry does not start the installed texgen-gui"
    if command -v desktop-file-validate >/dev/null; then
        desktop-file-validate "$WORK/prefix/share/applications/texgen.desktop" | grep -v "hint:" | grep . && fail "the desktop entry is not valid"
    fi
    PREFIX="$WORK/prefix" "$WORK/prefix/lib/texgen/install-linux.sh" --uninstall >/dev/null
    [ ! -e "$WORK/prefix/lib/texgen" ] || fail "install-linux.sh --uninstall left the app behind"
    echo "installed, ran from $WORK/prefix/bin, uninstalled"
fi

say "SMOKE PASSED"
echo "build time: $BUILD_S"
echo "bundle size: $(du -sh "$APP" | cut -f1) ($APP)"
