"""Open data: every public opportunity and its public award facts, as CSV and JSON; nothing
private (drafts, proposals, scores, payments) in either."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import make_opportunity, make_team
from tests.support.fake_github import FakeGitHub
from tests.support.pay_on_pull import BID, awarded_work, opportunity_of


def test_the_datasets_hold_every_public_opportunity_and_nothing_private(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    work = awarded_work(db, fake_github)
    team = make_team(db)
    draft = make_opportunity(db, team, title="Secret draft")
    published = make_opportunity(
        db, team, state="published", title='=HYPERLINK("http://x")', skills=("python", "a11y")
    )
    db.commit()

    dataset = client.get("/opendata/opportunities.json").json()
    by_id = {item["id"]: item for item in dataset["items"]}
    assert dataset["records"] == 2
    assert set(by_id) == {work.opportunity_id, published.id}
    assert draft.id not in by_id
    awarded = by_id[work.opportunity_id]
    assert (awarded["state"], awarded["awarded_to"]) == ("awarded", "awardee")
    assert awarded["awarded_price_cents"] == BID  # the winning proposal's price, not the budget
    assert awarded["amount_cents"] == opportunity_of(db, work).amount_cents
    assert by_id[published.id]["skills"] == ["a11y", "python"]
    assert by_id[published.id]["awarded_to"] == ""

    response = client.get("/opendata/opportunities.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(row["id"]) for row in rows] == sorted(by_id)
    row = next(r for r in rows if int(r["id"]) == published.id)
    # A spreadsheet must show the title, not run it as a formula.
    assert row["title"] == '\'=HYPERLINK("http://x")'
    assert row["skills"] == "a11y; python"
    assert "Secret draft" not in text


def test_the_open_data_page_explains_every_column_in_both_languages(client: TestClient) -> None:
    english = client.get("/opendata").text
    assert "Fixed price, taxes included, in cents" in english
    assert 'href="/opendata/opportunities.csv"' in english
    french = client.get("/opendata?lang=fr").text
    assert "Données ouvertes" in french
    assert "<code>awarded_price_cents</code>" in french
