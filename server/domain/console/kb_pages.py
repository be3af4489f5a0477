"""Knowledge review in the console: what waits for review, and any article to read, edit, unpublish or republish.

``GET /console/kb`` lists what the knowledge base learned from users' fixes and waits for an agent: new articles,
and fixes proposed for a published article, each shown beside the article it would join. ``GET
/console/kb/articles/{id}`` shows any article (seed ones included, published or not) with its proposed fixes and who
approved or rejected them, and the form that edits it (title and sections, Markdown; ``preview`` renders a draft).

The actions are plain forms (CSRF token included) that work without JavaScript — post, then a 303 back with a
``?done=`` notice — and htmx boosts them. They call the knowledge slice's review functions, the JSON review routes'
own: each runs in a transaction of its own and re-indexes what it changed, so an approved article is searchable at
once. Every action is logged with the staff member who took it.
"""

from __future__ import annotations

import math
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import structlog
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter, SkipValidation
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.domain.accounts import Principal
from server.domain.console.deps import CONSOLE_DEPENDENCIES
from server.domain.console.forms import FORM_BODY_LIMIT, read_form, text_field
from server.domain.console.kb_view import (
    REVIEW_URL,
    article_context,
    article_in,
    back_target,
    notice,
    review_cards,
)
from server.domain.console.pages import fragment, is_htmx, page
from server.domain.console.queries import people
from server.domain.knowledge import (
    MERGED_HEADING,
    ArticleUpdate,
    Embedders,
    approve_review_item,
    article_for_review,
    pending_reviews,
    reject_review_item,
    update_article,
)
from server.lib.exceptions import ClientError, NotFound, ServiceUnavailable, TechPalError
from server.settings import Settings

if TYPE_CHECKING:
    from litestar.datastructures import FormMultiDict

__all__ = ["KnowledgeReviewController"]

logger = structlog.get_logger(__name__)

PAGE_SIZE = 20
MAX_TITLE_CHARS = 300  # as ArticleUpdate's
MAX_SECTION_CHARS = 20_000
SECTIONS = ("symptoms", "cause", "resolution")
# What an action may answer with a page rather than a redirect: the reason, shown where the form was.
REFUSALS = (ClientError, ServiceUnavailable)


def _draft(form: FormMultiDict) -> dict[str, str]:
    """The edit form's fields, checked like the JSON body's, with the browser's CRLF line ends made LF."""
    draft = {"title": text_field(form, "title", max_chars=MAX_TITLE_CHARS)}
    for name in SECTIONS:
        draft[name] = text_field(form, name, max_chars=MAX_SECTION_CHARS).replace("\r\n", "\n")
    return draft


def _with_notice(target: str, done: str) -> str:
    return f"{target}?done={done}"


