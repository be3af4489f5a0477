"""Preparing the data dir (private, with a secret key made once and kept) and the serving process's heap."""

from __future__ import annotations

import gc
import stat
from typing import TYPE_CHECKING

from server.runtime import freeze_startup_heap, prepare
from server.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path


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


def test_what_exists_at_startup_is_left_out_of_garbage_collection_and_later_objects_are_not() -> None:
    class Held:
        pass

    at_startup = Held()
    tracked_before = len(gc.get_objects())
    freeze_startup_heap()
    try:
        made_while_serving = Held()
        tracked = {id(o) for o in gc.get_objects()}
        assert id(at_startup) not in tracked  # a full collection never walks it again
        assert id(made_while_serving) in tracked  # collected as usual
        assert len(tracked) < tracked_before / 10
    finally:
        gc.unfreeze()  # this is a test process, not a server
