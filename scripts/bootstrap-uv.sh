#!/usr/bin/env bash
# Put uv (pinned) into a private tools venv, so nothing is installed system-wide.
# usage: bootstrap-uv.sh PYTHON TOOLS_DIR UV_VERSION
set -euo pipefail
python=$1 tools=$2 version=$3

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Tech Pal needs Python 3.11 or newer as '$python' (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if ! "$python" -m venv "$tools" 2>/dev/null; then
  # Debian and Ubuntu ship venv's pip bootstrap separately.
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
    minor=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "python${minor}-venv"
    rm -rf "$tools"
    "$python" -m venv "$tools"
  else
    echo "'$python -m venv' failed: install your distribution's venv package (e.g. sudo apt-get install python3-venv)." >&2
    exit 1
  fi
fi
"$tools/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$version"
