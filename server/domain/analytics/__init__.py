"""Anonymized usage analytics: the desktop's events, stored without account or address, and their summary.

The retention rules call :func:`delete_old_analytics` with :data:`ANALYTICS_KEPT`; the desktop mirrors
:data:`EVENT_NAMES`.
"""

from server.domain.analytics.retention import ANALYTICS_KEPT, delete_old_analytics
from server.domain.analytics.schemas import EVENT_NAMES

__all__ = ["ANALYTICS_KEPT", "EVENT_NAMES", "delete_old_analytics"]
