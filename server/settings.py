"""One settings object for the whole server, read from flat ``TECHPAL_*`` environment variables.

Every variable is declared once in :data:`ENV_VARS` (name, where it lands, how it parses, what it means); the
README's configuration table lists the same names and a test keeps the two in step. Loading is pure: it reads a
mapping and returns frozen sections, so tests build settings without touching ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import platformdirs

from server.domain.billing.plans import DEFAULT_PLANS_FILE, PlanCatalogue, load_catalogue

if TYPE_CHECKING:
    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

__all__ = [
    "ENV_VARS",
    "AISettings",
    "Argon2Params",
    "AuthSettings",
    "BillingSettings",
    "DatabaseSettings",
    "EnvVar",
    "LogSettings",
    "MailSettings",
    "Secret",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "TicketSettings",
    "get_settings",
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

    def get_config(self) -> SQLAlchemyAsyncConfig:
        """The advanced-alchemy plugin config; ``url`` must be known (the embedded database started) by now."""
        from advanced_alchemy.extensions.litestar import (  # noqa: PLC0415 - keep settings import light
            AsyncSessionConfig,
            EngineConfig,
            SQLAlchemyAsyncConfig,
        )

        if self.url is None:
            raise RuntimeError("the database URL is not known yet: start the embedded database first")
        return SQLAlchemyAsyncConfig(
            connection_string=self.url.get_secret_value(),
            engine_config=EngineConfig(
                pool_size=self.pool_size,
                max_overflow=self.pool_size,
                pool_pre_ping=False,  # ping_when_idle (server.db.pool) instead: no round trips on a busy pool
                pool_use_lifo=True,
                echo=self.echo,
                # A database that does not answer must fail fast (health turns 503) rather than hang requests.
                connect_args={"timeout": 5, "command_timeout": 60},
            ),
            session_config=AsyncSessionConfig(expire_on_commit=False),
            before_send_handler="autocommit",
            create_all=False,
        )


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
    register_limit: int = 20
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
    embeddings: Literal["local", "openai"] = "local"
    kb_auto_publish: bool = False
    # Set by `techpal-server run` for the embedded default (import the seed KB in the background); not a variable.
    kb_seed: bool = False

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with top-level fields replaced."""
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------------------------------------------- parsers
Parser = Callable[[str], Any]


