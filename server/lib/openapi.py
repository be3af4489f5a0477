"""The OpenAPI document and its browsable UI, served entirely from this server (no CDN, strict CSP)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

if TYPE_CHECKING:
    from litestar import Request, Router

__all__ = ["STATIC_DIR", "create_openapi_config"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_ASSETS = "/schema/assets"


def _swagger_dir() -> Path:
    from swagger_ui_bundle import swagger_ui_path  # noqa: PLC0415 - a data package, only needed for the docs route

    return Path(str(swagger_ui_path))


class SwaggerPage(OpenAPIRenderPlugin):
    """Swagger UI from the ``swagger-ui-bundle`` wheel plus our initialiser script."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """Return the HTML page; the schema is fetched by the browser from the JSON route."""
        schema_url = html.escape(self.get_openapi_json_route(request), quote=True)
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Tech Pal API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{_ASSETS}/swagger-ui.css"></head>
<body data-schema-url="{schema_url}"><div id="swagger-ui"></div>
<script src="{_ASSETS}/swagger-ui-bundle.js"></script>
<script src="{_ASSETS}/swagger-ui-standalone-preset.js"></script>
<script src="{_ASSETS}/swagger-init.js"></script>
</body></html>""".encode()

    def receive_router(self, router: Router) -> None:
        """Serve the UI's assets next to it (``router`` is the ``/schema`` router, so the path is relative)."""
        router.register(
            create_static_files_router(
                path=_ASSETS.removeprefix(router.path),
                directories=[_swagger_dir(), STATIC_DIR],
                include_in_schema=False,
                name="schema-assets",
            )
        )


def create_openapi_config(version: str) -> OpenAPIConfig:
    """``/schema`` shows the UI; ``/schema/openapi.json`` is the document."""
    return OpenAPIConfig(
        title="Tech Pal API",
        version=version,
        description="The Tech Pal helpdesk API. Every error is a problem-details object with a stable `code`.",
        path="/schema",
        render_plugins=[SwaggerPage(path="/")],
        # Routes that need a signed-in user say `security=[{"BearerToken": []}]`.
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", description="An access token from login.")
            }
        ),
    )
