"""The mails accounts send. Links point at our own pages, whose button does the work (scanners only GET).

No mail carries text a user chose (a name could be a phishing line): greetings are generic, subjects fixed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from server.lib.mail import compose

if TYPE_CHECKING:
    from email.message import EmailMessage

__all__ = ["email_change_notice", "reset_mail", "verification_mail"]


def _link(base_url: str, page: str, token: str) -> str:
    return f"{base_url}/{page}?{urlencode({'token': token})}"


def verification_mail(sender: str, to: str, base_url: str, token: str, *, change: bool) -> EmailMessage:
    """Asks the owner of ``to`` to confirm it (a new account, or a changed address)."""
    why = "You asked to change your Tech Pal e-mail address to this one." if change else "Welcome to Tech Pal!"
    text = (
        f"Hello,\n\n{why} Please confirm this address by opening the link below and pressing the button:\n\n"
        f"{_link(base_url, 'verify-email', token)}\n\n"
        "The link works once and expires in 24 hours. If this was not you, ignore this mail.\n"
    )
    return compose(sender, to, "Confirm your e-mail address for Tech Pal", text)


def email_change_notice(sender: str, to: str, base_url: str, token: str) -> EmailMessage:
    """Tells the current address that the account's address is being changed, with a link that undoes it."""
    text = (
        "Hello,\n\nSomeone signed in to your Tech Pal account asked to change its e-mail address to another one. "
        "If that was you, there is nothing to do.\n\nIf it was not you, open this link and press the button: it keeps "
        "(or brings back) this address and signs every device out:\n\n"
        f"{_link(base_url, 'cancel-email-change', token)}\n\n"
        "Then choose a new password. The link works once and expires in 7 days.\n"
    )
    return compose(sender, to, "Your Tech Pal e-mail address is being changed", text)


def reset_mail(sender: str, to: str, base_url: str, token: str) -> EmailMessage:
    """Carries the password-reset link."""
    text = (
        "Hello,\n\nSomeone (hopefully you) asked to reset your Tech Pal password. Choose a new one here:\n\n"
        f"{_link(base_url, 'reset-password', token)}\n\n"
        "The link works once and expires in 1 hour. If this was not you, ignore this mail: your password stays.\n"
    )
    return compose(sender, to, "Reset your Tech Pal password", text)
