"""The console's look and keyboard use in a real browser (headless Chromium, 1366 × 860).

Light and dark, focus, the filter forms, and pages that load without an error in the browser's console.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions

from server.domain.accounts.cli import change_role
from tests.fixtures.auth import create_user
from tests.server.integration.console.test_browser import sign_in, wait

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

    from tests.fixtures.auth import TestUser
    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer

BACKGROUND = "return getComputedStyle(document.body).backgroundColor;"
# The focused element: its tag, text, and its outline's style and width in CSS pixels.
FOCUSED = """
const element = document.activeElement, style = getComputedStyle(element);
return [element.tagName, element.name || element.innerText || element.id, style.outlineStyle,
        parseFloat(style.outlineWidth)];
"""
# Each filter field: its name, its font weight and its label's, and whether its placeholder fits its text box
# (measured in the field's own font).
FILTER_FIELDS = """
const canvas = document.createElement('canvas').getContext('2d');
return [...document.querySelectorAll('form.filters select, form.filters input')].map(field => {
  const style = getComputedStyle(field);
  canvas.font = style.font;
  const room = field.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const fits = !field.placeholder || canvas.measureText(field.placeholder).width <= room;
  return [field.name, style.fontWeight, getComputedStyle(field.closest('label')).fontWeight, fits];
});
"""


async def _staff(live_server: LiveServer, mailbox: Mailbox, db_url: str, role: str) -> TestUser:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as api:
        user = await create_user(api, mailbox)
    await change_role(db_url, user.email, role, grant=True)
    return user


def _signed_in(browser: WebDriver, url: str, user: TestUser) -> None:
    sign_in(browser, url, user)
    wait(browser).until(expected_conditions.url_to_be(f"{url}/console"))


def _tab(browser: WebDriver) -> list[object]:
    ActionChains(browser).send_keys(Keys.TAB).perform()
    return list(browser.execute_script(FOCUSED))


async def test_the_pages_follow_the_system_s_dark_setting(
    live_server: LiveServer, browser: WebDriver, mailbox: Mailbox, db_url: str
) -> None:
    _signed_in(browser, live_server.url, await _staff(live_server, mailbox, db_url, "agent"))
    light = browser.execute_script(BACKGROUND)

    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    )
    dark = browser.execute_script(BACKGROUND)
    dark_text = browser.execute_script("return getComputedStyle(document.querySelector('h1')).color;")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    browser.get("about:blank")

    assert light == "rgb(255, 255, 255)"
    assert dark == "rgb(21, 24, 29)"
    assert dark_text == "rgb(230, 233, 238)"  # light text on the dark background


async def test_tab_reaches_the_skip_link_first_then_the_page_s_controls_with_a_thick_outline(
    live_server: LiveServer, browser: WebDriver, mailbox: Mailbox, db_url: str
) -> None:
    agent = await _staff(live_server, mailbox, db_url, "agent")
    browser.get(f"{live_server.url}/console/login")
    at_sign_in = browser.execute_script("return document.activeElement.id;")
    _signed_in(browser, live_server.url, agent)
    browser.get(f"{live_server.url}/console")  # a fresh load: nothing focused yet

    skip = _tab(browser)
    ActionChains(browser).send_keys(Keys.ENTER).perform()  # skip the navigation
    first_control = _tab(browser)
    browser.get("about:blank")

    assert at_sign_in == "login"  # the sign-in page starts in its first field (docs/console.md, "Keyboard use")
    assert skip[:3] == ["A", "Skip to content", "solid"]
    assert float(str(skip[3])) >= 2
    assert first_control[0] == "SELECT"
    assert first_control[1] == "status"  # the queue's first filter, past the navigation and sign-out
    assert first_control[2] == "solid"
    assert float(str(first_control[3])) >= 2


async def test_filter_fields_are_in_normal_weight_and_show_their_placeholders_whole(
    live_server: LiveServer, browser: WebDriver, mailbox: Mailbox, db_url: str
) -> None:
    _signed_in(browser, live_server.url, await _staff(live_server, mailbox, db_url, "admin"))
    queue = browser.execute_script(FILTER_FIELDS)
    browser.find_element(By.LINK_TEXT, "Users").click()
    wait(browser).until(expected_conditions.url_contains("/console/admin/users"))
    users = browser.execute_script(FILTER_FIELDS)
    browser.get("about:blank")

    assert [name for name, *_rest in queue] == ["status", "category", "priority", "q"]
    assert [name for name, *_rest in users] == ["q", "role"]
    for name, weight, label_weight, fits in queue + users:
        assert (weight, label_weight) == ("400", "600"), name  # the label bold, what is chosen or typed not
        assert fits, f"the placeholder of {name} is cut off"


async def test_console_pages_load_without_errors_in_the_browser_console(
    live_server: LiveServer, browser: WebDriver, mailbox: Mailbox, db_url: str
) -> None:
    admin = await _staff(live_server, mailbox, db_url, "admin")
    browser.get(f"{live_server.url}/console/login")
    _signed_in(browser, live_server.url, admin)
    for link in ("Knowledge review", "Users", "Queue"):
        browser.find_element(By.LINK_TEXT, link).click()
        wait(browser).until(expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "h1"), link.split()[0]))
    icon = browser.execute_script("return document.querySelector('link[rel=icon]')?.href;")
    browser.get("about:blank")
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]

    assert errors == []  # no 404 for /favicon.ico, no CSP violation, no script error
    assert icon.startswith(f"{live_server.url}/console/static/favicon.svg")
