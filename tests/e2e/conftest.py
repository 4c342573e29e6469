"""Real Chromium (Debian's package) driven by Playwright against a real server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from app.config import Settings
from app.main import create_app
from tests.support.server import ThreadedServer

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


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


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
