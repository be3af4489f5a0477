"""The ``TECHPAL_*`` variables, each declared once: its name, where its value lands, how it parses, what it means.

``docs/configuration.md`` lists the same names (a test keeps the two in step); :func:`server.settings.get_settings`
reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.settings._parsers import (
    Parser,
    _blob_url,
    _bool,
    _choice,
    _database_url,
    _existing_file,
    _http_url,
    _int_between,
    _mail_address,
    _networks,
    _origins,
    _path,
    _plans_file,
    _secret,
    _secret_key,
    _text,
)
from server.settings.plans import DEFAULT_PLANS_FILE

__all__ = ["ENV_VARS", "EnvVar"]


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
    EnvVar(
        "TECHPAL_BLOB_URL",
        "blob_url",
        _blob_url,
        "Where screenshots and their model copies are stored: a directory (default `TECHPAL_DATA_DIR/blobs`) or "
        "`s3://bucket/prefix` (credentials and region from the standard `AWS_*` variables or the instance's role; "
        "every server process shares it).",
        "s3://acme-techpal/screenshots",
    ),
    EnvVar(
        "TECHPAL_S3_ENDPOINT_URL",
        "s3_endpoint_url",
        _http_url,
        "The endpoint of an S3-compatible service other than AWS (MinIO, Ceph, R2). Default: AWS for the region.",
        "https://minio.internal:9000",
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
        "External PostgreSQL ≥ 15 with the pgvector extension; another machine needs `?sslmode=` (e.g. "
        "`verify-full`). Unset: the server runs its own embedded one.",
        "postgresql://techpal:pw@db.internal:5432/techpal?sslmode=verify-full",
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
        "Default: the shipped `server/settings/plans.toml` (`free` 20, `pro` 500).",
        str(DEFAULT_PLANS_FILE),
    ),
    EnvVar(
        "TECHPAL_GOOGLE_CLIENT_ID",
        "google.client_id",
        _text,
        'OAuth client id of a Google client of type "Desktop app" (docs/google-sign-in.md). Unset: Google sign-in '
        "is off.",
        "1234-abc.apps.googleusercontent.com",
    ),
    EnvVar(
        "TECHPAL_GOOGLE_CLIENT_SECRET",
        "google.client_secret",
        _secret,
        "That client's secret (Google does not treat a desktop client's secret as confidential).",
        "GOCSPX-example",
    ),
    EnvVar(
        "TECHPAL_GOOGLE_ISSUER",
        "google.issuer",
        _http_url,
        "OpenID Connect issuer of Google sign-in. Default `https://accounts.google.com`; tests use a local one.",
        "http://127.0.0.1:8081",
    ),
    EnvVar(
        "TECHPAL_RETENTION_ROUNDS",
        "retention_rounds",
        _bool,
        "Apply the data-retention rules (docs/privacy.md) every hour in this process. Processes sharing a database "
        "run one round between them (an advisory lock). Default `true`; turn it off only where a scheduled "
        "`techpal-server data purge` does the same.",
        "false",
    ),
    EnvVar(
        "TECHPAL_INPROCESS_WORKER",
        "inprocess_worker",
        _bool,
        "Run a job worker (reading screenshots, growing the knowledge base, building exports) inside each "
        "`techpal-server run`. Default `true`; set `false` where `techpal-server worker` processes run the jobs.",
        "false",
    ),
    EnvVar(
        "TECHPAL_JOB_STALLED_AFTER",
        "job_stalled_after",
        _int_between(5, 3600),
        "Seconds without a heartbeat after which a worker counts as gone and its running jobs go back to the queue "
        "(a worker beats every quarter of this). Default `30`.",
        "12",
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
        "TECHPAL_SESSION_MAX_AGE",
        "auth.session_max_age",
        _int_between(3600, 5 * 365 * 24 * 3600),
        "Seconds a sign-in lasts at most, however often its tokens are refreshed; then the user signs in again. "
        "Default `7776000` (90 days).",
        "2592000",
    ),
    EnvVar(
        "TECHPAL_API_KEY_REQUESTS_PER_MINUTE",
        "auth.api_key_requests_per_minute",
        _int_between(1, 1_000_000),
        "Requests one API key may make a minute (429 `rate_limited` beyond), on top of the account's hourly limits. "
        "Default `120`.",
        "600",
    ),
    EnvVar(
        "TECHPAL_ANSWERS_PER_HOUR",
        "tickets.answers_per_hour",
        _int_between(1, 1_000_000),
        "Answers (resolves and follow-ups) one user may ask for an hour. Default `120`.",
        "30",
    ),
    EnvVar(
        "TECHPAL_SEARCHES_PER_MINUTE",
        "tickets.searches_per_minute",
        _int_between(1, 1_000_000),
        "Knowledge-base searches one user may run a minute. Default `60`.",
        "20",
    ),
    EnvVar(
        "TECHPAL_MAX_EVENT_STREAMS",
        "tickets.max_event_streams",
        _int_between(1, 1_000_000),
        "Ticket-event streams (`/api/v1/events`) one server process keeps open at most; an account may hold 5. "
        "Default `1000`.",
        "200",
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
