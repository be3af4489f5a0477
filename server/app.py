"""The application factory. Importing this module does nothing; :func:`create_app` builds a configured app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide

from server.db.pool import ping_when_idle
from server.domain.accounts.controllers import AuthController, MeController, PagesController
from server.domain.accounts.deps import accounts_state
from server.domain.billing.controllers import BillingController, BillingPagesController, BillingWebhookController
from server.domain.billing.deps import billing_lifespan, billing_state
from server.domain.knowledge.controllers import KnowledgeController
from server.domain.knowledge.services import seed_lifespan
from server.domain.resolution.controllers import ResolutionController, chat_model_lifespan
from server.domain.resolution.runs import runs_lifespan
from server.domain.system.controllers import SystemController
from server.domain.tickets.agents import AgentTicketController
from server.domain.tickets.controllers import TicketController
from server.domain.tickets.deps import STORAGE_KEY, tickets_lifespan, tickets_state
from server.domain.tickets.events import EventsController, events_lifespan
from server.lib.errors import to_problem_response
from server.lib.log import configure_logging
from server.lib.mail import build_mailer
from server.lib.middleware import RequestContextMiddleware, SecurityHeadersMiddleware
from server.lib.openapi import create_openapi_config
from server.settings import Settings, get_settings
from server.version import __version__

__all__ = ["JSON_BODY_LIMIT", "create_app"]

# JSON routes take small bodies; routes that accept uploads state their own, larger limit.
JSON_BODY_LIMIT = 64 * 1024


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the Litestar app for ``settings`` (default: read from the environment).

    The database URL must be known: with the embedded default, ``techpal-server run`` starts the database first.
    """
    settings = settings or get_settings()
    configure_logging(settings.log)

    def provide_settings() -> Settings:
        return settings

    db_config = settings.db.get_config()

    @asynccontextmanager
    async def engine_lifespan(_: Litestar) -> AsyncIterator[None]:
        ping_when_idle(db_config.get_engine())
        # advanced-alchemy 1.12 renames its state keys for every further app in a process (tests build many) and
        # then skips disposing the engine; disposing twice is harmless.
        try:
            yield
        finally:
            await db_config.get_engine().dispose()

    tickets = tickets_state(settings)
    cors = CORSConfig(allow_origins=list(settings.server.cors_origins)) if settings.server.cors_origins else None
    app = Litestar(
        route_handlers=[
            SystemController,
            KnowledgeController,
            AuthController,
            MeController,
            PagesController,
            BillingController,
            BillingWebhookController,
            BillingPagesController,
            TicketController,
            ResolutionController,
            AgentTicketController,
            EventsController,
        ],
        plugins=[SQLAlchemyPlugin(config=db_config)],
        lifespan=[
            engine_lifespan,
            billing_lifespan(db_config.get_engine),
            tickets_lifespan(tickets),
            chat_model_lifespan(settings),
            runs_lifespan(db_config.get_engine, tickets[STORAGE_KEY]),
            events_lifespan(db_config.connection_string or ""),
            *(
                [seed_lifespan(db_config.connection_string or "", settings.embeddings, settings.ai)]
                if settings.kb_seed
                else []
            ),
        ],
        dependencies={"settings": Provide(provide_settings, sync_to_thread=False)},
        state=State(
            {
                "mailer": (mailer := build_mailer(settings)),
                **accounts_state(settings),
                **billing_state(settings, mailer),
                **tickets,
            }
        ),
        exception_handlers={Exception: to_problem_response},
        openapi_config=create_openapi_config(__version__),
        cors_config=cors,
        request_max_body_size=JSON_BODY_LIMIT,
        debug=False,
        logging_config=None,
    )
    # Wrapped around Litestar's whole handler, not added as route middleware: that would skip the responses
    # Litestar makes before routing (404, 405), and every response must carry the request id and headers.
    app.asgi_handler = SecurityHeadersMiddleware(
        RequestContextMiddleware(app.asgi_handler, trusted_proxies=settings.server.trusted_proxies),
        hsts=settings.server.tls,
    )
    return app
