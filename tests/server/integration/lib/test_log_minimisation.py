"""What reaches the logs and the database about a failure: no credentials in tracebacks, no SQL parameters."""

from __future__ import annotations

import io
import logging

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from server.db.engine import create_engine
from server.lib.log import configure_logging
from server.settings import DatabaseSettings, LogSettings, Secret


def test_a_traceback_is_redacted_like_any_other_field() -> None:
    configure_logging(LogSettings(level="info", format="json"))
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        raise RuntimeError("connect to postgresql://techpal:hunter22@db/techpal failed; Bearer abc.def.ghi")
    except RuntimeError:
        structlog.get_logger("test").exception("boom")
    written = stream.getvalue()

    assert "RuntimeError" in written  # the traceback is there…
    assert "hunter22" not in written  # …without the credentials in it
    assert "abc.def.ghi" not in written


async def test_sql_errors_carry_no_bound_parameters(db_url: str) -> None:
    engine = create_engine(DatabaseSettings(url=Secret(db_url), pool_size=1))
    try:
        async with engine.connect() as connection:
            await connection.execute(text("CREATE TEMP TABLE addresses (address text PRIMARY KEY)"))
            insert = text("INSERT INTO addresses VALUES (:address)")
            await connection.execute(insert, {"address": "ada@example.com"})
            with pytest.raises(DBAPIError) as failure:  # a duplicate: the statement and its values in the error
                await connection.execute(insert, {"address": "ada@example.com"})
    finally:
        await engine.dispose()

    assert "ada@example.com" not in str(failure.value)
    assert "hidden" in str(failure.value)