def _text(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _path(raw: str) -> Path:
    return Path(_text(raw)).expanduser()


def _existing_file(raw: str) -> Path:
    path = _path(raw)
    if not path.is_file():
        raise ValueError(f"no readable file at {path}")
    return path


def _int_between(low: int, high: int) -> Parser:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"expected a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return value

    return parse


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _choice(*choices: str) -> Parser:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


def _http_url(raw: str) -> str:
    value = _text(raw).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or fragment")
    return value


def _database_url(raw: str) -> Secret:
    value = _text(raw)
    scheme = urlsplit(value).scheme
    # One driver everywhere: accept the usual spellings and normalise them to asyncpg.
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if value.startswith(prefix):
            return Secret("postgresql+asyncpg://" + value.removeprefix(prefix))
    raise ValueError(f"expected a postgresql:// URL, got scheme {scheme or '(none)'!r}")


def _secret_key(raw: str) -> Secret:
    value = raw.strip()
    if len(value) < 32:
        raise ValueError(
            "must be at least 32 characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    return Secret(value)


def _secret(raw: str) -> Secret:
    return Secret(_text(raw))


def _plans_file(raw: str) -> Path:
    path = _path(raw)
    load_catalogue(path)  # a wrong catalogue stops the start with the reason, not the first checkout
    return path


def _mail_address(raw: str) -> str:
    value = _text(raw)
    if "@" not in value or any(c in value for c in "\r\n"):
        raise ValueError("expected a mail address such as `Tech Pal <help@example.com>`")
    return value


def _networks(raw: str) -> tuple[ProxyNetwork, ...]:
    networks = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(_http_url(item) for item in filter(None, (part.strip() for part in raw.split(","))))


# ---------------------------------------------------------------------------------------------------- registry
@dataclass(frozen=True, slots=True)
class EnvVar:
    """One ``TECHPAL_*`` variable: where its value lands in :class:`Settings` and how it is parsed.

    ``example`` is a valid non-default value; the settings tests set it and check that it changes the settings.
    """

    name: str
    target: str  # "field" on the root or "section.field"
    parse: Parser
    doc: str
    example: str


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar(
        "TECHPAL_DATA_DIR",
        "data_dir",
        _path,
        "Where the embedded database, secret key and uploads live. Default: the platform's user data dir.",
        "/srv/techpal",
    ),
    EnvVar("TECHPAL_HOST", "server.host", _text, "Address to listen on. Default `127.0.0.1`.", "0.0.0.0"),  # noqa: S104
    EnvVar(
        "TECHPAL_PORT",
        "server.port",
        _int_between(0, 65535),
        "Port to listen on; `0` picks a free one. Default `8000`.",
        "8123",
    ),
    EnvVar(
        "TECHPAL_PUBLIC_URL",
        "server.public_url",
        _http_url,
        "The URL users reach the server at (links in mails). Default: derived from host and port.",
        "https://help.example.com",
    ),
    EnvVar(
        "TECHPAL_SECRET_KEY",
        "secret_key",
        _secret_key,
        "Signs tokens; at least 32 characters. Required with an external database; the embedded default "
        "generates one into the data dir.",
        "x" * 48,
    ),
    EnvVar(
        "TECHPAL_DATABASE_URL",
        "db.url",
        _database_url,
        "External PostgreSQL ≥ 15 with the pgvector extension. Unset: the server runs its own embedded one.",
        "postgresql://techpal:pw@db.internal:5432/techpal",
    ),
    EnvVar(
        "TECHPAL_DB_POOL_SIZE",
        "db.pool_size",
        _int_between(1, 200),
        "Database connections per server process. Default `10`.",
        "25",
    ),
    EnvVar(
        "TECHPAL_TLS_CERT",
        "server.tls_cert",
        _existing_file,
        "PEM certificate chain: serve HTTPS directly (with `TECHPAL_TLS_KEY`).",
        "/etc/ssl/certs/ca-certificates.crt",
    ),
    EnvVar(
        "TECHPAL_TLS_KEY",
        "server.tls_key",
        _existing_file,
        "PEM private key for `TECHPAL_TLS_CERT`.",
        "/etc/ssl/certs/ca-certificates.crt",
    ),
    EnvVar(
        "TECHPAL_TRUSTED_PROXIES",
        "server.trusted_proxies",
        _networks,
        "Comma-separated proxy addresses/CIDRs whose `X-Forwarded-For` is believed. Default: none.",
        "10.0.0.0/8,127.0.0.1",
    ),
    EnvVar(
        "TECHPAL_CORS_ORIGINS",
        "server.cors_origins",
        _origins,
        "Comma-separated browser origins allowed by CORS. Default: none (CORS closed).",
        "https://portal.example.com",
    ),
    EnvVar(
        "TECHPAL_LOG_LEVEL",
        "log.level",
        _choice("debug", "info", "warning", "error"),
        "`debug`, `info`, `warning` or `error`. Default `info`.",
        "debug",
    ),
    EnvVar(
        "TECHPAL_LOG_FORMAT",
        "log.format",
        _choice("json", "console"),
        "`json` (one object a line) or `console`. Default `json`.",
        "console",
    ),
    EnvVar(
        "TECHPAL_EMBEDDINGS",
        "embeddings",
        _choice("local", "openai"),
        "Embedding model of the knowledge base: `local` (bundled all-MiniLM-L6-v2) or `openai` "
        "(`text-embedding-3-small`). Default `local`. Switching needs `techpal-server kb reembed`.",
        "openai",
    ),
    EnvVar(
        "TECHPAL_EMBEDDINGS_BASE_URL",
        "ai.embeddings_base_url",
        _http_url,
        "OpenAI-compatible endpoint for `TECHPAL_EMBEDDINGS=openai`. Default: `TECHPAL_AI_BASE_URL`, else OpenAI.",
        "http://embeddings.internal:8080/v1",
    ),
    EnvVar(
        "TECHPAL_AI_BASE_URL",
        "ai.base_url",
        _http_url,
        "OpenAI-compatible Chat Completions endpoint (Azure OpenAI, Ollama, vLLM, …). Default: OpenAI's API when a "
        "key is set. With neither key nor URL, tickets get retrieval-only answers.",
        "http://localhost:11434/v1",
    ),
    EnvVar(
        "TECHPAL_AI_API_KEY",
        "ai.api_key",
        _secret,
        "API key of the chat model (falls back to `OPENAI_API_KEY`).",
        "sk-example",
    ),
    EnvVar("TECHPAL_AI_MODEL", "ai.model", _text, "Chat model name. Default `gpt-4o-mini`.", "llama3.2-vision"),
    EnvVar(
        "TECHPAL_AI_TIMEOUT",
        "ai.timeout",
        _int_between(1, 600),
        "Seconds to wait for the chat model before giving up (retries included). Default `60`.",
        "30",
    ),
    EnvVar(
        "TECHPAL_STRIPE_SECRET_KEY",
        "billing.secret_key",
        _secret,
        "Stripe secret key (`sk_test_…` first, then `sk_live_…`). Unset: billing is off and every user has the "
        "unlimited `self_hosted` plan.",
        "sk_test_example",
    ),
    EnvVar(
        "TECHPAL_STRIPE_WEBHOOK_SECRET",
        "billing.webhook_secret",
        _secret,
        "Signing secret (`whsec_…`) of the webhook endpoint `/api/v1/billing/webhook`; events are refused without it.",
        "whsec_example",
    ),
    EnvVar(
        "TECHPAL_STRIPE_API_BASE",
        "billing.api_base",
        _http_url,
        "Base URL of the Stripe API. Default: Stripe's own; the tests point it at a local fake.",
        "http://127.0.0.1:12111",
    ),
    EnvVar(
        "TECHPAL_BILLING_PLANS",
        "billing.plans_file",
        _plans_file,
        "TOML plan catalogue (names, prices shown, monthly AI answers, Stripe Price lookup keys), checked at start. "
        "Default: the shipped `server/domain/billing/plans.toml` (`free` 20, `pro` 500).",
        str(DEFAULT_PLANS_FILE),
    ),
    EnvVar(
        "TECHPAL_KB_AUTO_PUBLISH",
        "kb_auto_publish",
        _bool,
        "Publish knowledge-base articles grown from users' confirmed fixes (anonymized) at once instead of leaving "
        "them pending review. Default `false`.",
        "true",
    ),
    EnvVar(
        "TECHPAL_ACCESS_TOKEN_TTL",
        "auth.access_token_ttl",
        _int_between(60, 24 * 3600),
        "Seconds an access token is valid (revoking its session ends it at once). Default `900`.",
        "600",
    ),
    EnvVar(
        "TECHPAL_REFRESH_TOKEN_TTL",
        "auth.refresh_token_ttl",
        _int_between(3600, 365 * 24 * 3600),
        "Seconds a refresh token is valid; each use rotates it. Default `2592000` (30 days).",
        "86400",
    ),
    EnvVar(
        "TECHPAL_TICKETS_PER_HOUR",
        "tickets.per_hour",
        _int_between(1, 1_000_000),
        "Tickets one user may create an hour (429 `rate_limited` beyond). Default `60`.",
        "20",
    ),
    EnvVar(
        "TECHPAL_ANSWERS_PER_HOUR",
        "tickets.answers_per_hour",
        _int_between(1, 1_000_000),
        "Answers (resolves and follow-ups) one user may ask for an hour. Default `120`.",
        "30",
    ),
    EnvVar(
        "TECHPAL_REGISTER_LIMIT",
        "auth.register_limit",
        _int_between(1, 100_000),
        "Registrations allowed per client IP an hour. Default `20`.",
        "5",
    ),
    EnvVar(
        "TECHPAL_SMTP_HOST",
        "mail.smtp_host",
        _text,
        "SMTP server for outgoing mail. Unset: mails are written as `.eml` files to `TECHPAL_DATA_DIR/outbox/`.",
        "smtp.example.com",
    ),
    EnvVar("TECHPAL_SMTP_PORT", "mail.smtp_port", _int_between(1, 65535), "SMTP port. Default `587`.", "465"),
    EnvVar(
        "TECHPAL_SMTP_USERNAME",
        "mail.smtp_username",
        _text,
        "SMTP login name (logs in only with `TECHPAL_SMTP_PASSWORD`). Default: none.",
        "techpal",
    ),
    EnvVar("TECHPAL_SMTP_PASSWORD", "mail.smtp_password", _secret, "SMTP password.", "smtp-pass"),
    EnvVar(
        "TECHPAL_SMTP_TLS",
        "mail.smtp_tls",
        _choice("starttls", "tls", "none"),
        "`starttls`, `tls` (implicit, usually port 465) or `none`. Default `starttls`.",
        "tls",
    ),
    EnvVar(
        "TECHPAL_MAIL_FROM",
        "mail.mail_from",
        _mail_address,
        "Sender of our mails. Default `Tech Pal <no-reply@localhost>`.",
        "Tech Pal <help@example.com>",
    ),
)


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
        **root,
    )
