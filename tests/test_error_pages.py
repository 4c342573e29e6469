"""Issue 14, defects 7 and 8: a malformed id in an address is simply not found (a page in the
reader's language, or a problem for the API), and the sign-in page a signed-out reader is sent
to brings them back to where they were, never to another site."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.factories import make_opportunity, make_team, make_user
from tests.support.fake_github import FakeAccount, FakeGitHub
from tests.support.oauth import sign_in_with_github
from tests.support.web import csrf_token

MALFORMED_IDS = ["abc", "1.5", "-3", "0", "99999999999", "%20", "1e3"]


def _main(html: str) -> str:
    """The page's own content, without the header every page shares."""
    return html.split("<main", 1)[1].split("</main>", 1)[0]


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


SIGN_IN_LINK = re.compile(r'<a[^>]* href="(/sign-in\?[^"]*)"')


def _sign_in_link(html: str) -> str:
    found = SIGN_IN_LINK.search(_main(html))
    assert found, "the page offers no way to sign in"
    return found.group(1).replace("&amp;", "&")


def _next_of(html: str, target: str) -> str:
    """Where the page's link to `target` will return the reader after sign-in."""
    found = re.search(rf'href="{re.escape(target)}\?([^"]*)"', html)
    assert found, f"no link to {target}"
    return str(parse_qs(found.group(1).replace("&amp;", "&"))["next"][0])


def test_the_sign_in_page_returns_the_reader_to_the_page_they_asked_for(
    client: TestClient, fake_github: FakeGitHub
) -> None:
    refused = client.get("/account/tokens?from=mail")
    assert refused.status_code == 401
    link = _sign_in_link(refused.text)
    assert parse_qs(urlsplit(link).query)["next"] == ["/account/tokens?from=mail"]

    assert _next_of(client.get(link).text, "/auth/github/start") == "/account/tokens?from=mail"
    back = sign_in_with_github(
        client, fake_github, FakeAccount(github_id=81, login="back"), "/account/tokens?from=mail"
    )
    assert back.status_code == 303
    assert back.headers["location"] == "/account/tokens?from=mail"
    assert client.get(back.headers["location"]).status_code == 200


def test_the_sign_in_link_speaks_the_readers_language(client: TestClient) -> None:
    refused = client.get("/account?lang=fr")
    assert refused.status_code == 401
    assert "<h1>Veuillez vous connecter</h1>" in refused.text
    assert "Se connecter" in _main(refused.text)


def test_the_demo_sign_in_returns_to_the_page_too(client: TestClient, db: Session) -> None:
    user = make_user(db)
    db.commit()
    form = client.get("/demo-sign-in", params={"next": "/account"}).text
    assert '<input type="hidden" name="next" value="/account">' in form
    response = client.post(
        "/demo-sign-in",
        data={
            "user_id": str(user.id),
            "next": "/account",
            "csrftoken": csrf_token(client, "/demo-sign-in?next=%2Faccount"),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/account"


OTHER_SITES = [
    "//evil.example",
    "//evil.example/account",
    "https://evil.example",
    "https://evil.example/account",
    "/\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "account",
]


@pytest.mark.parametrize("target", OTHER_SITES)
def test_no_other_site_is_a_return_target(
    client: TestClient, db: Session, fake_github: FakeGitHub, target: str
) -> None:
    page = client.get("/sign-in", params={"next": target})
    assert _next_of(page.text, "/auth/github/start") == "/"
    back = sign_in_with_github(client, fake_github, FakeAccount(github_id=82, login="r"), target)
    assert back.headers["location"] == "/"
    client.cookies.clear()
    user = make_user(db)
    db.commit()
    demo = client.post(
        "/demo-sign-in",
        data={"user_id": str(user.id), "next": target, "csrftoken": csrf_token(client, "/")},
        follow_redirects=False,
    )
    assert demo.headers["location"] == "/"
