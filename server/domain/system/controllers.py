"""``GET /health``: green once the database answers, 503 while it does not; ``?ready=kb`` also waits for the KB."""

from __future__ import annotations

from typing import Literal

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, SkipValidation
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.knowledge import KbHealth, KbStatus
from server.domain.system.schemas import Health
from server.domain.system.services import check_database
from server.version import __version__

__all__ = ["SystemController"]


class SystemController(Controller):
    """Operational endpoints for load balancers, the desktop client and ``make run``."""

    tags = ["system"]

    @get(
        "/health",
        summary="Server health",
        description=(
            "200 with `status: ok` when every component is healthy; 503 with the failing component otherwise. "
            "`?ready=kb` (a readiness probe) also answers 503 until the knowledge base is complete (`kb.state` "
            "`ready`): a process still importing its seed knowledge base gives poorer answers."
        ),
        responses={503: ResponseSpec(data_container=Health, description="A component is down.")},
        cache_control=None,
        request_max_body_size=0,
    )
    async def health(
        self,
        db_engine: NamedDependency[AsyncEngine],
        kb_status: NamedDependency[SkipValidation[KbStatus]],
        ready: FromQuery[Literal["kb"] | None] = None,
    ) -> Response[Health]:
        """Report the state of each component."""
        database = await check_database(db_engine)
        components = {"database": database}
        healthy = all(c.state == "ok" for c in components.values()) and (ready is None or kb_status.ready)
        kb = KbHealth(state=kb_status.state, done=kb_status.done, total=kb_status.total)
        body = Health(status="ok" if healthy else "unavailable", version=__version__, components=components, kb=kb)
        return Response(body, status_code=200 if healthy else 503, headers={"Cache-Control": "no-store"})
