"""``techpal-server kb …``: import articles, re-embed after a model switch, evaluate search quality.

With the embedded default they use the running server's embedded database (and leave it running), or start it
for the command when no server runs; with ``TECHPAL_DATABASE_URL`` they work against that database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["kb"]

T = TypeVar("T")


def _with_engine(work: Callable[[Any], Awaitable[T]]) -> T:
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415 - keep `--help` instant

    from server.runtime import command_settings, database, prepare  # noqa: PLC0415

    settings = command_settings()

    async def run(url: str) -> T:
        engine = create_async_engine(url)
        try:
            return await work((engine, settings))
        finally:
            await engine.dispose()

    with database(prepare(settings)) as ready:
        assert ready.db.url is not None
        return asyncio.run(run(ready.db.url.get_secret_value()))


@click.group()
def kb() -> None:
    """Manage the knowledge base."""


@kb.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--origin", type=click.Choice(["seed", "manual"]), default="manual", show_default=True)
def import_command(file: Path, origin: str) -> None:
    """Import articles from a JSONL FILE (.jsonl or .jsonl.xz); upserts by id, resumable, skips bad lines."""
    from server.domain.knowledge.embeddings import EmbeddingError  # noqa: PLC0415
    from server.domain.knowledge.services import ModelMismatchError, import_file  # noqa: PLC0415

    async def work(ctx: Any) -> Any:
        engine, settings = ctx
        with click.progressbar(length=1, label="Importing", show_pos=True) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            return await import_file(
                engine, file, kind=settings.embeddings, ai=settings.ai, origin=origin, progress=progress
            )

    try:
        report = _with_engine(work)
    except (ModelMismatchError, EmbeddingError) as exc:
        raise click.ClickException(str(exc)) from None
    for number, problem in report.bad_lines:
        click.echo(f"line {number}: skipped: {problem}", err=True)
    click.echo(
        f"{report.total} lines: {report.written} written, {report.unchanged} unchanged, "
        f"{report.duplicates} duplicate ids, {len(report.bad_lines)} bad lines skipped"
    )


@kb.command()
def reembed() -> None:
    """Re-embed every chunk with the model TECHPAL_EMBEDDINGS selects (after switching it). Resumable."""
    from server.domain.knowledge.embeddings import EmbeddingError, build_embedder  # noqa: PLC0415
    from server.domain.knowledge.services import reembed as run_reembed  # noqa: PLC0415

    async def work(ctx: Any) -> int:
        engine, settings = ctx
        embedder = build_embedder(settings.embeddings, settings.ai)
        with click.progressbar(length=1, label="Re-embedding", show_pos=True) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            return await run_reembed(engine, embedder, progress)

    try:
        count = _with_engine(work)
    except EmbeddingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{count} chunks re-embedded.")


@kb.command("eval")
@click.argument("queries", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def eval_command(queries: Path) -> None:
    """Print recall@1/5/10 and MRR per query set of QUERIES (JSONL: query, gold_id, alt_gold_ids, set)."""
    from server.domain.knowledge.embeddings import EmbeddingError, build_embedder  # noqa: PLC0415
    from server.domain.knowledge.evaluation import evaluate, load_queries  # noqa: PLC0415

    labelled = load_queries(queries)

    async def work(ctx: Any) -> Any:
        engine, settings = ctx
        scores, _, _ = await evaluate(engine, labelled, build_embedder(settings.embeddings, settings.ai))
        return scores

    try:
        scores = _with_engine(work)
    except EmbeddingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'set':<12}{'n':>5}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'MRR':>8}")
    for name, s in scores.items():
        row = s.row()
        click.echo(f"{name:<12}{s.n:>5}{row['R@1']:>8.3f}{row['R@5']:>8.3f}{row['R@10']:>8.3f}{row['MRR']:>8.3f}")
