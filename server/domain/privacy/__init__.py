"""Data rights and the data lifecycle: export, deletion and restore, retention, policy notices.

The app context holds a :class:`DataLifecycle`; the server runs :func:`keep_applying_retention` hourly.
"""

from server.domain.privacy.lifecycle import DataLifecycle
from server.domain.privacy.retention import keep_applying_retention, run_retention

__all__ = ["DataLifecycle", "keep_applying_retention", "run_retention"]
