"""Render the support console's screenshots for docs/console.md: real pages in a real browser, on realistic demo data.

    .venv/bin/python scripts/console_screenshots.py [--out docs/screenshots]

Starts a private embedded PostgreSQL in a temporary data dir, imports the seed articles about Outlook, VPNs,
printers, Teams, OneDrive and Excel, serves the app on a free port, and fills it through the real API as people
would: six people register and confirm their address (an agent and an admin among them), send tickets (one with a
screenshot of Outlook's error, all with device details) and get the server's own retrieval-only answers citing the
seed articles (no AI key); the Outlook ticket's answer is then replaced by a short one as a configured AI model
writes it, citing two of those articles. Two users say "Still broken", an agent takes one ticket and replies to
another, and two fixes wait for review (a new article, and an addition to a seed article). Then headless Chromium —
Debian's ``chromium`` and ``chromium-driver``, as the browser tests use; nothing is downloaded — signs in as the
agent and the admin and saves ``console-queue.png``, ``console-ticket.png`` and ``console-review.png``. Nothing
outside the temporary folder is touched but those three files. Takes about 15 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import lzma
import re
import shutil
import sys
import tempfile
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402 - after the checkout is on the path
import uvicorn  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from server.app import create_app  # noqa: E402
from server.domain.accounts.cli import change_role  # noqa: E402
from server.domain.knowledge.embeddings import build_embedder  # noqa: E402
from server.domain.knowledge.growth import add_resolution  # noqa: E402
from server.domain.knowledge.seed import SEED_CORPUS  # noqa: E402
from server.domain.knowledge.services import import_file  # noqa: E402
from server.runtime import database, prepare  # noqa: E402
from server.settings import LogSettings, Settings  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from selenium.webdriver.remote.webdriver import WebDriver

DEFAULT_OUT = ROOT / "docs" / "screenshots"
FONTS = Path("/usr/share/fonts/truetype/dejavu")
WINDOW = (1366, 860)  # a 13" laptop's browser window, as the browser tests use
MAX_HEIGHT = 2000  # a taller page is cut here: the picture shows its top
PASSWORD = "violet-harbour-lantern-42"  # noqa: S105 - the demo accounts' password, gone with the demo
TOPICS = re.compile(r"outlook|vpn|printer|teams|onedrive|excel", re.IGNORECASE)
WINDOWS_LAPTOP = {"os": "Windows", "os_version": "11 23H2", "cpu": "Intel Core i5-1245U", "ram_gb": 16,
                  "free_disk_gb": 41.5, "network": "online"}  # fmt: skip

# People: (name, username), e-mail at fabrikam.com.
PEOPLE = {
    "margot": ("Margot Fairweather", "mfairweather"),
    "olu": ("Olu Bankole", "obankole"),
    "keiko": ("Keiko Tanaka", "ktanaka"),
    "dmitri": ("Dmitri Volkov", "dvolkov"),
    "sam": ("Sam Okafor", "sokafor"),
    "priya": ("Priya Raman", "praman"),
}
OUTLOOK = (
    "Outlook keeps asking for my password since this morning, and now it says it cannot open the set of folders. "
    "I already restarted the laptop twice."
)
OUTLOOK_STILL_BROKEN = "I removed the saved passwords as the answer said, but it still asks every few minutes."
DRAFT_REPLY = (
    "Thanks, Margot — that rules out the saved password. Your mailbox moved to the new server last night, so "
    "Outlook needs a fresh profile:\n\n"
    "1. Close Outlook.\n"
    "2. Open **Control Panel → Mail → Show Profiles** and choose **Add**.\n"
    "3. Sign in with your work address and set the new profile to *Always use this profile*.\n\n"
    "Your mail and calendar download again within a few minutes."
)
NEW_FIX = {
    "title": "Zebra label printer prints garbled barcodes after a driver update",
    "symptoms": "The ZD421 label printer in the warehouse prints garbled barcodes since Windows installed a new "
    "driver. Test pages from the printer's own menu are fine.",
    "resolution": "Uninstalled the driver Windows Update installed, reinstalled the ZDesigner driver 8.6 from "
    "Zebra's site, then ran **Calibrate media** from the printer's toolbox.",
}
# The Outlook ticket's answer as a configured AI model writes it, citing two seed articles by their titles.
OUTLOOK_ANSWER = (
    "This looks like Outlook holding on to an old sign-in for your Microsoft 365 mailbox [1].\n\n"
    "1. Close Outlook and open **Credential Manager** → *Windows Credentials*.\n"
    "2. Remove the entries that start with `MicrosoftOffice16` and `Outlook`.\n"
    "3. Start Outlook again and sign in once.\n\n"
    "If Outlook still says it cannot open the set of folders, your mail profile needs to be created again [2]."
)
OUTLOOK_CITED = (
    "Outlook continually prompts for your password when you try to connect to Microsoft 365",
    "Password prompt at every Outlook start or can't create profile",
)
_MODEL_ANSWER = text(
    "UPDATE ticket_messages SET content = :content, citations = ("
    "  SELECT jsonb_agg(jsonb_build_object('number', w.n, 'article_id', a.id::text, 'source_id', a.source_id,"
    "    'title', a.title, 'source_url', a.source_url) ORDER BY w.n)"
    "  FROM kb_articles a JOIN (VALUES (1, :first), (2, :second)) AS w(n, title) ON a.title = w.title)"
    " WHERE ticket_id = CAST(:ticket AS uuid) AND role = 'assistant'"
)
ADDITION = (
    "Signing out of every Office app (File → Account → Sign out), deleting the *MicrosoftOffice16* entries in "
    "Credential Manager and signing in again once fixed it for me."
)


def seed_subset(directory: Path) -> Path:
    """The seed articles about the demo's topics, as a JSONL file of their own; the ones the demo cites."""
    subset = directory / "demo-seed.jsonl"
    with lzma.open(SEED_CORPUS, "rt", encoding="utf-8") as corpus, subset.open("w", encoding="utf-8") as out:
        for line in corpus:
            if line.strip() and TOPICS.search(json.loads(line)["title"]):
                out.write(line)
    return subset


