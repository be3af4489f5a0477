"""The mails of the data-rights flows. None carries the user's data or text the user chose: only what happened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.lib.mail import compose

if TYPE_CHECKING:
    import datetime
    from email.message import EmailMessage

__all__ = ["deletion_mail", "export_ready_mail", "policy_mail", "restored_mail"]


def _day(moment: datetime.datetime) -> str:
    return f"{moment:%d %B %Y}"


def export_ready_mail(sender: str, to: str, expires_at: datetime.datetime) -> EmailMessage:
    """Says the export can be downloaded (from the app, signed in); the mail itself holds none of the data."""
    text = (
        "Hello,\n\nThe copy of your Tech Pal data you asked for is ready. Download it from the Tech Pal app: "
        f"Account → Download my data. It stays available until {_day(expires_at)} (UTC).\n\n"
        "If you did not ask for it, change your password: someone may be signed in as you.\n"
    )
    return compose(sender, to, "Your Tech Pal data is ready to download", text)


def deletion_mail(sender: str, to: str, purge_after: datetime.datetime) -> EmailMessage:
    """Confirms a deletion, says when the data goes, and how to undo it."""
    text = (
        "Hello,\n\nYour Tech Pal account is deleted: it is signed out everywhere and any subscription is cancelled. "
        f"On {_day(purge_after)} (UTC) we remove your profile, tickets, conversations, screenshots and billing "
        "records for good.\n\nChanged your mind? Until then, sign in to the Tech Pal app and choose "
        '"Restore my account".\n\nKnowledge-base articles grown from fixes you confirmed stay: they were anonymized '
        "when they were made and hold nothing that identifies you.\n"
    )
    return compose(sender, to, "Your Tech Pal account is deleted", text)


def restored_mail(sender: str, to: str) -> EmailMessage:
    """Confirms that a deleted account was brought back."""
    text = (
        "Hello,\n\nYour Tech Pal account is restored: it will not be removed, and you can sign in as before.\n\n"
        "If this was not you, reset your password now.\n"
    )
    return compose(sender, to, "Your Tech Pal account is restored", text)


def policy_mail(sender: str, to: str, version: str, summary: str, url: str | None) -> EmailMessage:
    """Tells a user the privacy policy changed, with the operator's summary of what changed."""
    link = f"\n\nRead the whole policy: {url}" if url else ""
    text = (
        f"Hello,\n\nWe have updated the Tech Pal privacy policy (version {version}). What changed:\n\n"
        f"{summary.strip()}{link}\n\nThe Tech Pal app shows this notice once more the next time you use it.\n"
    )
    return compose(sender, to, "Our privacy policy has changed", text)
