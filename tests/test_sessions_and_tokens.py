"""Done means 3 and 4 (accounts): CSRF on every form; session cookies and their lifetimes;
API tokens; no secret ever reaches the logs."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.access import declared_routes
from app.config import Environment, Settings
from app.main import create_app
from app.models import ApiToken, UserSession
from app.models.base import utcnow
from tests.support.factories import make_team, make_user
from tests.support.fake_github import FakeAccount, FakeGitHub
from tests.support.oauth import sign_in_with_github
from tests.support.web import app_of, post_form, sign_in

CSRF_REFUSAL = "expired or was sent from another site"


def test_every_form_refuses_a_post_without_a_valid_csrf_token(
    client: TestClient, db: Session
) -> None:
    admin = make_user(db, is_admin=True)
    db.commit()
    sign_in(client, admin)
    posts = [r for r in declared_routes(app_of(client)) if r.method != "GET"]
    assert len(posts) >= 15
    for route in posts:
        url = re.sub(r"\{\w+\}", "1", route.path)
        if route.path.startswith("/webhooks/"):
            # The only exemption: a webhook answers for its signature, not for a CSRF token.
            assert client.post(url, content=b"{}").status_code == 401
            continue
        if route.path.startswith("/api/"):
            missing = client.post(url, json={})
        else:
            missing = client.post(url, data={"title": "x"})
            forged = client.post(url, data={"csrftoken": "forged", "title": "x"})
            assert forged.status_code == 403, route.path
        assert missing.status_code == 403, f"{route.method} {route.path}: {missing.status_code}"
        assert CSRF_REFUSAL in missing.text or "problem" in missing.headers["content-type"]


def _cookie_header(response_headers: list[tuple[str, str]], name: str) -> str:
    return next(v for k, v in response_headers if k == "set-cookie" and v.startswith(name + "="))


def test_production_session_cookie_is_host_prefixed_secure_httponly_lax(
    sqlite_url: str, fake_github: FakeGitHub
) -> None:
    settings = Settings(
        env=Environment.PRODUCTION,
        database_url=sqlite_url,
        secret_key="p" * 40,
        smtp_url="smtp://127.0.0.1:2525",
        stripe_secret_key="sk_test_x",
        stripe_webhook_secret="whsec_x",
        base_url="https://devex.example",
        github_api_url=fake_github.url,
        github_oauth_url=fake_github.url,
        github_client_id="test-client-id",
        github_client_secret="test-client-secret",
    )
    with TestClient(create_app(settings), base_url="https://devex.example") as client:
        response = sign_in_with_github(client, fake_github, FakeAccount(github_id=5, login="p"))
        cookie = _cookie_header(response.headers.multi_items(), "__Host-devex_session")
        for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
            assert flag.lower() in cookie.lower()
        assert "domain=" not in cookie.lower()
        assert client.get("/api/v1/me").status_code == 200


def test_local_session_cookie_is_httponly_lax_and_not_secure(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    db.commit()
    client.get("/demo-sign-in")
    token = client.cookies["csrftoken"]
    response = client.post(
        "/demo-sign-in", data={"user_id": str(user.id), "csrftoken": token}, follow_redirects=False
    )
    cookie = _cookie_header(response.headers.multi_items(), "devex_session")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()


def test_sign_out_revokes_the_session(client: TestClient, db: Session) -> None:
    user = make_user(db)
    db.commit()
    sign_in(client, user)
    stolen = client.cookies["devex_session"]
    assert post_form(client, "/sign-out", {}).status_code == 303
    client.cookies.set("devex_session", stolen)
    assert client.get("/api/v1/me").status_code == 401


def test_sign_out_everywhere_revokes_every_session(
    client: TestClient, db: Session, settings: Settings
) -> None:
    user = make_user(db)
    db.commit()
    with TestClient(create_app(settings)) as laptop:
        sign_in(laptop, user)
        sign_in(client, user)
        assert post_form(client, "/account/sign-out-everywhere", {}).status_code == 303
        assert laptop.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("column", ["expires_at", "last_seen_at"])
def test_an_expired_or_idle_session_is_refused(
    client: TestClient, db: Session, column: str
) -> None:
    user = make_user(db)
    db.commit()
    sign_in(client, user)
    assert client.get("/api/v1/me").status_code == 200
    db.execute(update(UserSession).values({column: utcnow() - timedelta(days=30)}))
    db.commit()
    assert client.get("/api/v1/me").status_code == 401


def _create_token(client: TestClient, scope: str) -> str:
    page = post_form(
        client,
        "/account/tokens",
        {"name": "ci", "scope": scope, "days": "30"},
        page="/account/tokens",
    )
    assert page.status_code == 200
    match = re.search(r"<code>(dvx_[^<]+)</code>", page.text)
    assert match, "the new token is shown once"
    return match.group(1)


def test_api_tokens_read_write_revoke_and_expire(client: TestClient, db: Session) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, editor)
    read_token = _create_token(client, "read")
    write_token = _create_token(client, "write")
    assert read_token not in client.get("/account/tokens").text  # never shown again
    anonymous = TestClient(client.app)
    me = anonymous.get("/api/v1/me", headers={"authorization": f"Bearer {read_token}"})
    assert me.status_code == 200
    assert me.json()["login"] == editor.login
    body = {
        "title": "T",
        "amount_cents": 1000,
        "proposal_deadline": (utcnow() + timedelta(days=2)).isoformat(),
    }
    url = f"/api/v1/teams/{team.slug}/opportunities"
    refused = anonymous.post(url, json=body, headers={"authorization": f"Bearer {read_token}"})
    assert refused.status_code == 403
    created = anonymous.post(url, json=body, headers={"authorization": f"Bearer {write_token}"})
    assert created.status_code == 201  # no CSRF header needed with a token
    token_row = db.query(ApiToken).filter(ApiToken.scope == "read").one()
    db.refresh(token_row)
    assert token_row.last_used_at is not None

    post_form(client, f"/account/tokens/{token_row.id}/revoke", {}, page="/account/tokens")
    assert (
        anonymous.get("/api/v1/me", headers={"authorization": f"Bearer {read_token}"}).status_code
        == 401
    )
    db.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    assert (
        anonymous.get("/api/v1/me", headers={"authorization": f"Bearer {write_token}"}).status_code
        == 401
    )
    assert (
        anonymous.get("/api/v1/me", headers={"authorization": "Bearer dvx_not-a-token"}).status_code
        == 401
    )


def test_tokens_and_session_ids_never_reach_the_logs(
    client: TestClient,
    db: Session,
    fake_github: FakeGitHub,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    sign_in_with_github(client, fake_github, FakeAccount(github_id=31, login="logs"))
    session_id = client.cookies["devex_session"]
    token = _create_token(client, "read")
    TestClient(client.app).get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
    oauth_tokens = list(fake_github.tokens)
    written = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    written += "".join(capsys.readouterr())
    for secret in [session_id, token, *oauth_tokens]:
        assert secret not in written
