#!/usr/bin/env sh
# Install this ecgviewer bundle on a Linux workstation, offline.
#   sudo ./install.sh              -> /opt/ecgviewer, /usr/local/bin/ecgviewer, menu entry + icon
#   ./install.sh ~/.local          -> ~/.local/opt/ecgviewer, ~/.local/bin/ecgviewer (no root)
# Run it from the unpacked bundle folder (the one holding the `ecgviewer` executable).
# Uninstall: remove PREFIX/opt/ecgviewer, PREFIX/bin/ecgviewer,
# PREFIX/share/applications/ecgviewer.desktop and PREFIX/share/icons/hicolor/*/apps/ecgviewer.*
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:-}
if [ -z "$prefix" ]; then
  app=/opt/ecgviewer; bin=/usr/local/bin; share=/usr/share
else
  app=$prefix/opt/ecgviewer; bin=$prefix/bin; share=$prefix/share
fi
[ -x "$here/ecgviewer" ] || { echo "install.sh: run me from the bundle folder" >&2; exit 1; }
if [ "$here" != "$app" ]; then
  mkdir -p "$app"
  cp -a "$here/." "$app/"
fi
mkdir -p "$bin" "$share/applications" "$share/icons/hicolor/scalable/apps"
ln -sf "$app/ecgviewer" "$bin/ecgviewer"
sed "s|^Exec=ecgviewer|Exec=$app/ecgviewer|; s|^TryExec=ecgviewer|TryExec=$app/ecgviewer|" \
  "$here/ecgviewer.desktop" > "$share/applications/ecgviewer.desktop"
icons="$app/_internal/resources/icons"
cp "$icons/ecgviewer.svg" "$share/icons/hicolor/scalable/apps/ecgviewer.svg"
for size in 16 32 48 64 128 256 512; do
  if [ -f "$icons/ecgviewer-$size.png" ]; then
    mkdir -p "$share/icons/hicolor/${size}x${size}/apps"
    cp "$icons/ecgviewer-$size.png" "$share/icons/hicolor/${size}x${size}/apps/ecgviewer.png"
  fi
done
command -v update-desktop-database >/dev/null && update-desktop-database "$share/applications" 2>/dev/null || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q "$share/icons/hicolor" 2>/dev/null || true
echo "installed: $app (run: $bin/ecgviewer; menu entry: $share/applications/ecgviewer.desktop)"