def seed_article(subset: Path, title: str) -> dict[str, Any]:
    """The seed article with ``title``."""
    with subset.open(encoding="utf-8") as lines:
        return next(record for line in lines if (record := json.loads(line))["title"] == title)


def outlook_error_png() -> bytes:
    """A region capture of Outlook's start-up error, a strip of the desktop around it, as a user would take it."""
    font = ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), 15)
    bold = ImageFont.truetype(str(FONTS / "DejaVuSans-Bold.ttf"), 15)
    img = Image.new("RGB", (640, 290), (32, 86, 140))
    draw = ImageDraw.Draw(img)
    left, top = 30, 30
    draw.rectangle((left, top, left + 580, top + 220), fill=(255, 255, 255), outline=(120, 120, 120))
    draw.rectangle((left, top, left + 580, top + 34), fill=(0, 114, 198))
    draw.text((left + 14, top + 8), "Microsoft Outlook", font=bold, fill="white")
    draw.ellipse((left + 24, top + 62, left + 60, top + 98), fill=(196, 43, 28))
    draw.text((left + 36, top + 68), "✕", font=bold, fill="white")
    lines = ["Cannot start Microsoft Outlook. Cannot open the set of folders.",
             "The information store could not be opened.", "",
             "Error 0x8004011D: the server is not available."]  # fmt: skip
    for i, line in enumerate(lines):
        draw.text((left + 80, top + 62 + i * 24), line, font=font, fill=(20, 20, 20))
    draw.rectangle((left + 470, top + 174, left + 560, top + 204), outline=(0, 114, 198), width=2)
    draw.text((left + 503, top + 180), "OK", font=font, fill=(20, 20, 20))
    data = io.BytesIO()
    img.save(data, "PNG")
    return data.getvalue()


