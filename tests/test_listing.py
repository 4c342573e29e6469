"""Public listing: search on both databases, filters, sorting, stable keyset pagination."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.db import make_engine
from app.models import Opportunity
from app.models.base import utcnow
from app.opportunities import repository
from app.opportunities.schemas import ListFilters, Sort
from tests.support.factories import make_opportunity, make_team


@pytest.fixture
def any_db(any_db_url: str) -> Iterator[Session]:
    engine = make_engine(any_db_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def _titles(page: repository.ListPage) -> list[str]:
    return [item.opportunity.title for item in page.items]


def test_search_finds_words_and_prefixes_on_both_databases(any_db: Session) -> None:
    team = make_team(any_db)
    make_opportunity(
        any_db,
        team,
        state="published",
        title="Accessible date picker",
        search_document="accessible date picker for screen readers",
    )
    make_opportunity(
        any_db,
        team,
        state="published",
        title="CSV export",
        search_document="export search results as csv",
    )
    make_opportunity(
        any_db,
        team,
        state="draft",
        title="Secret accessible draft",
        search_document="secret accessible draft",
    )
    any_db.commit()

    assert _titles(repository.list_public(any_db, ListFilters(q="accessib"))) == [
        "Accessible date picker"
    ]  # prefix match, and drafts never appear
    assert _titles(repository.list_public(any_db, ListFilters(q="screen readers"))) == [
        "Accessible date picker"
    ]
    assert _titles(repository.list_public(any_db, ListFilters(q="csv picker"))) == []
    # Punctuation and operators in a query are words, not syntax errors.
    assert _titles(repository.list_public(any_db, ListFilters(q="csv & | ! ' :*"))) == [
        "CSV export"
    ]


def test_filters_combine(any_db: Session) -> None:
    forms = make_team(any_db, slug="forms")
    data = make_team(any_db, slug="data")
    make_opportunity(
        any_db, forms, state="published", title="A", amount_cents=50_000, skills=("python",)
    )
    make_opportunity(
        any_db, forms, state="evaluating", title="B", amount_cents=150_000, skills=("python",)
    )
    make_opportunity(
        any_db, data, state="published", title="C", amount_cents=150_000, skills=("go",)
    )
    any_db.commit()

    def titles(**kw: object) -> set[str]:
        return set(_titles(repository.list_public(any_db, ListFilters.model_validate(kw))))

    assert titles() == {"A", "B", "C"}
    assert titles(state=["published"]) == {"A", "C"}
    assert titles(state=["draft"]) == {"A", "B", "C"}  # a private state is not a filter
    assert titles(team="forms") == {"A", "B"}
    assert titles(skill="python", amount_min_cents=100_000) == {"B"}
    assert titles(amount_max_cents=100_000) == {"A"}


@pytest.mark.parametrize("sort", list(Sort))
def test_pages_cover_everything_once_in_order(any_db: Session, sort: Sort) -> None:
    team = make_team(any_db)
    now = utcnow()
    for i in range(23):
        # Equal sort keys in groups of three make the id tie-break matter.
        make_opportunity(
            any_db,
            team,
            state="published",
            title=f"T{i:02d}",
            amount_cents=10_000 * (i // 3 + 1),
            proposal_deadline=now + timedelta(days=i // 3 + 1),
            published_at=now - timedelta(hours=i // 3),
        )
    any_db.commit()
    seen: list[str] = []
    cursor = ""
    while True:
        page = repository.list_public(any_db, ListFilters(sort=sort, limit=5, cursor=cursor))
        seen += _titles(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(f"T{i:02d}" for i in range(23))
    full = _titles(repository.list_public(any_db, ListFilters(sort=sort, limit=100)))
    assert seen == full


def test_a_cursor_from_another_sort_is_refused(any_db: Session) -> None:
    team = make_team(any_db)
    for _ in range(3):
        make_opportunity(any_db, team, state="published")
    any_db.commit()
    cursor = repository.list_public(any_db, ListFilters(limit=1)).next_cursor
    assert cursor
    with pytest.raises(repository.BadCursor):
        repository.list_public(any_db, ListFilters(limit=1, sort=Sort.AMOUNT_LOW, cursor=cursor))
    with pytest.raises(repository.BadCursor):
        repository.list_public(any_db, ListFilters(cursor="not-a-cursor"))


def test_list_page_keeps_filters_in_the_next_page_link(client: TestClient, db: Session) -> None:
    team = make_team(db, slug="forms")
    for _ in range(25):
        make_opportunity(db, team, state="published", skills=("python",))
    db.commit()
    html = client.get("/opportunities?skill=python&team=forms&sort=amount_low&q=opportunity").text
    assert 'rel="next"' in html
    next_link = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    for kept in ("skill=python", "team=forms", "sort=amount_low", "q=opportunity", "cursor="):
        assert kept in next_link
    second = client.get(next_link.replace("&amp;", "&"))
    assert second.status_code == 200
    assert second.text.count('class="card"') == 5


def test_list_page_reports_a_bad_amount_and_an_expired_cursor(client: TestClient) -> None:
    response = client.get("/opportunities?amount_min=lots&cursor=zzz")
    assert response.status_code == 200
    assert "is not an amount" in response.text
    assert "expired" in response.text


def test_api_pagination_and_bad_cursor(client: TestClient, db: Session) -> None:
    team = make_team(db)
    for _ in range(7):
        make_opportunity(db, team, state="published")
    db.commit()
    first = client.get("/api/v1/opportunities", params={"limit": 5}).json()
    assert len(first["items"]) == 5
    second = client.get(
        "/api/v1/opportunities", params={"limit": 5, "cursor": first["next_cursor"]}
    ).json()
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    bad = client.get("/api/v1/opportunities", params={"cursor": "garbage"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/opportunities", params={"limit": 1000}).status_code == 422


def test_skill_choices_are_the_public_skills_only(any_db: Session) -> None:
    team = make_team(any_db)
    make_opportunity(any_db, team, state="published", skills=("python", "css"))
    make_opportunity(any_db, team, state="paid", skills=("go", "python"))
    make_opportunity(any_db, team, state="draft", skills=("secret-skill", "aaa"))
    any_db.commit()
    assert repository.public_skills(any_db) == ["css", "go", "python"]


# Words placed so that each path of a PostgreSQL search runs (repository.SEARCH_WINDOWS): one
# that fills pages among the newest rows, one seen there but too scarce to fill a page before
# the full-text index takes over, a typo, one common only among the oldest rows (more matches
# than a search sorts itself), and prefixes of them.
SEARCH_ROWS = 4_600
PLACED_WORDS = {  # word: (the share of rows it is in, among the oldest how many)
    "frequent": (0.3, SEARCH_ROWS),
    "scarce": (0.004, SEARCH_ROWS),
    "bygone": (0.95, 1_150),
}
SEARCHES = ["frequent", "scarce", "bygone", "byg", "frequent scarce", "frequent bygone", "zqx"]


def _placed_rows(team_id: int) -> list[dict[str, object]]:
    """Opportunities numbered oldest first, their words drawn from a fixed seed; publication
    times, deadlines and amounts repeat, so the id tie-break matters in every sort."""
    rng = random.Random(20261202)
    start = utcnow() - timedelta(days=400)
    rows = []
    for n in range(SEARCH_ROWS):
        words = [
            w for w, (share, oldest) in PLACED_WORDS.items() if rng.random() < share and n < oldest
        ]
        rows.append(
            {
                "team_id": team_id,
                "state": "published",
                "title": f"P{n:04d}",
                "problem_statement": "",
                "acceptance_criteria": "- done",
                "amount_cents": 10_000 * rng.randrange(1, 40),
                "currency": "CAD",
                "proposal_deadline": start + timedelta(days=rng.randrange(0, 60)),
                "github_repository_full_name": "gc-demo/repo",
                "license_spdx": "MIT",
                "search_document": " ".join(["filler", *words]),
                "published_at": start + timedelta(hours=n // 2),
            }
        )
    return rows


def _expected(rows: list[dict[str, object]], ids: list[int], q: str, sort: Sort) -> list[str]:
    """Every row whose words begin with each searched word, in the sort's order: from the test's
    own data, not from a query."""
    wanted = q.split()
    keys = {
        Sort.NEWEST: lambda r, i: (r["published_at"], i),
        Sort.DEADLINE: lambda r, i: (r["proposal_deadline"], i),
        Sort.AMOUNT_HIGH: lambda r, i: (r["amount_cents"], i),
        Sort.AMOUNT_LOW: lambda r, i: (r["amount_cents"], i),
    }
    descending = sort in (Sort.NEWEST, Sort.AMOUNT_HIGH)
    matching = [
        (keys[sort](row, row_id), str(row["title"]))
        for row, row_id in zip(rows, ids, strict=True)
        if all(any(w.startswith(x) for w in str(row["search_document"]).split()) for x in wanted)
    ]
    return [title for _key, title in sorted(matching, reverse=descending)]


@pytest.mark.parametrize("sort", list(Sort))
def test_search_pages_match_every_row_in_order_past_the_newest_thousand(
    any_db: Session, sort: Sort
) -> None:
    team = make_team(any_db)
    rows = _placed_rows(team.id)
    ids = list(any_db.scalars(insert(Opportunity).returning(Opportunity.id), rows))
    any_db.commit()
    for q in SEARCHES:
        seen: list[str] = []
        cursor = ""
        while True:
            filters = ListFilters(q=q, sort=sort, limit=50, cursor=cursor)
            page = repository.list_public(any_db, filters)
            seen += _titles(page)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == _expected(rows, ids, q, sort), q
