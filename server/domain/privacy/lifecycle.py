"""What the data-lifecycle work needs outside a request: the app context's ``lifecycle``.

Exports are built, accounts purged and retention rules run after the request that asked (or with none: the hourly
round, the CLI), each in transactions of their own; this bundles the parts they use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.lib.clock import Clock, utcnow

if TYPE_CHECKING:
    import uuid
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.domain.billing import BillingContext
    from server.domain.tickets import BlobStorage
    from server.lib.mail import Mailer
    from server.settings import Settings

__all__ = ["DataLifecycle"]


@dataclass(frozen=True, slots=True)
class DataLifecycle:
    """The engine, stores and clients the export, purge and retention work uses."""

    engine: AsyncEngine
    storage: BlobStorage
    mailer: Mailer
    billing: BillingContext
    settings: Settings
    clock: Clock = utcnow

    @property
    def exports_dir(self) -> Path:
        """Where export ZIPs are written (0700, like the rest of the data dir)."""
        return self.settings.data_dir / "exports"

    @property
    def outbox_dir(self) -> Path:
        """Where the outbox mailer writes mails (when SMTP is not configured)."""
        return self.settings.data_dir / "outbox"

    def export_path(self, export_id: uuid.UUID) -> Path:
        """The ZIP file of one export."""
        return self.exports_dir / f"{export_id}.zip"
