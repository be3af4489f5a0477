"""``GET /api/v1/events`` is bounded: 5 open streams per account and ``TECHPAL_MAX_EVENT_STREAMS`` per process.

Beyond either, 429 ``too_many_streams`` with ``Retry-After``; a stream that closes (the client walking away
included) frees its slot at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from typing import TYPE_CHECKING

import httpx

from server.domain.tickets.events import STREAMS_PER_ACCOUNT
from tests.fixtures.auth import create_user
from tests.fixtures.server import serve

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from server.context import Models
    from server.settings import Settings
    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer

EVENTS = "/api/v1/events"


@dataclasses.dataclass
class _Stream:
    """An open stream and its line reader (dropping the reader would close the connection)."""

    response: httpx.Response
    lines: AsyncIterator[str]


async def _listen(streams: contextlib.AsyncExitStack, http: httpx.AsyncClient, headers: dict[str, str]) -> _Stream:
    """An open stream, once the server said it listens (it stays open until ``streams`` closes)."""
    response = await streams.enter_async_context(http.stream("GET", EVENTS, headers=headers))
    assert response.status_code == 200, (await response.aread()).decode()
    lines = response.aiter_lines()
    async with asyncio.timeout(15):
        while not ((line := await anext(lines)).startswith(":") and "listening" in line):
            pass
    return _Stream(response, lines)


async def _refusal(http: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    """The answer to one more stream; a stream that opens instead is closed at once (never read forever)."""
    async with http.stream("GET", EVENTS, headers=headers) as response:
        if response.status_code != 200:
            await response.aread()
        return response


async def _listen_soon(
    streams: contextlib.AsyncExitStack, http: httpx.AsyncClient, headers: dict[str, str], within: float = 5.0
) -> tuple[_Stream, float]:
    """A new stream and how long it took to be accepted (the server notices a closed one as its client hangs up)."""
    started = time.monotonic()
    while (refused := await _refusal(http, headers)).status_code == 429:
        assert time.monotonic() - started < within, "the closed stream's slot was never freed"
        await asyncio.sleep(0.05)
    assert refused.status_code == 200
    return await _listen(streams, http, headers), time.monotonic() - started


def _assert_too_many_streams(response: httpx.Response) -> None:
    assert response.status_code == 429, response.status_code  # a stream that opened was not read
    assert response.json()["code"] == "too_many_streams"
    assert int(response.headers["retry-after"]) > 0


async def test_an_account_holds_five_streams_the_sixth_is_refused_and_closing_one_frees_its_slot(
    live_server: LiveServer, mailbox: Mailbox
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        user = (await create_user(http, mailbox)).headers
        other = (await create_user(http, mailbox)).headers
        async with contextlib.AsyncExitStack() as streams:
            opened = [await _listen(streams, http, user) for _ in range(STREAMS_PER_ACCOUNT)]

            _assert_too_many_streams(await _refusal(http, user))
            opened.append(await _listen(streams, http, other))  # the limit is per account

            await opened[0].response.aclose()  # the client walks away
            reopened, waited = await _listen_soon(streams, http, user)
            assert waited < 2.0
            _assert_too_many_streams(await _refusal(http, user))
            assert reopened.response.status_code == 200


async def test_the_server_wide_cap_counts_every_account(settings: Settings, models: Models, mailbox: Mailbox) -> None:
    capped = settings.replace(tickets=dataclasses.replace(settings.tickets, max_event_streams=3))
    with serve(capped, models) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            first, second, third = [(await create_user(http, mailbox)).headers for _ in range(3)]
            async with contextlib.AsyncExitStack() as streams:
                kept = [await _listen(streams, http, first), await _listen(streams, http, first)]
                held = await _listen(streams, http, second)

                _assert_too_many_streams(await _refusal(http, third))  # its first stream: the server is full

                await held.response.aclose()
                kept.append((await _listen_soon(streams, http, third))[0])
                _assert_too_many_streams(await _refusal(http, second))
                assert server.app.context.ticket_events.open_streams == len(kept)