async def _review_page(
    request: Request[Any, Any, Any],
    staff: Principal,
    engine: AsyncEngine,
    *,
    page_number: int = 1,
    status: int = 200,
    error: str | None = None,
    done: str | None = None,
) -> Template:
    queue = await pending_reviews(engine, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
    return page(request, "kb_review.html", title="Knowledge review", staff=staff, status=status, error=error,
                notice=notice(done), cards=review_cards(queue.items), total=queue.total, page_number=page_number,
                pages=max(1, math.ceil(queue.total / PAGE_SIZE)), merged_heading=MERGED_HEADING)  # fmt: skip


async def _article_page(
    request: Request[Any, Any, Any],
    staff: Principal,
    engine: AsyncEngine,
    db: AsyncSession,
    article_id: uuid.UUID,
    *,
    status: int = 200,
    error: str | None = None,
    done: str | None = None,
    draft: dict[str, str] | None = None,
    preview: dict[str, str] | None = None,
) -> Template:
    found = await article_for_review(engine, article_id)
    if found is None:
        raise NotFound("There is no such article.")
    names = await people(db, [fix.reviewed_by for fix in found.proposed_fixes])
    article = found.article
    context = article_context(found, names)
    form = draft or {"title": article.title, **{name: getattr(article, name) for name in SECTIONS}}
    return page(request, "kb_article.html", title=article.title, staff=staff, status=status, error=error,
                notice=notice(done), draft=form, preview=preview, **context)  # fmt: skip


async def _refused_page(
    request: Request[Any, Any, Any],
    staff: Principal,
    engine: AsyncEngine,
    db: AsyncSession,
    *,
    target: str,
    refused: TechPalError,
) -> Template:
    """The page the form came from, again, with the reason the action was refused."""
    article_id = article_in(target)
    if article_id is not None:
        try:
            return await _article_page(request, staff, engine, db, article_id, status=refused.status_code,
                                       error=refused.detail)  # fmt: skip
        except NotFound:  # the article went meanwhile: the list says why
            pass
    return await _review_page(request, staff, engine, status=refused.status_code, error=refused.detail)


class KnowledgeReviewController(Controller):
    """The review list, an article's page, and approve, reject, edit, preview, publish and unpublish."""

    path = "/kb"
    dependencies = CONSOLE_DEPENDENCIES
    request_max_body_size = FORM_BODY_LIMIT

    @get("/", name="console_kb", request_max_body_size=0)
    async def review_list(
        self,
        request: Request[Any, Any, Any],
        staff: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=100_000)] = 1,
        done: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> Template:
        """New articles and proposed fixes, newest first, 20 a page."""
        return await _review_page(request, staff, db_engine, page_number=page_number, done=done)

    @get("/articles/{article_id:uuid}", name="console_kb_article", request_max_body_size=0)
    async def article(
        self,
        *,
        request: Request[Any, Any, Any],
        article_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        db_session: NamedDependency[AsyncSession],
        done: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> Template:
        """Any article, published or not, with its proposed fixes and the edit form."""
        return await _article_page(request, staff, db_engine, db_session, article_id, done=done)

    @post("/review/{item_id:uuid}/approve", status_code=303)
    async def approve(
        self,
        *,
        request: Request[Any, Any, Any],
        item_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[SkipValidation[Settings]],
        embedders: NamedDependency[SkipValidation[Embedders]],
    ) -> Response[Any]:
        """Publish a new article, or append a proposed fix to its article; back where the form was."""
        target = back_target(str((await read_form(request)).get("back", "")))
        try:
            embedder = await embedders.configured(settings.embeddings, settings.ai)
            article = await approve_review_item(db_engine, item_id, reviewer_id=staff.user.id, embedder=embedder)
        except REFUSALS as refused:
            return await _refused_page(request, staff, db_engine, db_session, target=target, refused=refused)
        logger.info("kb_review_approved", staff_id=str(staff.user.id), item_id=str(item_id),
                    article_id=str(article.id))  # fmt: skip
        return Redirect(_with_notice(target, "approved"), status_code=303)

    @post("/review/{item_id:uuid}/reject", status_code=303)
    async def reject(
        self,
        request: Request[Any, Any, Any],
        item_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[Any]:
        """Drop a proposed fix, or delete a new article; back where the form was (the list, once it is gone)."""
        target = back_target(str((await read_form(request)).get("back", "")))
        try:
            await reject_review_item(db_engine, item_id, reviewer_id=staff.user.id)
        except REFUSALS as refused:
            return await _refused_page(request, staff, db_engine, db_session, target=target, refused=refused)
        logger.info("kb_review_rejected", staff_id=str(staff.user.id), item_id=str(item_id))
        if article_in(target) == item_id:  # the rejected new article was this page's, and is deleted
            target = REVIEW_URL
        return Redirect(_with_notice(target, "rejected"), status_code=303)

    @post("/articles/{article_id:uuid}", status_code=303)
    async def edit(
        self,
        *,
        request: Request[Any, Any, Any],
        article_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[SkipValidation[Settings]],
        embedders: NamedDependency[SkipValidation[Embedders]],
    ) -> Response[Any]:
        """Save the changed fields (re-chunked, re-embedded, re-indexed); a refusal keeps the draft on the page."""
        form = await read_form(request)
        raw = {name: str(form.get(name, "")) for name in ("title", *SECTIONS)}
        found = await article_for_review(db_engine, article_id)
        if found is None:
            raise NotFound("There is no such article.")
        here = f"/console/kb/articles/{article_id}"
        try:
            draft = _draft(form)
            changed = {name: value for name, value in draft.items() if value != getattr(found.article, name).strip()}
            if not changed:
                return Redirect(_with_notice(here, "unchanged"), status_code=303)
            update = ArticleUpdate(title=changed.get("title"), symptoms=changed.get("symptoms"),
                                   cause=changed.get("cause"), resolution=changed.get("resolution"))  # fmt: skip
            embedder = await embedders.configured(settings.embeddings, settings.ai)
            await update_article(db_engine, article_id, update, embedder)
        except REFUSALS as refused:
            return await _article_page(request, staff, db_engine, db_session, article_id, status=refused.status_code,
                                       error=refused.detail, draft=raw)  # fmt: skip
        logger.info("kb_article_edited", staff_id=str(staff.user.id), article_id=str(article_id),
                    fields=sorted(changed))  # fmt: skip
        return Redirect(_with_notice(here, "saved"), status_code=303)

    @post("/articles/{article_id:uuid}/preview", status_code=200)
    async def preview(
        self,
        request: Request[Any, Any, Any],
        article_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        """The draft as readers will see it: a fragment for htmx, else the page with the preview and the draft."""
        form = await read_form(request)
        raw = {name: str(form.get(name, "")) for name in ("title", *SECTIONS)}
        error = None
        try:
            draft = _draft(form)
        except ClientError as refused:
            draft, error = {}, refused.detail
        if is_htmx(request):
            return fragment("_article_preview.html", preview=draft, error=error)
        return await _article_page(request, staff, db_engine, db_session, article_id, draft=raw, preview=draft,
                                   error=error)  # fmt: skip

    @post("/articles/{article_id:uuid}/publish", status_code=303)
    async def publish(
        self,
        article_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
    ) -> Response[Any]:
        """Publish the article (again): searches and answers find it."""
        await update_article(db_engine, article_id, ArticleUpdate(published=True), None)
        logger.info("kb_article_published", staff_id=str(staff.user.id), article_id=str(article_id))
        return Redirect(_with_notice(f"/console/kb/articles/{article_id}", "published"), status_code=303)

    @post("/articles/{article_id:uuid}/unpublish", status_code=303)
    async def unpublish(
        self,
        article_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
    ) -> Response[Any]:
        """Take the article out of searches and answers (it stays here, and can be published again)."""
        await update_article(db_engine, article_id, ArticleUpdate(published=False), None)
        logger.info("kb_article_unpublished", staff_id=str(staff.user.id), article_id=str(article_id))
        return Redirect(_with_notice(f"/console/kb/articles/{article_id}", "unpublished"), status_code=303)
