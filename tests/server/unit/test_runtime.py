"""Preparing the data dir: private, with a secret key made once and kept."""

from __future__ import annotations

import stat
from pathlib import Path

from server.runtime import prepare
from server.settings import Settings


def test_a_loose_data_dir_is_made_private_and_gets_a_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o777)
    data_dir.chmod(0o777)

    settings = prepare(Settings(data_dir=data_dir))

    assert stat.S_IMODE(data_dir.stat().st_mode) & 0o067 == 0
    assert settings.secret_key is not None
    assert stat.S_IMODE((data_dir / "secret_key").stat().st_mode) == 0o600
    assert prepare(Settings(data_dir=data_dir)).secret_key == settings.secret_key


def test_a_missing_data_dir_is_created_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "a" / "b"
    prepare(Settings(data_dir=data_dir))
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
