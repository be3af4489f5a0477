"""The app context: every object the server shares between requests, built once by ``create_app`` (ADR 10).

One frozen dataclass, typed field by field: no string keys on ``app.state``, no module-level singletons.
:func:`build_context` constructs it without I/O (the engine and clients connect lazily); :func:`running` is the
app's one lifespan — it starts the background work and closes everything, in order, at shutdown. Route handlers
receive the fields through Litestar's dependency injection, by field name (``mailer``, ``storage``, ``runs``, …).

The loaded models (:class:`Models`) are the one part a caller may hand in: they are expensive to load and safe to
share, so the tests load them once per run rather than once per app.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from litestar.di import Provide

from server.db.engine import create_engine
from server.domain.accounts.api_keys import ApiKeyHasher
from server.domain.accounts.google import GoogleVerifier
from server.domain.accounts.passwords import PasswordHasher
from server.domain.accounts.usage_log import UsageLog
from server.domain.billing.services import BillingContext
from server.domain.billing.webhooks import keep_applying_pending
from server.domain.knowledge import query_embedding_pool
from server.domain.knowledge.embeddings import Embedders
from server.domain.knowledge.services import KbStatus, SeedImport
from server.domain.privacy import DataLifecycle, keep_applying_retention
from server.domain.resolution.runs import ResolutionRuns
from server.domain.tickets import uploads_in_flight
from server.domain.tickets.contribution import fix_contribution_job
from server.domain.tickets.events import TicketEventHub
from server.domain.tickets.ocr import Ocr, RapidOcr
from server.domain.tickets.reading import ScreenshotProcessor, ScreenshotReading
from server.domain.tickets.storage import BlobStorage, build_blob_storage
from server.integrations.openai import ChatModel, OpenAIChatModel
from server.integrations.stripe import StripeGateway
from server.lib.clock import Clock, utcnow
from server.lib.crypto import AccessTokenSigner, SecretSealer
from server.lib.jobs import JobQueue
from server.lib.mail import Mailer, build_mailer
from server.settings import Secret, Settings

if TYPE_CHECKING:
    import uuid
    from collections.abc import AsyncIterator, Callable

    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.lib.inflight import InFlight
    from server.lib.workers import BoundedExecutor

__all__ = ["AppContext", "Models", "build_context", "running"]

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Models:
    """The models the server loads: each loads lazily on first use, once, and is safe to share between apps."""

    embedders: Embedders = field(default_factory=Embedders)
    ocr: Ocr = field(default_factory=RapidOcr)


@dataclass(frozen=True, slots=True)
class AppContext:
    """What the app shares between requests. Field names are the dependency names handlers ask for."""

    settings: Settings
    engine: AsyncEngine
    mailer: Mailer
    passwords: PasswordHasher
    signer: AccessTokenSigner
    console_tokens: AccessTokenSigner  # the console's session cookies: refused as API bearer tokens
    sealer: SecretSealer  # TOTP secrets at rest
    key_hasher: ApiKeyHasher  # what the database stores of an API key
    usage_log: UsageLog  # requests made with API keys, written in batches
    google: GoogleVerifier | None  # None: Google sign-in is off
    storage: BlobStorage
    screenshots: ScreenshotProcessor
    embedders: Embedders
    chat_model: ChatModel | None
    billing: BillingContext
    ticket_events: TicketEventHub
    runs: ResolutionRuns
    kb_status: KbStatus
    lifecycle: DataLifecycle
    uploads: InFlight[uuid.UUID]  # ticket creates in flight per account (429 too_many_uploads beyond 2)
    query_embeddings: BoundedExecutor  # where search queries are embedded (503 busy when full)
    jobs: JobQueue  # work that outlives its request (docs/operations.md#jobs)
    clock: Clock = utcnow

    def dependencies(self) -> dict[str, Provide]:
        """One Litestar provider per field (``engine`` is the SQLAlchemy plugin's ``db_engine``)."""
        return {
            item.name: Provide(_constant(getattr(self, item.name)), use_cache=True, sync_to_thread=False)
            for item in dataclasses.fields(self)
            if item.name != "engine"
        }


def _constant(value: object) -> Callable[[], object]:
    def provide() -> object:
        return value

    return provide


def _signing_key(settings: Settings) -> Secret:
    if settings.secret_key is not None:
        return settings.secret_key
    # `techpal-server run` always fills the key; an app built without one still works, but its tokens die with it.
    logger.warning("secret_key_missing", consequence="access tokens do not survive a restart")
    return Secret(secrets.token_urlsafe(48))


def _stripe_gateway(settings: Settings) -> StripeGateway | None:
    billing = settings.billing
    if billing.secret_key is None:
        return None
    gateway = StripeGateway(
        billing.secret_key.get_secret_value(),
        webhook_secret=billing.webhook_secret.get_secret_value() if billing.webhook_secret else None,
        api_base=billing.api_base,
    )
    if not gateway.accepts_webhooks:
        logger.warning("stripe_webhook_secret_missing", consequence="webhook events are refused")
    return gateway


def build_context(settings: Settings, *, models: Models | None = None) -> AppContext:
    """Everything the app shares, for ``settings``; no connection is opened and no model loaded here."""
    models = models or Models()
    engine = create_engine(settings.db)
    assert settings.db.url is not None  # create_engine refuses an unknown URL
    mailer = build_mailer(settings)
    storage = build_blob_storage(
        settings.blob_url, settings.data_dir / "blobs", s3_endpoint_url=settings.s3_endpoint_url
    )
    billing = BillingContext(settings.billing, _stripe_gateway(settings), mailer, settings.server.base_url)
    secret_key = _signing_key(settings)
    screenshots = ScreenshotProcessor(ocr=models.ocr)
    jobs = JobQueue(settings.db.url.get_secret_value(), stalled_after=settings.job_stalled_after)
    jobs.register(ScreenshotReading(engine, storage, screenshots).spec)
    jobs.register(fix_contribution_job(engine, settings, models.embedders))
    return AppContext(
        settings=settings,
        engine=engine,
        mailer=mailer,
        passwords=PasswordHasher(settings.auth.argon2),
        signer=AccessTokenSigner(secret_key),
        console_tokens=AccessTokenSigner(secret_key, purpose="console-session"),
        sealer=SecretSealer(secret_key),
        key_hasher=ApiKeyHasher(secret_key),
        usage_log=UsageLog(engine),
        google=GoogleVerifier(settings.google) if settings.google.enabled else None,
        storage=storage,
        screenshots=screenshots,
        embedders=models.embedders,
        chat_model=OpenAIChatModel(settings.ai) if settings.ai.configured else None,
        billing=billing,
        ticket_events=TicketEventHub(settings.db.url.get_secret_value()),
        runs=ResolutionRuns(engine, storage),
        kb_status=KbStatus(state="pending" if settings.kb_seed else "ready"),
        lifecycle=DataLifecycle(engine, storage, mailer, billing, settings),
        uploads=uploads_in_flight(),
        query_embeddings=query_embedding_pool(),
        jobs=jobs,
    )


@asynccontextmanager
async def running(ctx: AppContext) -> AsyncIterator[None]:
    """The app's lifespan: start the background work, then close everything in reverse order of need.

    Background work: writing the API-key usage log (every second; once more at shutdown), applying Stripe events a
    crash left unapplied (at start, then periodically), the hourly retention round (docs/privacy.md), a job worker
    (unless ``TECHPAL_INPROCESS_WORKER=false``) and, for the embedded default, importing the seed knowledge base.
    Start-up waits for none of them. At shutdown every step runs even when an earlier one fails: running answers
    and jobs finish first (they need the chat model, the screenshot pool and the engine), the engine is disposed
    last.
    """
    settings = ctx.settings
    async with contextlib.AsyncExitStack() as closing:  # callbacks run last-registered first
        closing.push_async_callback(ctx.engine.dispose)
        writing_usage = asyncio.create_task(ctx.usage_log.keep_writing())
        closing.push_async_callback(ctx.usage_log.stop, writing_usage)
        if ctx.billing.gateway is not None:
            closing.push_async_callback(ctx.billing.gateway.close)
            retrying = asyncio.create_task(keep_applying_pending(ctx.engine, ctx.billing))
            closing.push_async_callback(_cancel, retrying)
        if settings.retention_rounds:
            purging = asyncio.create_task(keep_applying_retention(ctx.lifecycle))
            closing.push_async_callback(_cancel, purging)
        closing.push_async_callback(ctx.screenshots.close)
        closing.push_async_callback(ctx.query_embeddings.close)
        if ctx.chat_model is not None:
            closing.push_async_callback(ctx.chat_model.aclose)
        closing.push_async_callback(ctx.runs.close)
        closing.push_async_callback(ctx.ticket_events.close)
        if settings.inprocess_worker:
            working = asyncio.create_task(ctx.jobs.work(concurrency=2, name="in-process"))
            closing.push_async_callback(_cancel, working)
        if settings.kb_seed:
            assert settings.db.url is not None
            seed = SeedImport(settings.db.url.get_secret_value(), settings.embeddings, settings.ai, ctx.kb_status,
                              ctx.embedders)  # fmt: skip
            seed.start()
            closing.push_async_callback(seed.stop)
        yield


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
