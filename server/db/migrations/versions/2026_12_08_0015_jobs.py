"""The job queue (procrastinate's schema) and screenshots that are read after their ticket is stored.

The queue's tables and functions are procrastinate's own ``schema.sql`` from the installed package, whose version
``pyproject.toml`` pins (ADR 11): a later procrastinate release comes with a migration of ours that applies its
migration files. A screenshot row is stored as uploaded; ``processed_at`` is set when a job has cleaned it, made
the model's copy (``model_blob_key`` and ``model_media_type`` until then NULL) and read it.

Revision ID: 0015_jobs
Revises: 0014_resolution_leases
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager

revision = "0015_jobs"
down_revision = "0014_resolution_leases"
branch_labels = None
depends_on = None

_DROP_QUEUE = """
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
    procrastinate_workers CASCADE;
DO $$
DECLARE f record;
BEGIN
    FOR f IN SELECT oid::regprocedure AS signature FROM pg_proc WHERE proname LIKE 'procrastinate\\_%' LOOP
        EXECUTE 'DROP FUNCTION ' || f.signature::text;
    END LOOP;
END $$;
DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type, procrastinate_job_status;
"""


def _run_script(sql: str) -> None:
    """Run a multi-statement script through the driver (a prepared statement holds one statement only)."""
    raw = op.get_bind().connection.dbapi_connection
    assert raw is not None
    raw.run_async(lambda connection: connection.execute(sql))


def upgrade() -> None:
    _run_script(SchemaManager.get_schema())
    op.add_column("ticket_screenshots", sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE ticket_screenshots SET processed_at = created_at")
    op.alter_column("ticket_screenshots", "model_blob_key", nullable=True)
    op.alter_column("ticket_screenshots", "model_media_type", nullable=True)
    op.create_index(
        "ix_ticket_screenshots_unprocessed",
        "ticket_screenshots",
        ["ticket_id"],
        postgresql_where=sa.text("processed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_screenshots_unprocessed", table_name="ticket_screenshots")
    op.execute("DELETE FROM ticket_screenshots WHERE processed_at IS NULL")
    op.alter_column("ticket_screenshots", "model_blob_key", nullable=False)
    op.alter_column("ticket_screenshots", "model_media_type", nullable=False)
    op.drop_column("ticket_screenshots", "processed_at")
    _run_script(_DROP_QUEUE)