# ------------------------------------------------------------------------------------------ the server
@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The app for ``settings`` on a free port, in a thread; its URL."""
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not (server.started and server.servers):
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class Demo:
    """The demo's people and tickets, made through the API as the desktop app makes them."""

    def __init__(self, http: httpx.Client, outbox: Path, database_url: str) -> None:
        self.http = http
        self.outbox = outbox
        self.database_url = database_url
        self.tokens: dict[str, str] = {}

    def person(self, key: str, role: str | None = None) -> None:
        """Register, confirm the address from the mail, sign in; give ``role`` if any."""
        name, username = PEOPLE[key]
        email = f"{username}@fabrikam.com"
        body = {"name": name, "email": email, "username": username, "password": PASSWORD, "age_confirmed": True}
        self.http.post("/api/v1/auth/register", json=body).raise_for_status()
        self.http.post("/api/v1/auth/verify-email", json={"token": self._verify_token(email)}).raise_for_status()
        if role is not None:
            asyncio.run(change_role(self.database_url, email, role, grant=True))
        login = {"login": email, "password": PASSWORD, "device_name": "Tech Pal on FAB-LT-0231"}
        self.tokens[key] = self.http.post("/api/v1/auth/login", json=login).raise_for_status().json()["access_token"]

    def _verify_token(self, email: str) -> str:
        for path in sorted(self.outbox.glob("*.eml"), reverse=True):
            mail = message_from_bytes(path.read_bytes(), policy=policy.default)
            body = mail.get_body(("plain",)) if mail["To"] == email else None
            found = re.search(r"https?://\S+/verify-email\?\S+", body.get_content()) if body is not None else None
            if found is not None:
                return parse_qs(urlsplit(found.group(0)).query)["token"][0]
        raise SystemExit(f"no confirmation mail to {email}")

    def headers(self, key: str) -> dict[str, str]:
        """The bearer header of ``key``'s session."""
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    def ticket(
        self, key: str, description: str, *, screenshot: bytes | None = None, priority: str = "normal", **device: Any
    ) -> str:
        """A new ticket from ``key`` (``device`` overrides fields of :data:`WINDOWS_LAPTOP`); its id."""
        files: list[tuple[str, Any]] = [("description", (None, description)), ("priority", (None, priority)),
                                        ("device", (None, json.dumps({**WINDOWS_LAPTOP, **device})))]  # fmt: skip
        if screenshot is not None:
            files.append(("screenshots", ("screenshot.png", screenshot, "image/png")))
        created = self.http.post("/api/v1/tickets", files=files, headers=self.headers(key))
        return str(created.raise_for_status().json()["id"])

    def answer(self, key: str, ticket_id: str) -> None:
        """Let the server answer the ticket (the whole stream read, as the app does)."""
        with self.http.stream("POST", f"/api/v1/tickets/{ticket_id}/resolve", headers=self.headers(key)) as answer:
            answer.raise_for_status()
            for _ in answer.iter_lines():
                pass

    def still_broken(self, key: str, ticket_id: str, comment: str | None = None) -> None:
        """The owner's "Still broken": the ticket is escalated to the agents."""
        feedback = {"resolved": False, "comment": comment}
        self.http.post(
            f"/api/v1/tickets/{ticket_id}/feedback", json=feedback, headers=self.headers(key)
        ).raise_for_status()

    def agent_reply(self, key: str, ticket_id: str, content: str) -> None:
        """An agent's reply through the JSON staff route."""
        url = f"/api/v1/agent/tickets/{ticket_id}/reply"
        self.http.post(url, json={"content": content}, headers=self.headers(key)).raise_for_status()


async def import_seed(database_url: str, subset: Path) -> None:
    """Import the demo's seed articles (published, with their precomputed vectors)."""
    engine = create_async_engine(database_url)
    try:
        await import_file(engine, subset, origin="seed")
    finally:
        await engine.dispose()


async def as_a_model_answers(database_url: str, ticket_id: str) -> None:
    """Replace the retrieval-only answer of ``ticket_id`` with :data:`OUTLOOK_ANSWER` and its two citations."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            first, second = OUTLOOK_CITED
            await connection.execute(_MODEL_ANSWER, {"content": OUTLOOK_ANSWER, "first": first, "second": second,
                                                     "ticket": ticket_id})  # fmt: skip
    finally:
        await engine.dispose()


async def waiting_for_review(database_url: str, subset: Path) -> None:
    """A new article and an addition to a seed article, as confirmed fixes leave them (anonymized, pending)."""
    engine = create_async_engine(database_url)
    embedder = build_embedder("local")
    target = seed_article(
        subset, "Outlook continually prompts for your password when you try to connect to Microsoft 365"
    )
    author = {"user_name": "Keiko Tanaka", "username": "ktanaka", "email": "ktanaka@fabrikam.com"}
    try:
        for fix in ({"title": target["title"], "symptoms": target["symptoms"], "resolution": ADDITION}, NEW_FIX):
            await add_resolution(engine, **fix, **author, embedder=embedder, auto_publish=False)
    finally:
        await engine.dispose()


# ------------------------------------------------------------------------------------------ the browser
def chromium() -> WebDriver:
    """Headless Debian Chromium through the system chromedriver (Selenium Manager never runs)."""
    from selenium import webdriver  # noqa: PLC0415 - only this part needs it
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        raise SystemExit("needs chromium and chromium-driver: run `make gui-deps`")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}", "--force-prefers-reduced-motion",
                     "--hide-scrollbars"):  # fmt: skip
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


def wait_until(driver: WebDriver, condition: Callable[[WebDriver], Any]) -> Any:
    """Wait for ``condition`` on the page (10 s)."""
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    return WebDriverWait(driver, 10).until(condition)


def sign_in(driver: WebDriver, url: str, key: str) -> None:
    """Sign in through the console's form."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    driver.delete_all_cookies()
    driver.get(f"{url}/console/login")
    driver.find_element(By.ID, "login").send_keys(f"{PEOPLE[key][1]}@fabrikam.com")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_until(driver, lambda d: d.current_url == f"{url}/console")


