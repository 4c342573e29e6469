"""Participation metrics match figures computed here, independently, from the demo data: by raw
SQL over its tables and by the demo's own definitions (which work it takes to which state, who
bids, at what price), never through the metrics code."""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.config import Settings
from app.demo import OPPORTUNITIES, PRICE_PERCENT, load_demo_data

ALL = ""  # the CSV's team column for all teams
# The page's written definition of "on time": sent within a week of the verified merge.
ON_TIME = timedelta(days=7)
NOT_PUBLIC = {"draft", "in_peer_review"}


def _quarter(moment: datetime) -> str:
    return f"{moment.year}-Q{(moment.month + 2) // 3}"


def _days(waits: list[timedelta]) -> str:
    return (
        str(round(statistics.median(w.total_seconds() for w in waits) / 86400, 1)) if waits else ""
    )


@dataclass
class Expected:
    """One quarter's facts for one team (or all), gathered from raw rows."""

    posted: int = 0
    closed: int = 0
    proposals: int = 0
    bidders: set[int] = field(default_factory=set)
    award_waits: list[timedelta] = field(default_factory=list)
    payments: int = 0
    paid_cents: int = 0
    payment_waits: list[timedelta] = field(default_factory=list)

    def row(self) -> dict[str, str]:
        on_time = sum(1 for wait in self.payment_waits if wait <= ON_TIME)
        return {
            "opportunities_posted": str(self.posted),
            "closed_for_proposals": str(self.closed),
            "proposals": str(self.proposals),
            "proposals_per_opportunity": (
                str(round(self.proposals / self.closed, 2)) if self.closed else ""
            ),
            "unique_bidders": str(len(self.bidders)),
            "awards": str(len(self.award_waits)),
            "median_days_publish_to_award": _days(self.award_waits),
            "payments": str(self.payments),
            "median_days_merge_to_payment": _days(self.payment_waits),
            "total_paid_cents": str(self.paid_cents),
            "currency": "CAD",
            "paid_on_time": str(on_time),
            "share_paid_on_time_percent": (
                str(round(100 * on_time / len(self.payment_waits), 1)) if self.payment_waits else ""
            ),
        }


def _expected(db: Session) -> dict[tuple[str, str], Expected]:
    """Keyed by (quarter, team slug); every fact also counts for all teams."""
    facts: dict[tuple[str, str], Expected] = defaultdict(Expected)

    def each(moment: datetime, team: str) -> list[Expected]:
        return [facts[(_quarter(moment), team)], facts[(_quarter(moment), ALL)]]

    for published, closed, team in db.execute(
        text(
            "SELECT o.published_at, o.proposal_deadline <= now(), t.slug FROM opportunities o"
            " JOIN teams t ON t.id = o.team_id WHERE o.published_at IS NOT NULL"
        )
    ):
        for e in each(published, team):
            e.posted += 1
            e.closed += int(closed)
    for published, team, author in db.execute(
        text(
            "SELECT o.published_at, t.slug, p.author_user_id FROM proposals p"
            " JOIN opportunities o ON o.id = p.opportunity_id JOIN teams t ON t.id = o.team_id"
            " WHERE p.submitted_at IS NOT NULL AND p.state NOT IN ('draft', 'withdrawn')"
            " AND o.proposal_deadline <= now()"
        )
    ):
        for e in each(published, team):
            e.proposals += 1
            e.bidders.add(author)
    for published, awarded, team in db.execute(
        text(
            "SELECT o.published_at, a.awarded_at, t.slug FROM awards a"
            " JOIN opportunities o ON o.id = a.opportunity_id JOIN teams t ON t.id = o.team_id"
        )
    ):
        for e in each(awarded, team):
            e.award_waits.append(awarded - published)
    for merged, released, amount, team in db.execute(
        text(
            "SELECT (SELECT min(occurred_at) FROM audit_events e WHERE e.subject_type ="
            " 'opportunity' AND e.subject_id = o.id AND e.to_state = 'merged'),"
            " p.released_at, p.amount_cents, t.slug FROM payouts p"
            " JOIN opportunities o ON o.id = p.opportunity_id JOIN teams t ON t.id = o.team_id"
            " WHERE p.released_at IS NOT NULL AND p.state IN ('released', 'paid')"
        )
    ):
        for e in each(released, team):
            e.payments += 1
            e.paid_cents += amount
            if merged is not None:
                e.payment_waits.append(released - merged)
    return facts


@pytest.fixture
def demo(db: Session, settings: Settings) -> Session:
    load_demo_data(db, settings)
    db.commit()
    return db


