"""ExportPresenter against the fake server: polling with a timer, an unreachable server, a sign-out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from desktop.presenters.export_presenter import ExportPresenter, ExportState, human_size, limited_text
from desktop.services.tasks import TaskRunner

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytestqt.qtbot import QtBot

    from desktop.core.api import ApiClient
    from tests.fixtures.fake_server import FakeServer

TIMEOUT_MS = 5000


@pytest.fixture
def presenter(qapp: object, signed_in_client: ApiClient) -> Iterator[ExportPresenter]:
    runner = TaskRunner()
    presenter = ExportPresenter(lambda: signed_in_client, runner=runner, poll_interval_ms=30)
    yield presenter
    presenter.reset()
    runner.shutdown()


def test_an_unreachable_server_while_pending_keeps_the_export_followed(
    qtbot: QtBot, presenter: ExportPresenter, fake_server: FakeServer
) -> None:
    notified: list[str] = []
    presenter.notify.connect(lambda title, _text: notified.append(title))
    presenter.start()
    qtbot.waitUntil(lambda: fake_server.hits("export") >= 1, timeout=TIMEOUT_MS)

    fake_server.stop()
    qtbot.wait(200)
    assert presenter.state is ExportState.PENDING
    fake_server.start()
    fake_server.finish_exports(b"PK")

    qtbot.waitUntil(lambda: presenter.state is ExportState.READY, timeout=TIMEOUT_MS)
    assert notified == ["Your data is ready"]


def test_signing_out_stops_following_and_forgets_the_export(
    qtbot: QtBot, presenter: ExportPresenter, fake_server: FakeServer
) -> None:
    presenter.start()
    qtbot.waitUntil(lambda: fake_server.hits("export") >= 2, timeout=TIMEOUT_MS)

    presenter.reset()
    polls = fake_server.hits("export")
    qtbot.wait(200)

    assert fake_server.hits("export") <= polls + 1  # at most the question already on its way
    assert presenter.state is ExportState.NONE
    assert not presenter.polling
    assert presenter.can_start


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0 bytes"), (1023, "1023 bytes"), (1536, "1.5 KB"), (5 * 1024**3, "5.0 GB")]
)
def test_sizes_read_like_a_file_manager(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "You can ask for one export a day."),
        (60, "You can ask for one export a day; the next one is possible in 1 hour."),
        (3601, "You can ask for one export a day; the next one is possible in 2 hours."),
    ],
)
def test_the_one_a_day_limit_says_when_the_next_is_possible(seconds: float | None, text: str) -> None:
    assert limited_text(seconds) == text
