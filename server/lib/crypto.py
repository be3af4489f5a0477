"""Key material: the server's secret key, generated once for the embedded default and kept private on disk."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from server.settings import Secret

__all__ = ["SECRET_KEY_FILE", "load_or_create_secret_key"]

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


def load_or_create_secret_key(data_dir: Path) -> Secret:
    """Return the key stored in ``data_dir``, creating it (mode 0600) on first use.

    Reusing it across restarts keeps signed tokens valid, so a restart logs no one out.
    """
    path = data_dir / SECRET_KEY_FILE
    try:
        # O_EXCL: two processes starting at once must not both write (and disagree on) the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if len(key) < 32:
            raise RuntimeError(f"{path} is empty or damaged; delete it to generate a new key") from None
        return Secret(key)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secrets.token_urlsafe(48))
    return Secret(path.read_text(encoding="ascii").strip())
