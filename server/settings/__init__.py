"""One settings object for the whole server, read from flat ``TECHPAL_*`` environment variables.

Every variable is declared once in :data:`ENV_VARS` (name, where it lands, how it parses, what it means);
``docs/configuration.md`` lists the same names and a test keeps the two in step. Loading is pure: it reads a
mapping and returns frozen sections, so tests build settings without touching ``os.environ``.
"""

from server.settings._env import get_settings
from server.settings._sections import (
    AISettings,
    Argon2Params,
    AuthSettings,
    BillingSettings,
    DatabaseSettings,
    GoogleSettings,
    LogSettings,
    MailSettings,
    ProxyNetwork,
    Secret,
    ServerSettings,
    Settings,
    SettingsError,
    TicketSettings,
)
from server.settings._variables import ENV_VARS, EnvVar

__all__ = [
    "ENV_VARS",
    "AISettings",
    "Argon2Params",
    "AuthSettings",
    "BillingSettings",
    "DatabaseSettings",
    "EnvVar",
    "GoogleSettings",
    "LogSettings",
    "MailSettings",
    "ProxyNetwork",
    "Secret",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "TicketSettings",
    "get_settings",
]
