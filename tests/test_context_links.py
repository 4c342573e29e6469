"""Issue 14, defect 1: a context link is a web address (http or https), whichever way it is
written (the team's form or the API), so no page ever carries a `javascript:` or `data:` link."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Opportunity
from app.models.base import utcnow
from app.text import render_markdown
from tests.support.factories import make_opportunity, make_team, make_user
from tests.support.web import csrf_token, post_form, sign_in

# Each of these would run script, show a forged page or lead nowhere when a bidder clicks it.
NOT_WEB_ADDRESSES = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "ftp://example.org/file",
    "//evil.example/page",
    "/relative/path",
    "https://",
    "https://exa mple.org/",
    "https://example.org/\x07bell",
]


def _form(links: str) -> dict[str, str]:
    return {
        "title": "Links are checked",
        "amount": "1000",
        "proposal_deadline": (utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"),
        "context_links": links,
        "license_spdx": "MIT",
    }


@pytest.mark.parametrize("bad", NOT_WEB_ADDRESSES)
def test_the_form_refuses_a_link_that_is_not_a_web_address(
    client: TestClient, db: Session, bad: str
) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    draft = make_opportunity(db, team, context_links="https://example.org/kept")
    db.commit()
    sign_in(client, editor)

    links = f"https://example.org/fine\n{bad}"
    created = post_form(client, f"/teams/{team.slug}/opportunities/new", _form(links))
    assert created.status_code == 422
    assert "is not a web address" in created.text
    assert db.scalar(select(Opportunity).where(Opportunity.title == "Links are checked")) is None

    edited = post_form(client, f"/opportunities/{draft.id}/edit", _form(links))
    assert edited.status_code == 422
    db.refresh(draft)
    assert draft.context_links == "https://example.org/kept"


def test_the_form_explains_the_refusal_in_french(client: TestClient, db: Session) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, editor)
    client.get("/?lang=fr")
    response = post_form(
        client, f"/teams/{team.slug}/opportunities/new", _form("javascript:alert(1)")
    )
    assert response.status_code == 422
    assert "pas une adresse Web" in response.text


def test_the_form_keeps_web_addresses(client: TestClient, db: Session) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, editor)
    links = (
        "https://example.org/a\r\n\r\n  HTTP://Example.org/b?x=1#top  \r\nhttps://exemple.québec/c"
    )
    response = post_form(client, f"/teams/{team.slug}/opportunities/new", _form(links))
    assert response.status_code == 303, response.text
    stored = db.scalars(select(Opportunity.context_links)).one()
    assert stored.splitlines() == [
        "https://example.org/a",
        "HTTP://Example.org/b?x=1#top",
        "https://exemple.québec/c",
    ]


def test_the_api_refuses_the_same_links_with_a_problem(client: TestClient, db: Session) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, editor)
    headers = {"x-csrftoken": csrf_token(client)}
    url = f"/api/v1/teams/{team.slug}/opportunities"
    body = {
        "title": "Via API",
        "amount_cents": 120_000,
        "proposal_deadline": (utcnow() + timedelta(days=3)).isoformat(),
    }
    for bad in ("javascript:alert(1)", "data:text/html,<script>alert(1)</script>"):
        refused = client.post(url, json={**body, "context_links": [bad]}, headers=headers)
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert "is not a web address" in refused.json()["errors"]["context_links"]
    too_many = [f"https://example.org/{n}" for n in range(21)]
    refused = client.post(url, json={**body, "context_links": too_many}, headers=headers)
    assert refused.status_code == 422
    accepted = client.post(
        url, json={**body, "context_links": ["https://example.org/data"]}, headers=headers
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["context_links"] == ["https://example.org/data"]
    assert db.scalars(select(Opportunity)).one().title == "Via API"


class _Addresses(HTMLParser):
    """Every address an element of the page carries (not text that merely looks like one)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        self.found += [value or "" for name, value in attrs if name in ("href", "src")]


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        "<javascript:alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "![x](data:image/svg+xml;base64,PHN2Zz4=)",
        "[x]: javascript:alert(1)\n\n[y][x]",
    ],
)
def test_markdown_never_carries_a_script_or_data_address(source: str) -> None:
    parser = _Addresses()
    parser.feed(str(render_markdown(f"{source} [fine](https://example.org/)")))
    assert "https://example.org/" in parser.found  # the parser does see real links
    schemes = {urlsplit(address).scheme.lower() for address in parser.found}
    assert schemes <= {"http", "https", "mailto", ""}, parser.found
