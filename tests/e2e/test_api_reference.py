"""The "API" link of the main menu opens a readable reference in a real browser, in English and
in French: no script or style refused by the site's CSP (the page fixture fails on any console
error), axe-clean, and its contents reachable from the keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import check

TITLES = {"en": ("API", "API reference", "Schemas"), "fr": ("API", "Référence de l'API", "Schémas")}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_api_link_opens_the_reference(page: Page, live_server: str, lang: str) -> None:
    menu, heading, schemas = TITLES[lang]
    page.goto(f"{live_server}/?lang={lang}")
    page.get_by_role("navigation", name="Main" if lang == "en" else "Principal").get_by_role(
        "link", name=menu, exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(
        page.get_by_role("heading", name="GET /api/v1/opportunities", exact=True)
    ).to_be_visible()
    check(page, f"{lang}-api-reference")

    contents = page.get_by_role("navigation", name="Contents" if lang == "en" else "Sommaire")
    contents.get_by_role("link", name=schemas).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=2, name=schemas)).to_be_in_viewport()
