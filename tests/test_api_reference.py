"""The API reference behind the main menu's "API" link (issue 14, defect 3): it was Swagger UI,
whose script and styles came from a CDN and which ran an inline script, all refused by the site's
own Content-Security-Policy, so the page stayed blank. It must load nothing from elsewhere and
run no inline script or style, and it lists every operation, in English and in French."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

# A few operations people use most, written here rather than read from the app.
KNOWN_OPERATIONS = [
    "GET /api/v1/opportunities",
    "GET /api/v1/opportunities/{opportunity_id}",
    "POST /api/v1/teams/{slug}/opportunities",
    "PUT /api/v1/opportunities/{opportunity_id}/proposal",
    "POST /api/v1/opportunities/{opportunity_id}/award",
    "GET /api/v1/me",
]


class Assets(HTMLParser):
    """What a page asks the browser to load or run, as the CSP sees it."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self.scripts.append(found.get("src") or "")
            self._in_script = True
        if tag == "link" and found.get("rel") == "stylesheet":
            self.stylesheets.append(found.get("href") or "")
        if tag == "style":
            self.inline.append("<style>")
        handlers = [name for name, _v in attrs if name == "style" or name[:2] == "on"]
        self.inline += [f"{tag} {name}" for name in handlers]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"<script>{data.strip()[:40]}")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_api_page_loads_only_the_sites_own_assets_and_lists_every_operation(
    client: TestClient, lang: str
) -> None:
    home = client.get(f"/?lang={lang}")
    assert 'href="/api/v1/docs"' in home.text  # the main menu's "API" link
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'<html lang="{lang}">' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]

    assets = Assets()
    assets.feed(page.text)
    assert assets.scripts
    assert all(src.startswith("/static/") for src in assets.scripts)
    assert assets.stylesheets
    assert all(h.startswith("/static/") for h in assets.stylesheets)
    assert not assets.inline

    assert 'href="/api/v1/openapi.json"' in page.text
    document = client.get("/api/v1/openapi.json").json()
    listed = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
    ]
    assert set(KNOWN_OPERATIONS) <= set(listed)
    for operation in listed:
        assert f"<code>{operation}</code>" in page.text, operation


def test_the_french_page_is_in_french_and_marks_the_english_it_quotes(
    client: TestClient,
) -> None:
    page = html.unescape(client.get("/api/v1/docs?lang=fr").text)
    assert "<h1>Référence de l'API</h1>" in page
    assert "Qui peut l'appeler" in page
    # Operation summaries come from the code, in English.
    assert '<p lang="en">List and search public opportunities</p>' in page
    english = client.get("/api/v1/docs?lang=en").text
    assert "<p>List and search public opportunities</p>" in english
