"""Wire types of the system endpoints."""

from __future__ import annotations

from typing import Literal

from server.domain.knowledge import KbHealth
from server.lib.schema import ResponseBody

__all__ = ["ComponentHealth", "Health"]


class ComponentHealth(ResponseBody, frozen=True, omit_defaults=True):
    """The state of one component the server depends on."""

    state: Literal["ok", "down"]
    detail: str | None = None
    latency_ms: float | None = None


class Health(ResponseBody, frozen=True):
    """``status`` is ``ok`` when every required component is; load balancers only need the status code."""

    status: Literal["ok", "unavailable"]
    version: str
    components: dict[str, ComponentHealth]
    kb: KbHealth
