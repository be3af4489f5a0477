"""All ORM models, re-exported from their private modules; ``metadata`` is what Alembic compares against."""

from advanced_alchemy.base import orm_registry

from server.db.models._analytics import analytics_events, analytics_sessions
from server.db.models._api_key import ApiKey, api_key_usage
from server.db.models._billing import billing_customers, billing_subscriptions, billing_usage, stripe_events
from server.db.models._email_token import EmailToken
from server.db.models._kb_article import KbArticle
from server.db.models._kb_chunk import KbChunk, KbMeta, KbPosting, KbTerm
from server.db.models._kb_contribution import KbContribution
from server.db.models._privacy import DataExport, policy_acceptances, policy_versions
from server.db.models._rate_counter import rate_counters
from server.db.models._resolution import resolution_leases
from server.db.models._session import RefreshToken, UserSession
from server.db.models._sign_in import LoginChallenge, TwoFactor, oidc_nonces, recovery_codes
from server.db.models._ticket import (
    CATEGORIES,
    PRIORITIES,
    STATUSES,
    Actor,
    Category,
    FieldSource,
    IdempotencyKey,
    MessageRole,
    Priority,
    Status,
    Ticket,
    TicketHistory,
    TicketMessage,
    TicketScreenshot,
    TicketView,
)
from server.db.models._user import ROLES, Role, User

__all__ = [
    "CATEGORIES",
    "PRIORITIES",
    "ROLES",
    "STATUSES",
    "Actor",
    "ApiKey",
    "Category",
    "DataExport",
    "EmailToken",
    "FieldSource",
    "IdempotencyKey",
    "KbArticle",
    "KbChunk",
    "KbContribution",
    "KbMeta",
    "KbPosting",
    "KbTerm",
    "LoginChallenge",
    "MessageRole",
    "Priority",
    "RefreshToken",
    "Role",
    "Status",
    "Ticket",
    "TicketHistory",
    "TicketMessage",
    "TicketScreenshot",
    "TicketView",
    "TwoFactor",
    "User",
    "UserSession",
    "analytics_events",
    "analytics_sessions",
    "api_key_usage",
    "billing_customers",
    "billing_subscriptions",
    "billing_usage",
    "metadata",
    "oidc_nonces",
    "policy_acceptances",
    "policy_versions",
    "rate_counters",
    "recovery_codes",
    "resolution_leases",
    "stripe_events",
]

metadata = orm_registry.metadata
