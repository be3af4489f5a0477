"""Structured logging: one JSON object a line, the request id on every line, no secret ever written.

Secrets are kept out in two ways: code logs events with explicit fields (never whole bodies or headers), and a
processor masks any field whose name says it holds a secret, whatever logged it, and credentials inside any text —
tracebacks included. SQL errors never carry bound parameters (the engine hides them).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    from server.settings import LogSettings

__all__ = ["SENSITIVE_KEY", "configure_logging", "redact_secrets"]

SENSITIVE_KEY = re.compile(r"pass(word)?|secret|token|authorization|cookie|api_?key|signature|dsn|database_url", re.I)
# Credentials embedded in URLs (postgresql://user:pw@host) and bearer tokens inside free text.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)[^/\s:@]+:[^/\s@]+@", re.I)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
# Secret-named query parameters in logged URLs (a library logging `…/verify-email?token=…`).
_QUERY_SECRET = re.compile(r"(?i)([?&][a-z_]{0,20}(?:token|pass(?:word)?|secret|key|signature)=)[^&\s\"']+")
_MASK = "**********"


def _scrub_text(text: str) -> str:
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{_MASK}@", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m[1]}{_MASK}", text)
    return _BEARER.sub(lambda m: f"{m[1]}{_MASK}", text)


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Structlog processor: mask secret-named fields and credentials inside strings."""
    for key, value in list(event_dict.items()):
        if SENSITIVE_KEY.search(key):
            event_dict[key] = _MASK
        elif isinstance(value, str):
            event_dict[key] = _scrub_text(value)
    return event_dict


def configure_logging(settings: LogSettings) -> None:
    """Route structlog and the standard library (uvicorn, SQLAlchemy, Alembic) through one formatter."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,  # again: the traceback text exists only now
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level.upper())
    # uvicorn's access log prints query strings (which can carry tokens); our middleware logs requests instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = name != "uvicorn.access"
