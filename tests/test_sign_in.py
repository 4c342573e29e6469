"""Done means 1: GitHub sign-in end to end against the fake GitHub."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, User, UserSession
from tests.support.fake_github import FakeAccount, FakeGitHub
from tests.support.oauth import sign_in_with_github, start

SESSION_COOKIE = "devex_session"


def _users(db: Session) -> list[User]:
    db.expire_all()
    return list(db.scalars(select(User)))


def test_sign_in_creates_the_user_and_a_session(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    params = start(client, "/opportunities")
    assert params["code_challenge_method"] == "S256"
    assert params["client_id"] == "test-client-id"
    assert params["redirect_uri"].endswith("/auth/github/callback")
    assert len(params["state"]) >= 32

    account = FakeAccount(github_id=4242, login="octo", name="Octo Cat", email="o@example.com")
    code = fake_github.authorize(account, params["code_challenge"], params["redirect_uri"])
    response = client.get(
        "/auth/github/callback",
        params={"code": code, "state": params["state"]},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/opportunities"
    [user] = _users(db)
    assert (user.github_id, user.login, user.name, user.email) == (
        4242,
        "octo",
        "Octo Cat",
        "o@example.com",
    )
    assert client.get("/api/v1/me").json()["github_id"] == 4242
    actions = db.scalars(select(AuditEvent.action)).all()
    assert "account.sign_in" in actions


def test_a_wrong_state_is_refused(client: TestClient, db: Session, fake_github: FakeGitHub) -> None:
    params = start(client)
    account = FakeAccount(github_id=1, login="mallory")
    code = fake_github.authorize(account, params["code_challenge"], params["redirect_uri"])
    response = client.get(
        "/auth/github/callback", params={"code": code, "state": params["state"] + "x"}
    )
    assert response.status_code == 400
    assert "could not confirm your sign-in" in response.text
    assert _users(db) == []
    assert client.get("/api/v1/me").status_code == 401
    failed = db.scalars(select(AuditEvent).where(AuditEvent.action == "account.sign_in_failed"))
    assert failed.first() is not None


def test_a_state_from_another_browser_is_refused(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    params = start(client)
    client.cookies.clear()  # the callback arrives in a browser that did not start the sign-in
    code = fake_github.authorize(
        FakeAccount(github_id=2, login="eve"), params["code_challenge"], params["redirect_uri"]
    )
    response = client.get("/auth/github/callback", params={"code": code, "state": params["state"]})
    assert response.status_code == 400
    assert _users(db) == []


def test_a_replayed_state_is_refused(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    params = start(client)
    account = FakeAccount(github_id=3, login="replay")
    first = fake_github.authorize(account, params["code_challenge"], params["redirect_uri"])
    state_cookie = client.cookies.get("devex_oauth_state")
    ok = client.get(
        "/auth/github/callback",
        params={"code": first, "state": params["state"]},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    client.cookies.clear()
    client.cookies.set("devex_oauth_state", str(state_cookie), path="/auth/github")
    second = fake_github.authorize(account, params["code_challenge"], params["redirect_uri"])
    replay = client.get("/auth/github/callback", params={"code": second, "state": params["state"]})
    assert replay.status_code == 400
    assert client.get("/api/v1/me").status_code == 401


def test_a_renamed_login_updates_the_same_user(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    assert (
        sign_in_with_github(
            client, fake_github, FakeAccount(github_id=77, login="old-name")
        ).status_code
        == 303
    )
    client.cookies.clear()
    assert (
        sign_in_with_github(
            client, fake_github, FakeAccount(github_id=77, login="new-name")
        ).status_code
        == 303
    )
    [user] = _users(db)
    assert (user.github_id, user.login) == (77, "new-name")


def test_an_unverified_email_is_not_taken(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    account = FakeAccount(github_id=8, login="u", email="boss@example.gc.ca", email_verified=False)
    sign_in_with_github(client, fake_github, account)
    [user] = _users(db)
    assert user.email is None
    assert not user.email_verified


def test_signing_in_rotates_the_session_id(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    account = FakeAccount(github_id=9, login="rotor")
    sign_in_with_github(client, fake_github, account)
    first = client.cookies.get(SESSION_COOKIE)
    sign_in_with_github(client, fake_github, account)
    second = client.cookies.get(SESSION_COOKIE)
    assert first
    assert second
    assert first != second
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, str(first))
    assert client.get("/api/v1/me").status_code == 401  # the old id was revoked
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, str(second))
    assert client.get("/api/v1/me").status_code == 200
    active = db.scalar(
        select(func.count()).select_from(UserSession).where(UserSession.revoked_at.is_(None))
    )
    assert active == 1


def test_the_return_path_never_leaves_the_site(client: TestClient, fake_github: FakeGitHub) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = sign_in_with_github(
            client, fake_github, FakeAccount(github_id=10, login="r"), next_path=target
        )
        assert response.headers["location"] == "/"
