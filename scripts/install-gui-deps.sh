#!/usr/bin/env bash
# Install the Debian/Ubuntu packages the Qt desktop tests need: a virtual X
# server with a window manager and a system tray, the X11/xcb libraries the
# PySide6 "xcb" platform plugin loads, one real font for offscreen runs, and
# Chromium with its driver for the support console's browser tests.
#
# Idempotent and fast: when everything is present it only asks dpkg-query once.
# As root it installs what is missing; otherwise it names the missing packages
# and exits 1 so CI fails loudly instead of running GUI tests half-configured.
set -euo pipefail

PACKAGES=(
  xvfb xauth x11-utils openbox trayer xdotool
  chromium chromium-driver
  fonts-dejavu-core
  libegl1 libgl1 libfontconfig1 libdbus-1-3
  libxkbcommon0 libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-randr0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxcb-shm0 libxcb-sync1
  libxcb-util1
)

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-gui-deps: dpkg-query not found; this script supports Debian/Ubuntu only." >&2
  exit 1
fi

# One dpkg-query call for all packages; unknown packages print nothing on
# stdout, so compare by name rather than by line position.
installed="$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)"
missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! grep -qxF "${pkg} install ok installed" <<<"${installed}"; then
    missing+=("${pkg}")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  echo "install-gui-deps: missing packages: ${missing[*]}" >&2
  echo "install-gui-deps: run this script as root (or: sudo apt-get install -y --no-install-recommends ${missing[*]})" >&2
  exit 1
fi

echo "install-gui-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
