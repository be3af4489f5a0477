#!/usr/bin/env bash
# Put uv (pinned) into .tools/bin, so nothing is installed system-wide.
# usage: bootstrap-uv.sh PYTHON TOOLS_DIR UV_VERSION
set -euo pipefail
python=$1 tools=$2 version=$3

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Tech Pal needs Python 3.11 or newer as '$python' (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if "$python" -m venv "$tools" 2>/dev/null; then
  "$tools/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$version"
else
  # Debian and Ubuntu ship venv's pip bootstrap separately (python3-venv); fetch uv's wheel ourselves instead.
  rm -rf "$tools"
  "$python" "$(dirname "$0")/fetch_uv.py" "$version" "$tools/bin"
fi
