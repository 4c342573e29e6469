"""Atom feeds of new opportunities: globally and for any search of the listing, in the reader's
language, advertised on the listing; drafts never appear."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models.base import utcnow
from tests.support.factories import make_opportunity, make_team

ATOM_NS = "{http://www.w3.org/2005/Atom}"


def _feed(client: TestClient, query: str) -> ElementTree.Element:
    response = client.get(f"/opportunities.atom{query}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)  # noqa: S314 - the app's own output
    assert feed.tag == f"{ATOM_NS}feed"
    return feed


def _entries(client: TestClient, query: str) -> list[ElementTree.Element]:
    return _feed(client, query).findall(f"{ATOM_NS}entry")


def _titles(client: TestClient, query: str = "") -> list[str]:
    return [entry.findtext(f"{ATOM_NS}title", "") for entry in _entries(client, query)]


def _seed(db: Session) -> None:
    now = utcnow()
    forms = make_team(db, slug="forms", name="Forms")
    data = make_team(db, slug="data", name="Data")
    make_opportunity(
        db,
        forms,
        state="published",
        title="Older python fix",
        title_fr="Ancien correctif python",
        amount_cents=50_000,
        skills=("python",),
        published_at=now - timedelta(days=2),
    )
    make_opportunity(
        db,
        forms,
        state="evaluating",
        title="Big python feature",
        amount_cents=150_000,
        skills=("python",),
        published_at=now - timedelta(days=1),
    )
    make_opportunity(
        db, data, state="published", title="Go exporter", amount_cents=150_000, skills=("go",)
    )
    make_opportunity(db, forms, state="draft", title="Secret draft python", skills=("python",))
    make_opportunity(db, forms, state="in_peer_review", title="Secret python under review")
    db.commit()


def test_the_global_feed_lists_published_work_newest_first_and_never_a_draft(
    client: TestClient, db: Session
) -> None:
    _seed(db)
    assert _titles(client) == ["Go exporter", "Big python feature", "Older python fix"]
    entry = _entries(client, "")[0]
    link = entry.find(f"{ATOM_NS}link")
    assert link is not None
    assert link.get("href") == entry.findtext(f"{ATOM_NS}id")
    assert "/opportunities/" in link.get("href", "")
    assert entry.findtext(f"{ATOM_NS}author/{ATOM_NS}name") == "Data"
    assert [c.get("term") for c in entry.findall(f"{ATOM_NS}category")] == ["go"]


def test_the_listings_filters_apply_to_the_feed(client: TestClient, db: Session) -> None:
    _seed(db)
    assert _titles(client, "?skill=python") == ["Big python feature", "Older python fix"]
    assert _titles(client, "?team=forms&state=published") == ["Older python fix"]
    assert _titles(client, "?amount_min=1000") == ["Go exporter", "Big python feature"]
    assert _titles(client, "?q=python&amount_max=600") == ["Older python fix"]
    assert _titles(client, "?q=secret") == []
    # The listing's sort and page are not the feed's: it is always the newest first.
    assert _titles(client, "?sort=amount_low&cursor=nonsense") == _titles(client)


def test_entries_are_in_the_feeds_language(client: TestClient, db: Session) -> None:
    _seed(db)
    feed = _feed(client, "?lang=fr&team=forms")
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    titles = [e.findtext(f"{ATOM_NS}title") for e in feed.findall(f"{ATOM_NS}entry")]
    # A French title when the team wrote one, the English one otherwise.
    assert titles == ["Big python feature", "Ancien correctif python"]
    assert feed.findtext(f"{ATOM_NS}title") == "Échange Dev : nouvelles occasions"


class _HeadLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.in_head = False
        self.links: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        elif tag == "link" and self.in_head:
            self.links.append({name: value or "" for name, value in attrs})

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False


def test_the_listing_advertises_the_feed_of_its_search(client: TestClient, db: Session) -> None:
    _seed(db)
    page = client.get(
        "/opportunities?skill=python&state=published&state=evaluating&sort=amount_low"
    )
    head = _HeadLinks()
    head.feed(page.text)
    feeds = [link for link in head.links if link.get("type") == "application/atom+xml"]
    assert len(feeds) == 1
    assert feeds[0]["rel"] == "alternate"
    assert feeds[0]["title"]
    href = urlsplit(feeds[0]["href"])
    assert href.path == "/opportunities.atom"
    assert parse_qs(href.query) == {
        "skill": ["python"],
        "state": ["published", "evaluating"],
        "lang": ["en"],
    }
    # What the link names is what the page lists.
    assert _titles(client, f"?{href.query}") == ["Big python feature", "Older python fix"]


def test_the_unfiltered_listing_advertises_the_global_feed(client: TestClient) -> None:
    head = _HeadLinks()
    head.feed(client.get("/opportunities?lang=fr").text)
    hrefs = [link["href"] for link in head.links if link.get("type") == "application/atom+xml"]
    assert hrefs == ["/opportunities.atom?lang=fr"]


def test_a_team_page_advertises_the_feed_of_its_opportunities(
    client: TestClient, db: Session
) -> None:
    team = make_team(db, slug="cds")
    make_opportunity(db, team, state="published", title="Ours")
    make_opportunity(db, make_team(db), state="published", title="Theirs")
    db.commit()
    page = client.get("/teams/cds?lang=fr")
    advertised = re.search(
        r'<link rel="alternate" type="application/atom\+xml" title="[^"]+" href="([^"]+)"',
        page.text,
    )
    assert advertised
    titles = [
        entry.findtext(f"{ATOM_NS}title")
        for entry in _entries(client, advertised.group(1).replace("&amp;", "&").split(".atom")[1])
    ]
    assert titles == ["Ours"]
    assert parse_qs(urlsplit(advertised.group(1).replace("&amp;", "&")).query)["lang"] == ["fr"]
