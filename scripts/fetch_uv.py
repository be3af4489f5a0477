"""Fetch the pinned uv wheel from PyPI with the standard library alone and unpack its binary.

Used by bootstrap-uv.sh where ``python3 -m venv`` cannot install pip (Debian/Ubuntu without python3-venv), so
`make run` never needs apt. The wheel's sha256 comes from PyPI's index and is checked before anything is unpacked.
usage: fetch_uv.py VERSION DEST_DIR
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import stat
import sys
import urllib.request
import zipfile
from pathlib import Path

INDEX = "https://pypi.org/simple/uv/"
# Wheel platform tags by machine, most compatible first.
TAGS = {
    ("Linux", "x86_64"): ("manylinux_2_17_x86_64", "musllinux_1_1_x86_64"),
    ("Linux", "aarch64"): ("manylinux_2_17_aarch64", "manylinux_2_28_aarch64", "musllinux_1_1_aarch64"),
    ("Darwin", "x86_64"): ("macosx_10_12_x86_64",),
    ("Darwin", "arm64"): ("macosx_11_0_arm64",),
}


def main(version: str, dest: Path) -> int:
    """Download, verify and unpack ``uv`` into ``dest``."""
    tags = TAGS.get((platform.system(), platform.machine()))
    if tags is None:
        print(f"fetch_uv: no uv wheel known for {platform.system()} {platform.machine()}", file=sys.stderr)
        return 1
    request = urllib.request.Request(INDEX, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - a fixed https URL
        files = json.load(response)["files"]
    wheel = next(
        (f for tag in tags for f in files if f["filename"].startswith(f"uv-{version}-") and tag in f["filename"]),
        None,
    )
    if wheel is None:
        print(f"fetch_uv: uv {version} has no wheel for {tags[0]}", file=sys.stderr)
        return 1
    with urllib.request.urlopen(wheel["url"], timeout=300) as response:  # noqa: S310 - URL from PyPI's index
        data = response.read()
    if hashlib.sha256(data).hexdigest() != wheel["hashes"]["sha256"]:
        print("fetch_uv: the download does not match PyPI's sha256; not using it", file=sys.stderr)
        return 1
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = next(n for n in archive.namelist() if n.endswith("/scripts/uv"))
        target = dest / "uv"
        dest.mkdir(parents=True, exist_ok=True)
        target.write_bytes(archive.read(member))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
