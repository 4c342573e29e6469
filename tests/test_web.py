"""Cross-cutting web behaviour: errors, headers, request ids, CSRF, visibility, language."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.text import render_markdown
from tests.support.factories import make_opportunity, make_team, make_user
from tests.support.web import csrf_token, sign_in


def test_unknown_pages_are_html_for_browsers_and_problem_json_for_the_api(
    client: TestClient,
) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in page.text
    api = client.get("/api/v1/opportunities/999999")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    assert {"type", "title", "status", "detail", "instance"} <= set(api.json())


def test_security_headers_on_every_response(client: TestClient) -> None:
    for url in ["/", "/api/v1/opportunities", "/no-such-page", "/static/css/site.css"]:
        headers = client.get(url).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "'unsafe-inline'" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"]
        assert "strict-transport-security" not in headers  # only in production


def test_request_id_is_returned_and_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="devex.http"):
        response = client.get("/healthz", headers={"x-request-id": "trace-abc-12345"})
    assert response.headers["x-request-id"] == "trace-abc-12345"
    assert any("trace-abc-12345" in str(r.msg) for r in caplog.records)
    generated = client.get("/healthz", headers={"x-request-id": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 32


def test_form_posts_without_a_csrf_token_are_refused(client: TestClient, db: Session) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]})
    opportunity = make_opportunity(db, team)
    db.commit()
    sign_in(client, owner)
    response = client.post(f"/opportunities/{opportunity.id}/publish", data={})
    assert response.status_code == 403
    assert "expired" in response.text
    forged = client.post(f"/opportunities/{opportunity.id}/publish", data={"csrftoken": "forged"})
    assert forged.status_code == 403


def test_drafts_are_invisible_outside_their_team(client: TestClient, db: Session) -> None:
    team = make_team(db)
    other_team = make_team(db)
    outsider = make_user(db, roles={other_team: ["owner"]})
    member = make_user(db, roles={team: ["evaluator"]})
    draft = make_opportunity(db, team, state="draft", title="Private draft title")
    db.commit()
    for path in (f"/opportunities/{draft.id}", f"/api/v1/opportunities/{draft.id}"):
        assert client.get(path).status_code == 404
    assert "Private draft title" not in client.get("/api/v1/opportunities").text
    sign_in(client, outsider)
    assert client.get(f"/opportunities/{draft.id}").status_code == 404
    sign_in(client, member)
    assert client.get(f"/opportunities/{draft.id}").status_code == 200


def test_team_pages_need_a_signed_in_author(client: TestClient, db: Session) -> None:
    team = make_team(db)
    evaluator = make_user(db, roles={team: ["evaluator"]})
    db.commit()
    assert client.get(f"/teams/{team.slug}/opportunities/new").status_code == 401
    sign_in(client, evaluator)
    assert client.get(f"/teams/{team.slug}/opportunities/new").status_code == 403


def test_markdown_is_rendered_and_sanitised() -> None:
    html = str(render_markdown("**bold** <script>alert(1)</script> [x](javascript:alert(1))"))
    assert "<strong>bold</strong>" in html
    assert "<script" not in html
    assert 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown as text, not dropped silently


def test_language_follows_the_query_then_the_cookie_then_the_browser(client: TestClient) -> None:
    assert '<html lang="en">' in client.get("/").text
    assert '<html lang="fr">' in client.get("/", headers={"accept-language": "fr-CA,fr;q=0.9"}).text
    french = client.get("/opportunities?lang=fr")
    assert '<html lang="fr">' in french.text
    assert french.headers["content-language"] == "fr"
    # The choice is remembered for the next page.
    assert '<html lang="fr">' in client.get("/teams").text
    assert '<html lang="en">' in client.get("/teams?lang=en").text


def test_the_language_link_keeps_the_page_and_its_query(client: TestClient) -> None:
    html = client.get("/opportunities?skill=python").text
    assert 'href="/opportunities?skill=python&amp;lang=fr"' in html


def test_csrf_token_is_offered_to_every_form_page(client: TestClient) -> None:
    assert csrf_token(client, "/demo-sign-in")


def test_nul_characters_are_refused_as_bad_input(client: TestClient, db: Session) -> None:
    api = client.get("/api/v1/teams/%00")
    assert api.status_code == 422
    assert api.headers["content-type"] == "application/problem+json"
    assert client.get("/opportunities", params={"team": "a\x00b"}).status_code == 422
    user = make_user(db)
    db.commit()
    sign_in(client, user)
    form = client.post("/account", data={"display_name": "x\x00", "csrftoken": csrf_token(client)})
    assert form.status_code == 422
    assert "NUL" in form.text


def test_team_members_are_offered_no_link_they_would_be_refused(
    client: TestClient, db: Session
) -> None:
    """An evaluator of the posting team may not propose, and only finance (or an
    administrator) may read the money trail: neither is offered a link that answers 403."""
    team = make_team(db)
    evaluator = make_user(db, roles={team: ["evaluator", "editor"]})
    published = make_opportunity(db, team, state="published")
    in_progress = make_opportunity(db, team, state="in_progress")
    db.commit()
    sign_in(client, evaluator)
    page = client.get(f"/opportunities/{published.id}").text
    assert f"/opportunities/{published.id}/proposal" not in page
    assert client.get(f"/opportunities/{published.id}/proposal").status_code == 403
    page = client.get(f"/opportunities/{in_progress.id}").text
    assert f"/opportunities/{in_progress.id}/money" not in page
    assert client.get(f"/opportunities/{in_progress.id}/money").status_code == 403
