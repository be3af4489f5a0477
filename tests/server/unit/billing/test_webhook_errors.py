"""What a failed webhook application stores about its error: never a mail server's text (it names recipients)."""

from __future__ import annotations

import smtplib

from server.domain.billing.webhooks import _error_text


def test_a_refused_mail_is_stored_as_its_kind_only() -> None:
    refused = smtplib.SMTPRecipientsRefused({"ada@example.com": (550, b"5.1.1 <ada@example.com>: unknown user")})

    assert _error_text(refused) == "SMTPRecipientsRefused"
    assert _error_text(ConnectionRefusedError(111, "Connection refused to mail.example.com")) == (
        "ConnectionRefusedError"
    )
    assert _error_text(ValueError("no plan for lookup key x")) == "ValueError: no plan for lookup key x"