def _csv(client: TestClient, query: str) -> list[dict[str, str]]:
    response = client.get(f"/metrics/participation.csv?{query}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _teams(db: Session) -> list[str]:
    return [ALL, *db.scalars(text("SELECT slug FROM teams ORDER BY slug"))]


def _current_quarter(db: Session) -> str:
    now = db.scalar(text("SELECT now()"))
    assert isinstance(now, datetime)
    return _quarter(now)


def test_metrics_match_figures_computed_from_the_raw_demo_data(
    demo: Session, client: TestClient
) -> None:
    expected = _expected(demo)
    assert expected, "the demo has facts to measure"
    for team in _teams(demo):
        rows = _csv(client, f"team={team}")
        assert [row["quarter"] for row in rows][-1] == _current_quarter(demo)
        for row in rows:
            assert row["team"] == team
            figures = {k: v for k, v in row.items() if k not in ("quarter", "team")}
            assert figures == expected[(row["quarter"], team)].row(), (row["quarter"], team)


def test_metrics_add_up_to_the_demos_own_story(demo: Session, client: TestClient) -> None:
    """Over the year shown (the demo's work all falls in it), for every team and for all."""
    public = [spec for spec in OPPORTUNITIES if spec.state not in NOT_PUBLIC]
    # Every state an award leads to (a missed delivery too: the work was awarded).
    awarded = {"awarded", "in_progress", "merged", "paid", "on_hold", "missed_delivery"}
    for team in _teams(demo):
        specs = [spec for spec in public if team in (ALL, spec.team)]
        paid = [spec for spec in specs if spec.state == "paid"]
        rows = _csv(client, f"team={team}")

        def total(column: str, rows: list[dict[str, Any]] = rows) -> int:
            return sum(int(row[column]) for row in rows)

        assert total("opportunities_posted") == len(specs)
        closed = [spec for spec in specs if spec.deadline_days < 0]
        assert total("closed_for_proposals") == len(closed)
        # Sealed until the deadline: the bids on open work are not counted.
        assert total("proposals") == sum(len(spec.bidders) for spec in closed)
        assert total("awards") == sum(1 for spec in specs if spec.state in awarded)
        assert total("payments") == len(paid)
        # The award goes to the evaluators' favourite, the first bidder, at its price.
        assert total("total_paid_cents") == sum(spec.dollars * PRICE_PERCENT[0] for spec in paid)
        # The demo pays its paid work at the merge.
        assert total("paid_on_time") == len(paid)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def ids(self) -> set[str]:
        return {attrs["id"] for _tag, attrs in self.tags if "id" in attrs}

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]


def test_the_page_charts_each_figure_with_a_text_alternative_and_its_table(
    demo: Session, client: TestClient
) -> None:
    quarter = _current_quarter(demo)
    response = client.get(f"/metrics/participation?quarter={quarter}&team=forms")
    assert response.status_code == 200
    page = _Page()
    page.feed(response.text)
    charts = page.all("svg")
    assert len(charts) == 7
    for chart in charts:
        assert chart["role"] == "img"
        assert chart["aria-labelledby"] in page.ids()
    for figure in page.all("figure"):
        assert figure["aria-labelledby"] in page.ids()
    assert len(page.all("figcaption")) == len(page.all("table")) == 7
    assert len(page.all("caption")) == 7
    labels = {attrs["for"] for attrs in page.all("label")}
    assert {"quarter", "team"} <= labels
    assert page.all("form")[0]["method"] == "get"
    assert f'<option value="{quarter}" selected>' in response.text
    assert '<option value="forms" selected>' in response.text
    assert f"/metrics/participation.csv?quarter={quarter}&amp;team=forms" in response.text
    # The definition of "on time" is written on the page.
    assert "within 7 days of the verified merge" in response.text


def test_a_choice_that_is_not_offered_is_reported_and_the_default_shown(
    demo: Session, client: TestClient
) -> None:
    response = client.get("/metrics/participation?quarter=1999-Q1&team=nobody&lang=fr")
    assert response.status_code == 200
    assert "1999-Q1" in response.text
    assert "nobody" in response.text
    assert f'<option value="{_current_quarter(demo)}" selected>' in response.text


def test_quarters_are_written_in_the_readers_language(demo: Session, client: TestClient) -> None:
    quarter = _current_quarter(demo)  # "2026-Q4": the identifier, in addresses and the CSV
    year, number = quarter.split("-Q")
    english = client.get(f"/metrics/participation?quarter={quarter}&lang=en").text
    french = client.get(f"/metrics/participation?quarter={quarter}&lang=fr").text
    assert f'<option value="{quarter}" selected>Q{number} {year}</option>' in english
    assert f'<option value="{quarter}" selected>T{number} {year}</option>' in french
    assert f'<th scope="row">T{number} {year}</th>' in french
