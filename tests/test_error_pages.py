"""Issue 14, defect 7: a malformed id in an address is simply not found (a page in the reader's
language, or a problem for the API)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import make_opportunity, make_team

MALFORMED_IDS = ["abc", "1.5", "-3", "0", "99999999999", "%20", "1e3"]


@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_a_malformed_id_in_a_page_address_is_not_found(client: TestClient, bad_id: str) -> None:
    english = client.get(f"/opportunities/{bad_id}")
    assert english.status_code == 404
    assert english.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in english.text
    french = client.get(f"/opportunities/{bad_id}?lang=fr")
    assert french.status_code == 404
    assert "<h1>Page introuvable</h1>" in french.text
    for page in (english, french):
        assert "int_parsing" not in page.text
        assert "valid integer" not in page.text
        assert "opportunity_id" not in page.text


def test_malformed_ids_in_other_page_addresses_are_not_found(client: TestClient) -> None:
    for path in (
        "/opportunities/abc/money",
        "/opportunities/abc/proposal",
        "/opportunities/x/edit",
        "/proposals/abc",
    ):
        response = client.get(path)
        assert response.status_code in (401, 404), path  # signed-in-only pages ask first
        assert response.status_code != 422, path


@pytest.mark.parametrize("bad_id", ["abc", "0", "99999999999"])
def test_a_malformed_id_in_an_api_address_is_a_not_found_problem(
    client: TestClient, bad_id: str
) -> None:
    response = client.get(f"/api/v1/opportunities/{bad_id}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 404
    # The same answer as a well-formed id that names nothing.
    missing = client.get("/api/v1/opportunities/999999").json()
    assert (problem["type"], problem["title"]) == (missing["type"], missing["title"])


def test_a_well_formed_id_still_reaches_the_page(client: TestClient, db: Session) -> None:
    opportunity = make_opportunity(db, make_team(db), state="published", title="Still here")
    db.commit()
    assert "Still here" in client.get(f"/opportunities/{opportunity.id}").text
