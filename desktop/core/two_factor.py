"""Two-step sign-in on the app's side: the QR code of the secret, drawn locally, and the texts around it.

The ``otpauth://`` URI holds the secret: it is turned into a QR matrix here, on this computer, and never sent to
any QR service. No Qt: the widget in :mod:`desktop.ui.qr_code` paints the matrix this module computes.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "RECOVERY_CODES_FILENAME",
    "QrMatrix",
    "clean_code",
    "group_secret",
    "qr_matrix",
    "recovery_codes_text",
]

QrMatrix = tuple[tuple[bool, ...], ...]
RECOVERY_CODES_FILENAME: Final = "techpal-recovery-codes.txt"
_SPACES = re.compile(r"\s+")


def qr_matrix(uri: str) -> QrMatrix:
    """The QR code of ``uri`` at error correction level M (or better), as rows of dark (``True``) modules.

    The quiet zone is not included: whoever draws it leaves four light modules around it.
    """
    import segno  # noqa: PLC0415 - only while two-step sign-in is being turned on

    symbol = segno.make(uri, error="m", micro=False)
    return tuple(tuple(bool(module) for module in row) for row in symbol.matrix)


def group_secret(secret: str) -> str:
    """The base32 secret in groups of four, as authenticator apps show it when typed in: ``"JBSW Y3DP EHPK"``."""
    plain = _SPACES.sub("", secret).rstrip("=").upper()
    return " ".join(plain[start : start + 4] for start in range(0, len(plain), 4))


def clean_code(text: str) -> str:
    """What the user typed as a code, without the spaces an app shows in it ("123 456") or pasting adds."""
    return _SPACES.sub("", text)


def recovery_codes_text(codes: list[str], *, email: str, server: str) -> str:
    """The recovery codes as a text file a person finds again and understands."""
    lines = [
        "Tech Pal recovery codes",
        f"Account: {email}",
        f"Server: {server}",
        "",
        "Each code signs you in once, instead of a code from your authenticator app.",
        "Keep them somewhere safe; anyone who has them and your password can sign in.",
        "",
        *codes,
    ]
    return "\n".join(lines) + "\n"
