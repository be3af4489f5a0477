"""Staff-only routes take the role-checking ``staff`` dependency: a new handler that forgets it fails here."""

from __future__ import annotations

from server.app import create_app
from server.settings import DatabaseSettings, Secret, Settings

STAFF_PREFIXES = ("/api/v1/agent/", "/api/v1/kb/review")
# The console's routes that anyone may reach: the sign-in steps, signing out, and the static files.
CONSOLE_OPEN = ("/console/login", "/console/logout", "/console/static")


def _app_routes() -> list[tuple[str, set[str], set[str]]]:
    """Every route: its path, its methods (no OPTIONS) and the parameters of its handler."""
    settings = Settings(
        secret_key=Secret("k" * 40), db=DatabaseSettings(url=Secret("postgresql+asyncpg://u:p@localhost/unused"))
    )
    return [
        (route.path, set(handler.http_methods) - {"OPTIONS"}, set(handler.parsed_fn_signature.parameters))
        for route in create_app(settings).routes
        for handler in getattr(route, "route_handlers", [])
    ]


def test_every_staff_route_checks_the_role() -> None:
    checked = []
    for path, methods, parameters in _app_routes():
        staff_only = path.startswith(STAFF_PREFIXES) or (
            path.startswith("/api/v1/kb/articles/") and methods & {"PATCH", "PUT", "DELETE", "POST"}
        )
        if methods and staff_only:
            checked.append(f"{sorted(methods)} {path}")
            assert "staff" in parameters, f"{path} lacks the staff check"
    assert len(checked) >= 8  # the agent queue and the knowledge-base review are all here


def test_every_console_page_checks_the_session_and_admin_pages_the_admin_role() -> None:
    pages = [(path, params) for path, methods, params in _app_routes() if methods and path.startswith("/console")]
    for path, parameters in pages:
        if path.startswith(CONSOLE_OPEN):
            continue
        if path.startswith("/console/admin"):
            assert "admin" in parameters, f"{path} lacks the admin check (which checks the session first)"
        else:
            assert "staff" in parameters, f"{path} lacks the console's staff check"
    assert sum(path.startswith("/console/kb") for path, _ in pages) >= 7
    assert sum(path.startswith("/console/admin") for path, _ in pages) >= 3
