"""The console in a real browser (headless Chromium through Selenium) against the app on a real socket.

An agent signs in by typing into the form, sees an escalation arrive in the open queue without a reload, opens the
ticket with its screenshot and replies, and the owner's own event stream hears the reply's text; after a reply the
page comes back at it; an admin approves a pending article and searches find it; an account without a staff role is
turned away. Waits are explicit (``WebDriverWait`` on what the page shows), never sleeps.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy.ext.asyncio import create_async_engine

from server.domain.accounts.cli import change_role
from tests.fixtures.auth import create_user
from tests.fixtures.images import png_bytes
from tests.fixtures.tickets import ticket_form
from tests.server.integration.console.conftest import add_answer
from tests.server.integration.knowledge.test_review import PRINTER_FIX, grow

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

    from tests.fixtures.auth import TestUser
    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer

WAIT_SECONDS = 15
REPLY = "Please update the VPN client to version 5.2, then restart your laptop."
IMAGE_LOADED = (
    "const img = document.querySelector('.screenshots img'); return !!img && img.complete && img.naturalWidth;"
)
# The element the address's fragment names, if it is a message and its top is inside the window.
ANCHOR_IN_VIEW = """
const id = decodeURIComponent(location.hash.slice(1));
const turn = id.startsWith('message-') ? document.getElementById(id) : null;
if (!turn) { return null; }
const top = turn.getBoundingClientRect().top;
return top >= 0 && top < window.innerHeight ? turn.innerText : null;
"""
LONG_ANSWER = "\n\n".join(
    f"{n}. Open Outlook's settings and check the calendar option number {n}." for n in range(1, 9)
)


class OwnerStream:
    """The ticket owner's ``GET /api/v1/events``, read in a thread with httpx streaming until a wanted event arrives.

    ``listening`` is set once the server said it listens; the thread ends when :meth:`stop` is called (it notices at
    the next line: the test makes the server send a keep-alive every half second).
    """

    def __init__(self, url: str, owner: TestUser) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.listening = threading.Event()
        self._arrived = threading.Condition()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, owner.headers), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with httpx.stream("GET", f"{url}/api/v1/events", headers=headers, timeout=30) as response:
            assert response.status_code == 200
            name = "message"
            for line in response.iter_lines():
                if self._stopped.is_set():
                    return
                if line.startswith(":") and "listening" in line:
                    self.listening.set()
                elif line.startswith("event:"):
                    name = line.partition(":")[2].strip()
                elif line.startswith("data:"):
                    with self._arrived:
                        self.events.append((name, json.loads(line.partition(":")[2])))
                        self._arrived.notify_all()

    def wait_for(self, name: str, **match: Any) -> dict[str, Any]:
        """The first event ``name`` whose data has ``match``'s items (waiting up to 15 s)."""

        def found() -> dict[str, Any] | None:
            return next(
                (
                    data
                    for event, data in self.events
                    if event == name and all(data.get(k) == v for k, v in match.items())
                ),
                None,
            )

        with self._arrived:
            assert self._arrived.wait_for(lambda: found() is not None, timeout=WAIT_SECONDS), self.events
        result = found()
        assert result is not None
        return result

    def stop(self) -> None:
        """End the thread (and with it the stream)."""
        self._stopped.set()
        self._thread.join(timeout=5)


def wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    """An explicit wait on the page."""
    return WebDriverWait(driver, WAIT_SECONDS)


def sign_in(driver: WebDriver, url: str, user: TestUser) -> None:
    """Type the login and password into the console's form and submit it, as a person would."""
    driver.get(f"{url}/console/login")
    driver.find_element(By.ID, "login").send_keys(user.email)
    driver.find_element(By.ID, "password").send_keys(user.password)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()


async def test_an_agent_sees_an_escalation_arrive_live_opens_it_and_the_owner_hears_the_reply(
    live_server: LiveServer, browser: WebDriver, mailbox: Mailbox, db_url: str
) -> None:
    live_server.app.context.ticket_events.keepalive = 0.5  # the owner's stream thread notices `stop` this fast
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as api:
        owner = await create_user(api, mailbox, name="Margot Fairweather")
        agent = await create_user(api, mailbox, name="Sam Okafor")
        await change_role(db_url, agent.email, "agent", grant=True)
        created = await api.post(
            "/api/v1/tickets",
            files=ticket_form("The VPN drops every few minutes since this morning.", screenshots=[png_bytes(640, 400)]),
            headers=owner.headers,
        )
        ticket_id = created.json()["id"]
        await add_answer(db_url, ticket_id, "Reconnect to the VPN and choose another server.")
        owner_stream = OwnerStream(live_server.url, owner)
        try:
            assert owner_stream.listening.wait(WAIT_SECONDS)

            sign_in(browser, live_server.url, agent)
            wait(browser).until(expected_conditions.url_to_be(f"{live_server.url}/console"))
            browser.get(f"{live_server.url}/console?status=escalated")
            wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "queue"), "No tickets match"))
            browser.execute_script("window.loadedOnce = true;")  # gone if the page were reloaded
            events = live_server.app.context.ticket_events
            wait(browser).until(lambda _: events.open_streams == 2)  # the owner's and the queue page's own

            still_broken = await api.post(
                f"/api/v1/tickets/{ticket_id}/feedback", json={"resolved": False}, headers=owner.headers
            )
            assert still_broken.json()["status"] == "escalated"
            link = wait(browser).until(
                expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, f'#queue a[href$="{ticket_id}"]'))
            )
            assert browser.execute_script("return window.loadedOnce === true;")  # it arrived without a reload
            assert "escalated" in browser.find_element(By.ID, "queue").text

            link.click()
            wait(browser).until(lambda driver: driver.execute_script(IMAGE_LOADED))
            assert "The VPN drops every few minutes" in browser.find_element(By.TAG_NAME, "h1").text

            browser.find_element(By.ID, "reply-content").send_keys(REPLY)
            browser.find_element(By.CSS_SELECTOR, "#reply button.primary").click()
            wait(browser).until(
                expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, ".turn-agent"), REPLY)
            )
            heard = owner_stream.wait_for("message", ticket_id=ticket_id, role="agent")
        finally:
            browser.get("about:blank")  # closes the page's event stream before the server stops
            owner_stream.stop()

    assert heard["preview"] == REPLY


