"""Reading the ``TECHPAL_*`` variables (declared in :mod:`server.settings._variables`) into one :class:`Settings`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from server.settings._sections import (
    AISettings,
    AuthSettings,
    BillingSettings,
    DatabaseSettings,
    GoogleSettings,
    LogSettings,
    MailSettings,
    Secret,
    ServerSettings,
    Settings,
    SettingsError,
    TicketSettings,
)
from server.settings._variables import ENV_VARS
from server.settings.plans import load_catalogue

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["get_settings"]


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``TECHPAL_*`` variables.

    Raises:
        SettingsError: naming every variable that is wrong and why, so one start-up shows all problems.
    """
    env = os.environ if environ is None else environ
    problems: list[str] = []
    root: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    for var in ENV_VARS:
        raw = env.get(var.name)
        if raw is None or raw == "":
            continue
        try:
            value = var.parse(raw)
        except ValueError as exc:
            problems.append(f"{var.name}: {exc}")
            continue
        section, _, name = var.target.rpartition(".")
        (sections.setdefault(section, {}) if section else root)[name] = value

    server = ServerSettings(**sections.get("server", {}))
    db = DatabaseSettings(**sections.get("db", {}))
    if (server.tls_cert is None) != (server.tls_key is None):
        problems.append("TECHPAL_TLS_CERT and TECHPAL_TLS_KEY must be set together")
    if not db.embedded and "secret_key" not in root:
        problems.append("TECHPAL_SECRET_KEY: required when TECHPAL_DATABASE_URL is set (every process must share it)")
    mail = MailSettings(**sections.get("mail", {}))
    google = GoogleSettings(**sections.get("google", {}))
    if (google.client_id is None) != (google.client_secret is None):
        problems.append("TECHPAL_GOOGLE_CLIENT_ID and TECHPAL_GOOGLE_CLIENT_SECRET must be set together")
    ai = sections.get("ai", {})
    if "api_key" not in ai and env.get("OPENAI_API_KEY", "").strip():
        ai["api_key"] = Secret(env["OPENAI_API_KEY"].strip())
    billing = sections.get("billing", {})
    if billing.get("plans_file") is not None:
        billing["plans"] = load_catalogue(billing["plans_file"])
    if problems:
        raise SettingsError(problems)
    return Settings(
        server=server,
        db=db,
        log=LogSettings(**sections.get("log", {})),
        auth=AuthSettings(**sections.get("auth", {})),
        mail=mail,
        ai=AISettings(**ai),
        tickets=TicketSettings(**sections.get("tickets", {})),
        billing=BillingSettings(**billing),
        google=google,
        **root,
    )
