"""The console's routes as two routers: the pages (with CSRF protection and page-shaped errors) and its static files.

CSRF: Litestar's CSRF middleware runs on the console's page router only, so no JSON route ever meets it (the API
authenticates with bearer tokens, which no other site can make a browser send). Every unsafe request (``POST``) must
carry the token of the ``techpal_console_csrf`` cookie (``HttpOnly``, ``SameSite=Lax``, path ``/console``), in the
form field ``_csrf_token`` or, for htmx, the ``X-CSRF-Token`` header; without it the answer is 403. Static files
stay outside it: their answers are public and cached, and must carry no cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware

from server.domain.console.admin_pages import UserAdminController
from server.domain.console.forms import FORM_BODY_LIMIT
from server.domain.console.kb_pages import KnowledgeReviewController
from server.domain.console.login import SignInController
from server.domain.console.pages import console_error
from server.domain.console.queue import QueueController
from server.domain.console.session import COOKIE_PATH, CSRF_COOKIE, SERVED_OVER_TLS
from server.domain.console.templating import static_router
from server.domain.console.ticket_pages import TicketPageController

if TYPE_CHECKING:
    from server.settings import Settings

__all__ = ["CSRF_COOKIE", "CSRF_HEADER", "console_routers", "csrf_config"]

CSRF_HEADER = "x-csrf-token"


def csrf_config(settings: Settings) -> CSRFConfig:
    """The console's CSRF settings; tokens are signed with a key derived from the server's secret key.

    Without a secret key (an app built without one) the key is random: forms from before a restart are refused,
    as the access tokens of such an app die with it too. The cookie is ``Secure`` when the server itself serves TLS;
    behind a TLS-terminating proxy it is not, which costs nothing: it is no credential (the session cookie is, and
    ``SameSite=Lax`` keeps it off other sites' posts).
    """
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value().encode()
        secret = hmac.new(key, b"techpal/console-csrf/v1", hashlib.sha256).hexdigest()
    else:
        secret = secrets.token_hex(32)
    return CSRFConfig(
        secret=secret,
        cookie_name=CSRF_COOKIE,
        cookie_path=COOKIE_PATH,
        header_name=CSRF_HEADER,
        cookie_secure=settings.server.tls,
        cookie_httponly=True,
        cookie_samesite="lax",
    )


def console_routers(settings: Settings) -> list[Router]:
    """``/console/…`` (the pages, CSRF-protected) and ``/console/static/…``.

    Both are in the OpenAPI document under the ``console`` tag, as every route is, so schema-driven fuzzers reach them.
    """
    pages = Router(
        path="/console",
        route_handlers=[
            SignInController,
            QueueController,
            TicketPageController,
            KnowledgeReviewController,
            UserAdminController,
        ],
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf_config(settings))],
        exception_handlers={Exception: console_error},
        tags=["console"],
        opt={SERVED_OVER_TLS: settings.server.tls},
        request_max_body_size=FORM_BODY_LIMIT,
    )
    return [pages, static_router()]
