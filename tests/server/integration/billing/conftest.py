"""Billing tests run with billing on: Stripe is the local fake, webhooks are signed, mail goes to a real SMTP server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from server.settings import BillingSettings, MailSettings, Secret, Settings
from tests.fixtures.stripe_api import WEBHOOK_SECRET, FakeStripe

if TYPE_CHECKING:
    from tests.fixtures.mail import SmtpCapture


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpCapture, stripe_api: FakeStripe) -> Settings:
    """The usual test settings with Stripe (the fake) configured and mail through ``smtp_server``."""
    mail = MailSettings(smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_tls="none")
    billing = BillingSettings(
        secret_key=Secret("sk_test_" + "s" * 24), webhook_secret=Secret(WEBHOOK_SECRET), api_base=stripe_api.url
    )
    return settings.replace(mail=mail, billing=billing)