def save(driver: WebDriver, path: Path, *, whole_page: bool) -> None:
    """Save the window (or the page, up to MAX_HEIGHT) as a small PNG."""
    driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
    if whole_page:
        height = driver.execute_script("return document.documentElement.scrollHeight;")
        driver.set_window_size(WINDOW[0], min(int(height) + 90, MAX_HEIGHT))
    png = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    # 256 colours, undithered: text stays crisp and the file a third of the size.
    png.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, "PNG", optimize=True)
    driver.set_window_size(*WINDOW)
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size // 1024} KB")


def photograph(url: str, out: Path, *, outlook_ticket: str, assigned_ticket: str) -> None:
    """The three pictures: the agent's queue and a ticket with a draft reply, the admin's review page.

    First the agent takes ``assigned_ticket`` ("Assign to me"), so the queue shows who works on what.
    """
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    driver = chromium()
    try:
        sign_in(driver, url, "sam")
        driver.get(f"{url}/console/tickets/{assigned_ticket}")
        driver.find_element(By.XPATH, "//button[normalize-space()='Assign to me']").click()
        wait_until(driver, lambda d: "assigned to Sam Okafor" in d.find_element(By.CLASS_NAME, "facts").text)
        driver.get(f"{url}/console")
        save(driver, out / "console-queue.png", whole_page=False)
        driver.get(f"{url}/console/tickets/{outlook_ticket}")
        wait_until(driver, lambda d: d.execute_script("return document.querySelector('.screenshots img').naturalWidth"))
        driver.find_element(By.ID, "reply-content").send_keys(DRAFT_REPLY)
        driver.find_element(By.XPATH, "//button[normalize-space()='Preview']").click()
        wait_until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#reply-preview .preview"))
        save(driver, out / "console-ticket.png", whole_page=True)
        sign_in(driver, url, "priya")
        driver.get(f"{url}/console/kb")
        save(driver, out / "console-review.png", whole_page=True)
    finally:
        driver.quit()


def fill(demo: Demo) -> tuple[str, str]:
    """The demo's people and tickets; the ids of the Outlook ticket and the VPN ticket."""
    for key in ("margot", "olu", "keiko", "dmitri"):
        demo.person(key)
    demo.person("sam", "agent")
    demo.person("priya", "admin")
    outlook = demo.ticket("margot", OUTLOOK, screenshot=outlook_error_png(), ram_gb=8)
    vpn = demo.ticket("olu", "The VPN drops every few minutes when I work from home (error 809).", priority="high",
                      os_version="11 22H2", network="limited")  # fmt: skip
    teams = demo.ticket("keiko", "Nobody hears me in Teams meetings, although my headset works in other apps.",
                        cpu="AMD Ryzen 7 PRO 6850U")  # fmt: skip
    excel = demo.ticket("dmitri", "Excel freezes when I open the quarterly budget workbook from OneDrive.",
                        priority="low")  # fmt: skip
    demo.ticket("olu", "The printer on the 3rd floor shows as offline for everyone in my team.", priority="high")
    for key, ticket_id in (("margot", outlook), ("olu", vpn), ("keiko", teams), ("dmitri", excel)):
        demo.answer(key, ticket_id)
    asyncio.run(as_a_model_answers(demo.database_url, outlook))
    demo.still_broken("olu", vpn)
    demo.still_broken("margot", outlook, OUTLOOK_STILL_BROKEN)
    demo.agent_reply("sam", teams, "Please check **Settings → Devices** in Teams: is your headset chosen as the "
                     "microphone?")  # fmt: skip
    return outlook, vpn


def main() -> None:
    """Build the demo, take the pictures, remove everything else."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the PNG files go")
    out = parser.parse_args().out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="techpal-console-demo-") as temporary:
        settings = Settings(data_dir=Path(temporary) / "data", log=LogSettings(level="warning", format="console"),
                            retention_rounds=False)  # fmt: skip
        with database(prepare(settings)) as ready:
            assert ready.db.url is not None
            database_url = ready.db.url.get_secret_value()
            subset = seed_subset(Path(temporary))
            asyncio.run(import_seed(database_url, subset))
            with serving(ready) as url, httpx.Client(base_url=url, timeout=120) as http:
                outlook, vpn = fill(Demo(http, ready.data_dir / "outbox", database_url))
                asyncio.run(waiting_for_review(database_url, subset))
                photograph(url, out, outlook_ticket=outlook, assigned_ticket=vpn)


if __name__ == "__main__":
    main()
