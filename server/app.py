"""The application factory. Importing this module does nothing; :func:`create_app` builds a configured app."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.cors import CORSConfig

from server.context import AppContext, Models, build_context, running
from server.db.transactions import request_sessions
from server.domain.accounts.api_key_controllers import ApiKeyController
from server.domain.accounts.controllers import AuthController, MeController
from server.domain.accounts.pages import PagesController
from server.domain.accounts.sign_in_controllers import SignInController, TwoFactorController
from server.domain.analytics.controllers import AnalyticsController
from server.domain.billing.controllers import BillingController, BillingPagesController, BillingWebhookController
from server.domain.console import console_routers, template_config
from server.domain.knowledge.controllers import KnowledgeController
from server.domain.privacy.controllers import AdminUsersController, DataRightsController, RestoreController
from server.domain.privacy.deps import ACCOUNT_DELETION_DEPENDENCIES
from server.domain.reports.controllers import AdminKpisController
from server.domain.resolution.controllers import ResolutionController
from server.domain.system.controllers import SystemController
from server.domain.tickets.controllers import AgentTicketController, EventsController, TicketController
from server.lib.errors import to_problem_response
from server.lib.log import configure_logging
from server.lib.metering import MeteringMiddleware
from server.lib.middleware import RequestContextMiddleware, SecurityHeadersMiddleware
from server.lib.openapi import create_openapi_config
from server.settings import Settings, get_settings
from server.version import __version__

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["JSON_BODY_LIMIT", "TechPalApp", "create_app"]

# JSON routes take small bodies; routes that accept uploads state their own, larger limit.
JSON_BODY_LIMIT = 64 * 1024


class TechPalApp(Litestar):
    """The Litestar app with its typed :class:`~server.context.AppContext` (for the CLI, tests and operators)."""

    context: AppContext


def create_app(
    settings: Settings | None = None, *, context: AppContext | None = None, models: Models | None = None
) -> TechPalApp:
    """Build the app for ``settings`` (default: read from the environment), or around a prepared ``context``.

    The database URL must be known: with the embedded default, ``techpal-server run`` starts the database first.
    ``models`` shares loaded models between apps (the tests load them once per run).
    """
    if context is None:
        settings = settings or get_settings()
        configure_logging(settings.log)
        context = build_context(settings, models=models)
    else:
        settings = context.settings
        configure_logging(settings.log)
    ctx = context

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with running(ctx):
            yield

    cors = CORSConfig(allow_origins=list(settings.server.cors_origins)) if settings.server.cors_origins else None
    app = TechPalApp(
        route_handlers=[
            SystemController,
            KnowledgeController,
            AuthController,
            SignInController,
            TwoFactorController,
            MeController,
            ApiKeyController,
            DataRightsController,
            RestoreController,
            AdminUsersController,
            AdminKpisController,
            AnalyticsController,
            PagesController,
            BillingController,
            BillingWebhookController,
            BillingPagesController,
            TicketController,
            ResolutionController,
            AgentTicketController,
            EventsController,
            *console_routers(settings),  # the support console's pages (CSRF-protected) and static files
        ],
        plugins=[SQLAlchemyPlugin(config=request_sessions(ctx.engine))],
        lifespan=[lifespan],
        dependencies={**ctx.dependencies(), **ACCOUNT_DELETION_DEPENDENCIES},
        exception_handlers={Exception: to_problem_response},
        template_config=template_config(),
        openapi_config=create_openapi_config(__version__),
        cors_config=cors,
        request_max_body_size=JSON_BODY_LIMIT,
        debug=False,
        logging_config=None,
    )
    app.context = ctx
    # Wrapped around Litestar's whole handler, not added as route middleware: that would skip the responses
    # Litestar makes before routing (404, 405), and every response must carry the request id and headers.
    metered = MeteringMiddleware(app.asgi_handler, on_finished=ctx.usage_log.record)
    app.asgi_handler = SecurityHeadersMiddleware(
        RequestContextMiddleware(metered, trusted_proxies=settings.server.trusted_proxies),
        hsts=settings.server.tls,
    )
    return app
