"""The two mailers: SMTP to a real server, and the outbox of private ``.eml`` files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from server.lib.mail import OutboxMailer, SmtpMailer, build_mailer, compose
from server.settings import MailSettings, Settings
from tests.fixtures.mail import OutboxReader, SmtpCapture

if TYPE_CHECKING:
    from pathlib import Path


async def test_smtp_mailer_delivers(smtp_server: SmtpCapture) -> None:
    mailer = SmtpMailer(
        MailSettings(smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_tls="none", mail_from="TP <tp@x.io>")
    )
    await mailer.send(compose(mailer.sender, "ada@example.com", "Hello", "Body ✓"))
    (message,) = smtp_server.messages()
    assert message["Subject"] == "Hello"
    assert message.get_body(("plain",)).get_content().strip() == "Body ✓"
    assert smtp_server.envelopes == [("tp@x.io", ["ada@example.com"])]


async def test_smtp_failures_surface(closed_port_url: str) -> None:
    port = int(closed_port_url.rsplit(":", 1)[1])
    mailer = SmtpMailer(MailSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none"))
    with pytest.raises(ConnectionRefusedError):
        await mailer.send(compose(mailer.sender, "a@example.com", "x", "y"))


async def test_outbox_files_are_private(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path / "outbox", "TP <tp@x.io>")
    for n in range(3):
        await mailer.send(compose(mailer.sender, "a@example.com", f"n{n}", "secret link"))
    reader = OutboxReader(tmp_path / "outbox")
    assert [m["Subject"] for m in reader.messages()] == ["n0", "n1", "n2"]
    assert (tmp_path / "outbox").stat().st_mode & 0o777 == 0o700
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in reader.files())


def test_build_mailer_picks_by_settings(tmp_path: Path) -> None:
    assert isinstance(build_mailer(Settings(data_dir=tmp_path)), OutboxMailer)
    assert isinstance(build_mailer(Settings(data_dir=tmp_path, mail=MailSettings(smtp_host="h"))), SmtpMailer)
