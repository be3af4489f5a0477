"""The settings sections: frozen dataclasses, one per concern, under the root :class:`Settings`."""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import platformdirs

from server.settings.plans import PlanCatalogue, load_catalogue

__all__ = [
    "AISettings",
    "Argon2Params",
    "AuthSettings",
    "BillingSettings",
    "DatabaseSettings",
    "LogSettings",
    "MailSettings",
    "ProxyNetwork",
    "Secret",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "TicketSettings",
]

ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """One or more ``TECHPAL_*`` variables hold a value the server cannot use."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class Secret:
    """A string that never shows itself in ``repr``, ``str`` or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """Return the wrapped value; call only where the secret is really used."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """How the HTTP server listens and how it is reached from outside."""

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    trusted_proxies: tuple[ProxyNetwork, ...] = ()
    cors_origins: tuple[str, ...] = ()

    @property
    def tls(self) -> bool:
        """Whether this process terminates TLS itself."""
        return self.tls_cert is not None

    @property
    def listen_url(self) -> str:
        """The URL this process answers at directly (``0.0.0.0`` shown as loopback)."""
        scheme = "https" if self.tls else "http"
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::"} else self.host  # noqa: S104 - not binding here
        return f"{scheme}://[{host}]:{self.port}" if ":" in host else f"{scheme}://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL users and mails point at: ``TECHPAL_PUBLIC_URL``, else the listen URL."""
        return self.public_url or self.listen_url


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """Where the data lives: an external PostgreSQL with pgvector, or (``url`` unset) our embedded one."""

    url: Secret | None = None
    pool_size: int = 10
    echo: bool = False

    @property
    def embedded(self) -> bool:
        """Whether the server runs its own PostgreSQL under the data dir."""
        return self.url is None


@dataclass(frozen=True, slots=True)
class LogSettings:
    """Log verbosity and format."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console"] = "json"


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """argon2id cost parameters. The default is above both OWASP minimums (19 MiB × 2 passes, 46 MiB × 1 pass).

    Not an environment variable: weakening it is a code change. Tests pass a cheap profile explicitly.
    """

    time_cost: int = 2
    memory_cost_kib: int = 46 * 1024
    parallelism: int = 1


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Accounts: token lifetimes, registration limit and password hashing cost."""

    access_token_ttl: int = 15 * 60
    refresh_token_ttl: int = 30 * 24 * 3600
    session_max_age: int = 90 * 24 * 3600  # after this, refresh fails whatever the refresh token: sign in again
    register_limit: int = 20
    api_key_requests_per_minute: int = 120  # per API key, on top of the per-account hourly limits
    argon2: Argon2Params = field(default_factory=Argon2Params)


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Outgoing mail: SMTP when ``smtp_host`` is set, else ``.eml`` files in the data dir's outbox."""

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: Secret | None = None
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    mail_from: str = "Tech Pal <no-reply@localhost>"


@dataclass(frozen=True, slots=True)
class TicketSettings:
    """Per-user limits that keep one account from filling the screenshot workers or the model's budget."""

    per_hour: int = 60
    answers_per_hour: int = 120
    searches_per_minute: int = 60  # knowledge-base searches one user may run a minute
    max_event_streams: int = 1000  # open /api/v1/events streams in this process (5 per account at most)


@dataclass(frozen=True, slots=True)
class AISettings:
    """The chat model behind AI resolution: any OpenAI-compatible Chat Completions endpoint.

    With neither a key nor a base URL the server answers retrieval-only (local OCR + knowledge-base search).
    """

    base_url: str | None = None
    api_key: Secret | None = None
    model: str = "gpt-4o-mini"
    timeout: int = 60
    embeddings_base_url: str | None = None

    @property
    def configured(self) -> bool:
        """Whether a chat model is configured (else tickets get retrieval-only answers)."""
        return self.api_key is not None or self.base_url is not None


@dataclass(frozen=True, slots=True)
class BillingSettings:
    """Stripe subscriptions. Without a secret key billing is off and every user has the unlimited plan."""

    secret_key: Secret | None = None
    webhook_secret: Secret | None = None
    api_base: str | None = None
    plans_file: Path | None = None
    plans: PlanCatalogue = field(default_factory=load_catalogue)

    @property
    def enabled(self) -> bool:
        """Whether users subscribe through Stripe (else everyone is ``self_hosted``)."""
        return self.secret_key is not None


@dataclass(frozen=True, slots=True)
class GoogleSettings:
    """Sign-in with Google (OpenID Connect) from the desktop app: a Google client of type "Desktop app".

    Such a client's secret is not confidential (it ships inside every installed app), so the server hands it to
    the desktop on ``GET /api/v1/auth/providers``; what protects the flow is PKCE and the ID token's checks.
    """

    client_id: str | None = None
    client_secret: Secret | None = None
    issuer: str = "https://accounts.google.com"

    @property
    def enabled(self) -> bool:
        """Whether "Sign in with Google" is offered."""
        return self.client_id is not None and self.client_secret is not None


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("techpal", appauthor=False))


@dataclass(frozen=True, slots=True)
class Settings:
    """The root settings object: nested frozen sections, built once by :func:`get_settings`."""

    data_dir: Path = field(default_factory=_default_data_dir)
    secret_key: Secret | None = None
    server: ServerSettings = field(default_factory=ServerSettings)
    db: DatabaseSettings = field(default_factory=DatabaseSettings)
    log: LogSettings = field(default_factory=LogSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    ai: AISettings = field(default_factory=AISettings)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    billing: BillingSettings = field(default_factory=BillingSettings)
    google: GoogleSettings = field(default_factory=GoogleSettings)
    embeddings: Literal["local", "openai"] = "local"
    kb_auto_publish: bool = False
    # Set by `techpal-server run` for the embedded default (import the seed KB in the background); not a variable.
    kb_seed: bool = False
    # Apply the retention rules hourly in this process (docs/privacy.md); N processes run one round between them.
    retention_rounds: bool = True
    # Where screenshots and the model's copies are stored: None for data_dir/blobs, a directory, or s3://bucket/prefix.
    blob_url: str | None = None
    s3_endpoint_url: str | None = None  # another S3-compatible service than AWS (MinIO, R2, moto in the tests)
    # Run a job worker inside each `techpal-server run` (off: only `techpal-server worker` processes run jobs).
    inprocess_worker: bool = True
    # A job whose worker sent no heartbeat for this many seconds is given to another worker.
    job_stalled_after: int = 30

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with top-level fields replaced."""
        return dataclasses.replace(self, **changes)
