"""Real Chromium (Debian's package) driven by Playwright against a real server."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from app.config import Environment, Settings
from app.main import create_app
from tests.support.server import ThreadedServer

OWN_4XX = re.compile(r"the server responded with a status of 4\d\d ")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "Chromium is not installed. `make test` installs Debian's `chromium` "
            "package when run as root; otherwise run `apt-get install chromium`."
        )
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture
def live_server(settings: Settings, engine: object) -> Iterator[str]:
    server = ThreadedServer(create_app(settings)).start()
    yield server.url
    server.stop()


def local_mode_server(settings: Settings) -> tuple[ThreadedServer, Settings]:
    """The app as `make run` serves it: local mode, no Stripe keys (the simulated gateway),
    jobs inside the web process; started, with the settings it runs with."""
    local = settings.model_copy(
        update={
            "env": Environment.LOCAL,
            "stripe_secret_key": "",
            "stripe_api_base": "",
            "run_jobs_in_process": True,
            "job_interval_seconds": 0.5,
        }
    )
    server = ThreadedServer(create_app(local))
    # Return addresses (the simulated onboarding and checkout, links in the narration) point
    # at this server.
    local.base_url = server.url
    # The jobs loop starts with the app's lifespan, as under `devex serve`.
    server.server.config.lifespan = "on"
    server.start()
    return server, local


@pytest.fixture
def context_options() -> dict[str, Any]:
    """The browser's settings; a test module overrides this fixture to read as someone else."""
    return {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def page(browser: Browser, context_options: dict[str, Any]) -> Iterator[Page]:
    """A fresh page; the test fails if any page it showed threw or logged an error, because a
    broken script breaks the page for its readers even when everything asserted still holds."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A page that answers 4xx on purpose (a 404 page, a form shown again with 422) makes the
        # browser log its own status; that is the page working, not an error in it.
        own_status = message.location["url"] == page.url and OWN_4XX.search(message.text)
        if message.type == "error" and not own_status:
            problems.append(f"{page.url}: console: {message.text} ({message.location['url']})")

    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    page.on("console", on_console)
    yield page
    context.close()
    if problems:
        pytest.fail("errors in the browser:\n" + "\n".join(problems))


def sign_in_as(page: Page, base: str, shown_name: str, lang: str = "en") -> None:
    """The local demo sign-in, as a person would use it."""
    page.goto(f"{base}/demo-sign-in?lang={lang}")
    page.get_by_label(shown_name, exact=False).check()
    page.locator("main form button[type=submit]").click()


AXE = Axe()


def check(page: Page, name: str) -> None:
    """No axe-core violation on the page as it is now; a screenshot for people to look at."""
    results = AXE.run(page)
    violations = [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in results.response["violations"]
    ]
    assert not violations, f"{name} ({page.url}):\n" + "\n".join(violations)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
