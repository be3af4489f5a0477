"""TicketsPresenter against the fake tickets API: rows in words, failures in words, opening a ticket."""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING

import pytest

from desktop.core.api import ApiClient, Ticket
from desktop.presenters.tickets_presenter import TicketsPresenter, ticket_row

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytestqt.qtbot import QtBot

    from tests.fixtures.fake_server import FakeServer

WAIT_MS = 5000


@pytest.fixture
def tickets(qtbot: QtBot, signed_in_client: ApiClient) -> Iterator[TicketsPresenter]:
    presenter = TicketsPresenter(signed_in_client)
    try:
        yield presenter
    finally:
        presenter.shutdown()


def test_refresh_lists_my_tickets_newest_first(
    qtbot: QtBot, tickets: TicketsPresenter, fake_server: FakeServer
) -> None:
    older = fake_server.add_ticket("Printer jams\nsince Monday", status="escalated")
    newer = fake_server.add_ticket("VPN drops", status="resolved")

    with qtbot.wait_signal(tickets.tickets_changed, timeout=WAIT_MS) as changed:
        tickets.refresh()

    rows = changed.args[0]
    assert [row.ticket_id for row in rows] == [newer, older]
    assert rows[1][1:5] == ("Printer jams", "With an agent", "Normal", "Network")
    assert rows[0][2] == "Resolved"
    assert rows[0][5].startswith("Today ")
    qtbot.waitUntil(lambda: not tickets.loading, timeout=WAIT_MS)


def test_a_failed_refresh_says_why(qtbot: QtBot, tickets: TicketsPresenter, fake_server: FakeServer) -> None:
    fake_server.fail("list", 503, "service_unavailable")

    with qtbot.wait_signal(tickets.error_changed, timeout=WAIT_MS, check_params_cb=bool) as error:
        tickets.refresh()

    assert error.args == [
        "Your tickets could not be loaded: The server is busy or starting up. Please try again in a moment."
    ]


def test_an_unreachable_server_is_reported_not_raised(
    qtbot: QtBot, tickets: TicketsPresenter, fake_server: FakeServer
) -> None:
    fake_server.stop()

    with qtbot.wait_signal(tickets.error_changed, timeout=WAIT_MS, check_params_cb=bool) as error:
        tickets.refresh()

    assert "Can't reach the Tech Pal server" in error.args[0]


def test_signed_out_asks_for_sign_in(qtbot: QtBot) -> None:
    presenter = TicketsPresenter(None)
    with qtbot.wait_signal(presenter.sign_in_required, timeout=WAIT_MS):
        presenter.refresh()


def test_long_descriptions_are_shortened_and_unknown_statuses_readable() -> None:
    ticket = Ticket(
        id=uuid.uuid4(),
        status="waiting_on_user",
        description="x" * 200,
        updated_at=datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.UTC),
    )

    row = ticket_row(ticket, now=datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC))

    assert len(row[1]) == 80
    assert row[1].endswith("…")
    assert row[2] == "Waiting on user"
    assert row[3] == row[4] == "—"
    assert row[5].startswith("2026-01-0")
