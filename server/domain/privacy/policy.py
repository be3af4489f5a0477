"""Publishing a privacy-policy version: recorded, then every verified account is mailed the summary.

Policy changes are one of the transactional mails our policy allows. ``GET /api/v1/me`` then shows the version until
the user acknowledges it (``POST /api/v1/me/policy/accept``).
"""

from __future__ import annotations

import smtplib
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from server.db.models import User, policy_versions
from server.db.transactions import transaction_of_its_own
from server.domain.privacy.mail import policy_mail

if TYPE_CHECKING:
    from server.domain.privacy.lifecycle import DataLifecycle

__all__ = ["PolicyVersionExists", "publish_policy"]

logger = structlog.get_logger(__name__)


class PolicyVersionExists(Exception):
    """That version was published before; versions are immutable."""


async def publish_policy(life: DataLifecycle, version: str, summary: str, url: str | None) -> tuple[int, int]:
    """Record ``version`` and mail every verified, undeleted account; (mailed, failed)."""
    async with transaction_of_its_own(life.engine) as conn:
        stored = (
            await conn.execute(
                insert(policy_versions)
                .values(version=version, summary=summary, url=url, published_at=life.clock())
                .on_conflict_do_nothing()
                .returning(policy_versions.c.version)
            )
        ).scalar()
        if stored is None:
            raise PolicyVersionExists(f"policy version {version!r} is published already; choose a new version")
        recipients = list(
            (
                await conn.execute(
                    select(User.email).where(User.email_verified_at.is_not(None), User.deleted_at.is_(None))
                )
            ).scalars()
        )
    mailed = failed = 0
    for email in recipients:
        try:
            await life.mailer.send(policy_mail(life.mailer.sender, email, version, summary, url))
            mailed += 1
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            logger.warning("policy_mail_failed", error=type(exc).__name__)
    logger.info("policy_published", version=version, mailed=mailed, failed=failed)
    return mailed, failed
