"""Tickets: a user's problem, its conversation, its screenshots and the history of every change.

Screenshot bytes live in the blob store (content-addressed by SHA-256); rows only name them, so two tickets with
the same image share one blob. Sources (``priority_source``, ``category_source``) say who set a field: ``NULL``
means nobody chose it yet (the triage step may), ``user`` means the user did (and triage must leave it alone).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal

from advanced_alchemy.base import UUIDv7AuditBase, orm_registry
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ACTORS",
    "CATEGORIES",
    "FIELD_SOURCES",
    "MESSAGE_ROLES",
    "PRIORITIES",
    "STATUSES",
    "Actor",
    "Category",
    "FieldSource",
    "IdempotencyKey",
    "MessageRole",
    "Priority",
    "Status",
    "Ticket",
    "TicketHistory",
    "TicketMessage",
    "TicketScreenshot",
    "TicketView",
]

Priority = Literal["low", "normal", "high", "urgent"]
Category = Literal["account_access", "email", "hardware", "network", "printer", "security", "software", "other"]
Status = Literal["open", "answered", "resolved", "escalated", "closed"]
FieldSource = Literal["user", "ai", "rules", "agent"]
MessageRole = Literal["user", "assistant", "agent"]
Actor = Literal["user", "ai", "agent", "system"]

PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
CATEGORIES: tuple[Category, ...] = (
    "account_access",
    "email",
    "hardware",
    "network",
    "printer",
    "security",
    "software",
    "other",
)
STATUSES: tuple[Status, ...] = ("open", "answered", "resolved", "escalated", "closed")
FIELD_SOURCES: tuple[FieldSource, ...] = ("user", "ai", "rules", "agent")
MESSAGE_ROLES: tuple[MessageRole, ...] = ("user", "assistant", "agent")
ACTORS: tuple[Actor, ...] = ("user", "ai", "agent", "system")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class _Base(DeclarativeBase):
    registry = orm_registry


class Ticket(UUIDv7AuditBase):
    """One problem reported by ``owner``. ``updated_at`` moves on every change, message included."""

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint(f"category IS NULL OR {_in('category', CATEGORIES)}", name="category"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(f"priority_source IS NULL OR {_in('priority_source', FIELD_SOURCES)}", name="priority_source"),
        CheckConstraint(f"category_source IS NULL OR {_in('category_source', FIELD_SOURCES)}", name="category_source"),
        CheckConstraint("(category IS NULL) = (category_source IS NULL)", name="category_has_source"),
        Index("ix_tickets_owner_updated", "owner_id", "updated_at"),
        Index("ix_tickets_owner_created", "owner_id", "created_at"),
        Index("ix_tickets_status_updated", "status", "updated_at"),
        Index("ix_tickets_assignee_id", "assignee_id"),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    priority_source: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    category_source: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    device: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The agent or admin working on it (staff-internal: the owner never sees who); ``None`` until one takes it.
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    messages: Mapped[list[TicketMessage]] = relationship(
        back_populates="ticket",
        order_by="TicketMessage.created_at",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )
    screenshots: Mapped[list[TicketScreenshot]] = relationship(
        back_populates="ticket",
        order_by="TicketScreenshot.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )
    history: Mapped[list[TicketHistory]] = relationship(
        back_populates="ticket",
        order_by="TicketHistory.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )


class TicketMessage(UUIDv7AuditBase):
    """One turn of the conversation. Assistant turns record their model usage for cost reports and quotas."""

    __tablename__ = "ticket_messages"
    __table_args__ = (
        CheckConstraint(_in("role", MESSAGE_ROLES), name="role"),
        Index("ix_ticket_messages_ticket_created", "ticket_id", "created_at"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    content: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    model: Mapped[str | None] = mapped_column(String(200))
    tokens_in: Mapped[int | None] = mapped_column(Integer)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)

    ticket: Mapped[Ticket] = relationship(back_populates="messages", lazy="raise")


class TicketScreenshot(UUIDv7AuditBase):
    """A screenshot (``blob_key``) and the downscaled copy sent to the model (``model_blob_key``).

    Stored as uploaded; a job (``processed_at`` NULL until then) replaces ``blob_key`` with the sanitised image, makes
    the model's copy and, unless the desktop sent what it read (``ocr_text`` set at upload), reads the text.
    """

    __tablename__ = "ticket_screenshots"
    __table_args__ = (
        UniqueConstraint("ticket_id", "position", name="uq_ticket_screenshots_ticket_position"),
        CheckConstraint("position >= 0", name="position"),
        Index("ix_ticket_screenshots_blob_key", "blob_key"),
        Index("ix_ticket_screenshots_model_blob_key", "model_blob_key"),
        Index("ix_ticket_screenshots_unprocessed", "ticket_id", postgresql_where=text("processed_at IS NULL")),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    blob_key: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    model_blob_key: Mapped[str | None] = mapped_column(String(64))
    model_media_type: Mapped[str | None] = mapped_column(String(32))
    ocr_text: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))

    ticket: Mapped[Ticket] = relationship(back_populates="screenshots", lazy="raise")


class TicketHistory(_Base):
    """One change of one field (``created`` for the ticket's birth), and who made it."""

    __tablename__ = "ticket_history"
    __table_args__ = (
        CheckConstraint(_in("actor", ACTORS), name="actor"),
        Index("ix_ticket_history_ticket_id", "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    actor: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[Any] = mapped_column(JSONB, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSONB, nullable=True)

    ticket: Mapped[Ticket] = relationship(back_populates="history", lazy="raise")


class TicketView(_Base):
    """The access log: a staff member opened a ticket's page (``screenshot`` is ``None``) or one of its screenshots.

    ``viewer_role`` is kept apart from the account: the log still says "an agent" after that account is deleted.
    """

    __tablename__ = "ticket_views"
    __table_args__ = (
        CheckConstraint("viewer_role IN ('agent', 'admin')", name="viewer_role"),
        CheckConstraint("screenshot IS NULL OR screenshot >= 0", name="screenshot"),
        Index("ix_ticket_views_ticket_id", "ticket_id", "id"),
        Index("ix_ticket_views_viewer_id", "viewer_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    viewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    viewer_role: Mapped[str] = mapped_column(String(16))
    screenshot: Mapped[int | None] = mapped_column(Integer)
    viewed_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))


class IdempotencyKey(_Base):
    """A create request's ``Idempotency-Key`` for 24 h: its fingerprint and the ticket it made.

    ``ticket_id``'s foreign key is deferred: the key row is claimed first (serialising concurrent retries on the
    primary key) and the ticket is inserted later in the same transaction.
    """

    __tablename__ = "idempotency_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"), index=True
    )
    created_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
