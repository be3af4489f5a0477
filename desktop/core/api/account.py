"""The account's own requests: password, two-step sign-in, signed-in devices, and the data rights.

A part of :class:`~desktop.core.api.client.ApiClient` (a mixin: the client provides the transport declared here).
The export download streams to disk chunk by chunk: an export holds every screenshot of every ticket, so it never
passes through memory whole.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx

from desktop.core.api.errors import ServerUnreachable
from desktop.core.api.models import DeletionScheduled, DeviceSession, ExportInfo, RecoveryCodes, TotpSetup
from desktop.core.api.responses import decode
from desktop.core.api.routes import API, segment

__all__ = ["AccountRequests"]

# Big enough to keep the disk busy, small enough that a 500 MB export costs no memory to speak of.
_CHUNK_BYTES = 256 * 1024


class AccountRequests:
    """Account and data-rights requests of the API client (the client provides ``_send`` and ``_open_stream``)."""

    def _send(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

    def _open_stream(
        self, method: str, path: str, body: dict[str, Any] | None, *, accept: str = "text/event-stream"
    ) -> httpx.Response:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------ password
    def change_password(self, current_password: str, new_password: str) -> None:
        """Set a new password; the server ends every other session (this one stays)."""
        body = {"current_password": current_password, "new_password": new_password}
        self._send("POST", f"{API}/me/password", json=body)

    # ------------------------------------------------------------------------------------------ two-step sign-in
    def start_totp(self) -> TotpSetup:
        """Begin turning on two-step sign-in: a new pending secret (asking again replaces it), not yet in force.

        Raises:
            ApiError: ``two_factor_enabled`` when it is on already.
        """
        return decode(self._send("POST", f"{API}/me/2fa/totp"), TotpSetup)

    def confirm_totp(self, code: str, *, current_password: str | None = None) -> list[str]:
        """Turn two-step sign-in on with a code from the app; returns the 10 recovery codes (shown only now).

        The server signs out every other device. An account with a password proves it is the owner with
        ``current_password`` (an account made by Google sign-in has none to give).

        Raises:
            ApiError: ``invalid_otp`` (a wrong code), ``two_factor_not_pending`` (no setup to confirm),
                ``reauthentication_required`` (no password given), ``invalid_credentials`` (a wrong one).
        """
        body = {"code": code} if current_password is None else {"code": code, "current_password": current_password}
        return decode(self._send("POST", f"{API}/me/2fa/totp/confirm", json=body), RecoveryCodes).recovery_codes

    def disable_totp(self, password: str, code: str) -> None:
        """Turn two-step sign-in off; the password and a current code (or a recovery code) prove it is the owner.

        Raises:
            ApiError: ``invalid_credentials`` (the password), ``invalid_otp`` (the code), ``two_factor_disabled``.
        """
        self._send("DELETE", f"{API}/me/2fa/totp", json={"password": password, "code": code})

    # ------------------------------------------------------------------------------------------ devices
    def sessions(self) -> list[DeviceSession]:
        """The signed-in devices; ``current`` marks this one."""
        return decode(self._send("GET", f"{API}/auth/sessions"), list[DeviceSession])

    def end_session(self, session_id: str) -> None:
        """Sign out one other device."""
        self._send("DELETE", f"{API}/auth/sessions/{segment(session_id)}")

    def end_other_sessions(self) -> None:
        """Sign out every device but this one."""
        self._send("DELETE", f"{API}/auth/sessions")

    # ------------------------------------------------------------------------------------------ export
    def start_export(self) -> ExportInfo:
        """Ask for an export of my data (429 ``export_limited`` with ``Retry-After``: one a day)."""
        return decode(self._send("POST", f"{API}/me/export"), ExportInfo)

    def exports(self) -> list[ExportInfo]:
        """My exports, newest first."""
        return decode(self._send("GET", f"{API}/me/exports"), list[ExportInfo])

    def export(self, export_id: str) -> ExportInfo:
        """One export, to follow it from ``pending`` to ``ready``."""
        return decode(self._send("GET", f"{API}/me/exports/{segment(export_id)}"), ExportInfo)

    def download_export(self, export_id: str, destination: Path) -> int:
        """Stream a ready export's ZIP to ``destination`` and return the bytes written.

        The bytes go to a temporary file beside ``destination``, renamed over it once complete: a failed download
        leaves nothing behind, and an existing file there is replaced only by a whole one.
        """
        path = f"{API}/me/exports/{segment(export_id)}/download"
        written = 0
        fd, temp_name = tempfile.mkstemp(prefix=f".{destination.name}-", suffix=".part", dir=destination.parent)
        try:
            with (
                os.fdopen(fd, "wb") as handle,
                contextlib.closing(self._open_stream("GET", path, None, accept="application/zip")) as answer,
            ):
                for chunk in answer.iter_bytes(_CHUNK_BYTES):
                    handle.write(chunk)
                    written += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, destination)
        except httpx.TransportError as exc:
            raise ServerUnreachable(
                message="The connection dropped while your data was downloading. Try again.",
                detail=str(exc) or type(exc).__name__,
            ) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):  # already renamed when the download completed
                Path(temp_name).unlink()
        return written

    # ------------------------------------------------------------------------------------------ deletion, policy
    def delete_account(self, password: str) -> DeletionScheduled:
        """Delete my account: closed now (every session ends), purged at ``purge_after`` unless restored before."""
        return decode(self._send("DELETE", f"{API}/me", json={"password": password}), DeletionScheduled)

    def restore_account(self, login: str, password: str) -> None:
        """Bring back an account deleted less than 30 days ago (sign in afterwards)."""
        self._send("POST", f"{API}/auth/restore", json={"login": login, "password": password}, auth=False)

    def accept_policy(self, version: str) -> None:
        """Record that I read this version of the privacy policy."""
        self._send("POST", f"{API}/me/policy/accept", json={"version": version})
