"""Outgoing mail: a :class:`Mailer` protocol with an SMTP implementation and an outbox of ``.eml`` files.

Without SMTP configured (the embedded default) every mail lands in ``TECHPAL_DATA_DIR/outbox/`` before the request
that caused it returns, so a laptop install works end to end. Mails carry tokens: the log names recipients' files
and message ids, never bodies.
"""

from __future__ import annotations

import datetime
import os
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Protocol

import anyio.to_thread
import structlog

if TYPE_CHECKING:
    from pathlib import Path

    from server.settings import MailSettings, Settings

__all__ = ["Mailer", "OutboxMailer", "SmtpMailer", "build_mailer", "compose"]

logger = structlog.get_logger(__name__)
SMTP_TIMEOUT_S = 15


def compose(sender: str, to: str, subject: str, text: str) -> EmailMessage:
    """A plain-text mail with the headers every mail needs."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="techpal")
    message.set_content(text)
    return message


class Mailer(Protocol):
    """Sends one mail; raises ``OSError``/``smtplib.SMTPException`` when it cannot."""

    sender: str

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` (its ``From`` already set)."""
        ...


class OutboxMailer:
    """Writes each mail as an ``.eml`` file (0600, in a 0700 directory)."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    async def send(self, message: EmailMessage) -> None:
        """Write the file before returning, so whoever reads the outbox sees it once the request is answered."""
        path = await anyio.to_thread.run_sync(self._write, message)
        logger.info("mail_written", file=str(path), subject=message["Subject"])

    def _write(self, message: EmailMessage) -> Path:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Sortable by time (microseconds), unique across processes.
        name = f"{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:12]}.eml"
        path = self.directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(bytes(message))
        return path


class SmtpMailer:
    """Sends through an SMTP server with ``smtplib`` in a worker thread (no async SMTP client is installed)."""

    def __init__(self, settings: MailSettings) -> None:
        assert settings.smtp_host is not None
        self.settings = settings
        self.sender = settings.mail_from

    async def send(self, message: EmailMessage) -> None:
        """Deliver over SMTP; failures propagate so the caller can report them."""
        await anyio.to_thread.run_sync(self._send, message)
        logger.info("mail_sent", message_id=message["Message-ID"], subject=message["Subject"])

    def _send(self, message: EmailMessage) -> None:
        s = self.settings
        host = s.smtp_host or ""
        context = ssl.create_default_context()
        smtp: smtplib.SMTP = (
            smtplib.SMTP_SSL(host, s.smtp_port, timeout=SMTP_TIMEOUT_S, context=context)
            if s.smtp_tls == "tls"
            else smtplib.SMTP(host, s.smtp_port, timeout=SMTP_TIMEOUT_S)
        )
        with smtp:
            if s.smtp_tls == "starttls":
                smtp.starttls(context=context)
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(message)


def build_mailer(settings: Settings) -> Mailer:
    """SMTP when ``TECHPAL_SMTP_HOST`` is set, else the outbox under the data dir."""
    if settings.mail.smtp_host:
        return SmtpMailer(settings.mail)
    return OutboxMailer(settings.data_dir / "outbox", settings.mail.mail_from)