async def _agent_at_a_new_ticket(
    live_server: LiveServer, mailbox: Mailbox, db_url: str, description: str
) -> tuple[TestUser, str]:
    """An agent (Sam Okafor) and the id of a ticket a user just reported."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as api:
        owner = await create_user(api, mailbox)
        agent = await create_user(api, mailbox, name="Sam Okafor")
        await change_role(db_url, agent.email, "agent", grant=True)
        created = await api.post("/api/v1/tickets", files=ticket_form(description), headers=owner.headers)
    return agent, created.json()["id"]


async def test_after_send_reply_the_page_comes_back_at_the_reply(
    live_server: LiveServer, browser: WebDriver, mailbox: Mailbox, db_url: str
) -> None:
    agent, ticket_id = await _agent_at_a_new_ticket(
        live_server, mailbox, db_url, "Outlook freezes when I open the calendar."
    )
    for _ in range(3):  # a conversation taller than the window: the reply lands below the fold
        await add_answer(db_url, ticket_id, LONG_ANSWER)

    sign_in(browser, live_server.url, agent)
    wait(browser).until(expected_conditions.url_to_be(f"{live_server.url}/console"))
    browser.get(f"{live_server.url}/console/tickets/{ticket_id}")
    browser.find_element(By.ID, "reply-content").send_keys(REPLY)
    browser.find_element(By.CSS_SELECTOR, "#reply button.primary").click()
    shown = wait(browser).until(lambda driver: driver.execute_script(ANCHOR_IN_VIEW))
    scrolled = browser.execute_script("return window.scrollY;")
    address = browser.current_url
    browser.get("about:blank")

    assert REPLY in shown
    assert scrolled > 0
    assert address.startswith(f"{live_server.url}/console/tickets/{ticket_id}#message-")


async def test_a_refused_reply_shows_why_with_htmx_on(
    live_server: LiveServer, browser: WebDriver, mailbox: Mailbox, db_url: str
) -> None:
    agent, ticket_id = await _agent_at_a_new_ticket(live_server, mailbox, db_url, "The VPN drops.")

    sign_in(browser, live_server.url, agent)
    wait(browser).until(expected_conditions.url_to_be(f"{live_server.url}/console"))
    browser.get(f"{live_server.url}/console/tickets/{ticket_id}")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as api:  # closed by someone else meanwhile
        closed = await api.post(f"/api/v1/agent/tickets/{ticket_id}/close", headers=agent.headers)
        assert closed.status_code == 200, closed.text
    browser.find_element(By.ID, "reply-content").send_keys("Restart the VPN client.")
    browser.find_element(By.CSS_SELECTOR, "#reply button.primary").click()
    shown = wait(browser).until(lambda driver: "This ticket is closed" in driver.find_element(By.TAG_NAME, "body").text)
    browser.get("about:blank")

    assert shown


async def test_an_admin_approves_a_pending_article_and_searches_find_it(
    live_server: LiveServer, browser: WebDriver, mailbox: Mailbox, db_url: str
) -> None:
    engine = create_async_engine(db_url)
    try:
        pending = await grow(engine, **PRINTER_FIX)
    finally:
        await engine.dispose()
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as api:
        admin = await create_user(api, mailbox, name="Priya Raman")
        await change_role(db_url, admin.email, "admin", grant=True)
        search = {"q": "label printer garbled barcodes"}
        before = (await api.get("/api/v1/kb/search", params=search, headers=admin.headers)).json()

        sign_in(browser, live_server.url, admin)
        wait(browser).until(expected_conditions.url_to_be(f"{live_server.url}/console"))
        browser.find_element(By.LINK_TEXT, "Knowledge review").click()
        card = wait(browser).until(
            expected_conditions.presence_of_element_located((By.ID, f"item-{pending.article_id}"))
        )
        assert PRINTER_FIX["title"] in card.text
        card.find_element(By.XPATH, ".//button[normalize-space()='Approve and publish']").click()
        wait(browser).until(expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "main"), "Approved"))
        after = (await api.get("/api/v1/kb/search", params=search, headers=admin.headers)).json()
        browser.get("about:blank")

    assert str(pending.article_id) not in [hit["article_id"] for hit in before["results"]]
    assert str(pending.article_id) in [hit["article_id"] for hit in after["results"]]


async def test_a_user_without_a_staff_role_is_turned_away(
    live_server: LiveServer, browser: WebDriver, mailbox: Mailbox
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as api:
        user = await create_user(api, mailbox)

    sign_in(browser, live_server.url, user)
    refused = "This console is for support staff"
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "h1"), refused))
    cookies = [cookie["name"] for cookie in browser.get_cookies()]
    browser.get(f"{live_server.url}/console")

    assert "techpal_console" not in cookies
    assert browser.current_url.startswith(f"{live_server.url}/console/login")
