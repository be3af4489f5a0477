"""Staff-only routes take the role-checking ``staff`` dependency: a new handler that forgets it fails here."""

from __future__ import annotations

from server.app import create_app
from server.settings import DatabaseSettings, Secret, Settings

STAFF_PREFIXES = ("/api/v1/agent/", "/api/v1/kb/review")


def test_every_staff_route_checks_the_role() -> None:
    settings = Settings(
        secret_key=Secret("k" * 40), db=DatabaseSettings(url=Secret("postgresql+asyncpg://u:p@localhost/unused"))
    )
    checked = []
    for route in create_app(settings).routes:
        for handler in getattr(route, "route_handlers", []):
            methods = set(handler.http_methods) - {"OPTIONS"}
            staff_only = route.path.startswith(STAFF_PREFIXES) or (
                route.path.startswith("/api/v1/kb/articles/") and methods & {"PATCH", "PUT", "DELETE", "POST"}
            )
            if methods and staff_only:
                checked.append(f"{sorted(methods)} {route.path}")
                assert "staff" in handler.parsed_fn_signature.parameters, f"{route.path} lacks the staff check"
    assert len(checked) >= 8  # the agent queue and the knowledge-base review are all here
