"""Accounts tests send their mail through a real SMTP server (aiosmtpd) instead of the outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from server.settings import MailSettings, Settings

if TYPE_CHECKING:
    from tests.fixtures.mail import SmtpCapture


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpCapture) -> Settings:
    """The usual test settings, mailing through ``smtp_server``."""
    mail = MailSettings(smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_tls="none")
    return settings.replace(mail=mail)
