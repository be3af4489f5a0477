"""The console's Jinja environment and its static files: one template directory, one asset URL scheme.

Templates live in ``templates/`` (autoescaped; an undefined name is an error, not an empty string). Static files live
in ``static/`` and are served under ``/console/static/`` with a year's ``Cache-Control`` (``immutable``): a page links
each one with ``asset('console.css')``, which adds a digest of the file's bytes (``?v=…``), so a changed file is
fetched anew at once. The digests are taken when the environment is built, once per app.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from server.domain.console.markdown import MarkdownRenderer

if TYPE_CHECKING:
    from litestar import Request, Router

__all__ = ["STATIC_PATH", "static_router", "template_config"]

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
STATIC_PATH = "/console/static"
YEAR_SECONDS = 365 * 24 * 3600


def _digests() -> dict[str, str]:
    """The first 12 hex digits of each static file's SHA-256, by its path under ``static/``."""
    return {
        path.relative_to(STATIC_DIR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in sorted(STATIC_DIR.rglob("*"))
        if path.is_file()
    }


def _moment(value: datetime.datetime | None) -> str:
    """A time as agents read it: ``2026-12-07 14:03 UTC``."""
    if value is None:
        return "—"
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _words(value: Any) -> str:
    """A stored key as words: ``account_access`` → ``account access``."""
    return str(value).replace("_", " ") if value is not None else "—"


def environment() -> Environment:
    """The console's Jinja environment: its templates, ``asset()``, and the filters the templates use."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    digests = _digests()

    def asset(name: str) -> str:
        return f"{STATIC_PATH}/{name}?v={digests[name]}"  # KeyError: a page links a file that does not exist

    env.globals["asset"] = asset
    env.filters["markdown"] = MarkdownRenderer()
    env.filters["article_markdown"] = MarkdownRenderer(line_breaks=True)
    env.filters["moment"] = _moment
    env.filters["words"] = _words
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The app's template configuration (the console's pages are the app's only templates)."""
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))


def static_router() -> Router:
    """``/console/static/…``: the console's CSS, scripts and vendored htmx, cacheable for a year.

    Only the files that are there when the app is built are served; any other path is a 404 before the file system
    is asked (a name with a NUL byte or thousands of characters would otherwise make the lookup fail with a 500).
    """
    ours = frozenset(_digests())

    async def only_our_files(request: Request[Any, Any, Any]) -> None:
        if str(request.path_params.get("file_path", "")).lstrip("/") not in ours:
            raise NotFoundException("There is no such file.")

    return create_static_files_router(
        path=STATIC_PATH,
        directories=[STATIC_DIR],
        name="console_static",
        before_request=only_our_files,
        cache_control=CacheControlHeader(max_age=YEAR_SECONDS, public=True, immutable=True),
        include_in_schema=True,  # every route is in the OpenAPI document (fuzzers walk it)
        tags=["console"],
    )
