#!/usr/bin/env bash
# Install the built texgen app on Linux: the folder, `texgen` and `texgen-gui` on the PATH, the
# desktop entry and its icon. For the current user by default (~/.local), system-wide with
# PREFIX=/usr/local (as root).
#
#   ./install-linux.sh                  from inside the built folder (the build copies it there)
#   packaging/install-linux.sh dist/texgen
#   ./install-linux.sh --uninstall
set -euo pipefail

PREFIX=${PREFIX:-$HOME/.local}
APPDIR=$PREFIX/lib/texgen
BIN=$PREFIX/bin
DESKTOP=$PREFIX/share/applications/texgen.desktop
ICON_PNG=$PREFIX/share/icons/hicolor/256x256/apps/texgen.png
ICON_SVG=$PREFIX/share/icons/hicolor/scalable/apps/texgen.svg

refresh() {  # menus and icon caches pick the change up (each tool is optional)
    command -v update-desktop-database >/dev/null && update-desktop-database -q "$PREFIX/share/applications" || true
    command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$APPDIR"
    rm -f "$BIN/texgen" "$BIN/texgen-gui" "$DESKTOP" "$ICON_PNG" "$ICON_SVG"
    refresh
    echo "texgen removed from $PREFIX"
    exit 0
fi

case "$APPDIR" in *[\"\`\$\\%]*)  # the desktop entry's Exec would need escapes its readers disagree on
    echo "error: the install folder $APPDIR holds a quote, backquote, \$, backslash or %" >&2
    echo "fix: install with PREFIX set to a folder without them" >&2
    exit 2;;
esac

SRC=$(cd "${1:-$(dirname "$0")}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$SRC/texgen-gui" ] || [ ! -x "$SRC/texgen" ] || [ ! -d "$SRC/_internal" ]; then
    echo "error: $SRC is not a built texgen folder (no texgen, texgen-gui and _internal/ in it)" >&2
    echo "fix: build it first (pyinstaller packaging/texgen.spec) and pass dist/texgen" >&2
    exit 2
fi
# The desktop entry and icons: beside the executables in a built folder, else in packaging/.
find_file() { for d in "$SRC" "$HERE" "$HERE/icons"; do [ -f "$d/$1" ] && { echo "$d/$1"; return; }; done; echo "error: $1 not found" >&2; exit 2; }
desktop_src=$(find_file texgen.desktop)
png_src=$(find_file texgen.png)
svg_src=$(find_file texgen.svg)

# Copy beside the old install, then swap: a failed copy leaves the old one working.
mkdir -p "$PREFIX/lib" "$BIN" "$(dirname "$DESKTOP")" "$(dirname "$ICON_PNG")" "$(dirname "$ICON_SVG")"
rm -rf "$APPDIR.new"
cp -a "$SRC" "$APPDIR.new"
rm -rf "$APPDIR.old"
[ -e "$APPDIR" ] && mv "$APPDIR" "$APPDIR.old"
mv "$APPDIR.new" "$APPDIR"
rm -rf "$APPDIR.old"

ln -sfn "$APPDIR/texgen" "$BIN/texgen"
ln -sfn "$APPDIR/texgen-gui" "$BIN/texgen-gui"
# Absolute paths: a desktop session's PATH often lacks ~/.local/bin. Exec's program is quoted
# (the Desktop Entry spec splits it at spaces otherwise); TryExec is a plain path.
sed_path=$(printf '%s' "$APPDIR/texgen-gui" | sed -e 's/[&|\\]/\\&/g')
sed -e "s|^Exec=texgen-gui|Exec=\"$sed_path\"|" -e "s|^TryExec=texgen-gui|TryExec=$sed_path|" \
    "$desktop_src" > "$DESKTOP.tmp" && mv "$DESKTOP.tmp" "$DESKTOP"
cp "$png_src" "$ICON_PNG"
cp "$svg_src" "$ICON_SVG"
refresh
echo "texgen installed in $APPDIR"
echo "  commands: $BIN/texgen, $BIN/texgen-gui$(case ":$PATH:" in *":$BIN:"*) ;; *) echo " (add $BIN to PATH)";; esac)"
echo "  menu entry: $DESKTOP"
