"""Issue 14, defect 10: a CSRF token belongs to one session. A token and cookie pair taken from
one session (an attacker's own, or one planted before sign-in) is refused with another session."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.deps import session_cookie_name
from app.models import User
from tests.support.factories import make_user
from tests.support.web import csrf_token, sign_in


def _pair(client: TestClient) -> tuple[str, str]:
    """What an attacker copies out of their own browser: the form's token and the cookie."""
    token = csrf_token(client, "/account")
    return token, str(client.cookies["csrftoken"])


def _session_of(client: TestClient, user: User, settings: Settings) -> str:
    client.cookies.clear()
    sign_in(client, user)
    return str(client.cookies[session_cookie_name(settings)])


def _rename(client: TestClient, name: str, token: str) -> int:
    response = client.post(
        "/account", data={"display_name": name, "csrftoken": token}, follow_redirects=False
    )
    return response.status_code


def test_a_pair_from_one_session_is_refused_with_another(
    client: TestClient, db: Session, settings: Settings
) -> None:
    attacker = make_user(db, login="mallory")
    victim = make_user(db, login="victim", display_name="Victim")
    db.commit()
    _session_of(client, attacker, settings)
    token, cookie = _pair(client)
    victim_session = _session_of(client, victim, settings)

    # The attacker's pair, planted in the victim's browser beside the victim's session.
    client.cookies.clear()
    client.cookies.set(session_cookie_name(settings), victim_session)
    client.cookies.set("csrftoken", cookie)
    assert _rename(client, "Hijacked", token) == 403
    by_header = client.post(
        "/account", data={"display_name": "Hijacked"}, headers={"x-csrftoken": token}
    )
    assert by_header.status_code == 403
    db.refresh(victim)
    assert victim.display_name == "Victim"

    # The victim's own forms still work: the page hands out the token of their session.
    assert _rename(client, "Victim Renamed", csrf_token(client, "/account")) == 303
    db.refresh(victim)
    assert victim.display_name == "Victim Renamed"


def test_a_token_from_before_sign_in_is_refused_after_it(client: TestClient, db: Session) -> None:
    user = make_user(db, display_name="Before")
    db.commit()
    planted = csrf_token(client, "/demo-sign-in")
    sign_in(client, user)
    assert _rename(client, "Planted", planted) == 403
    assert _rename(client, "Fresh", csrf_token(client, "/account")) == 303
    db.refresh(user)
    assert user.display_name == "Fresh"


def test_signing_in_hands_out_the_sessions_token_at_once(client: TestClient, db: Session) -> None:
    """Scripts read the cookie for the X-CSRFToken header right after signing in."""
    user = make_user(db, display_name="Script")
    db.commit()
    sign_in(client, user)
    assert _rename(client, "Scripted", str(client.cookies["csrftoken"])) == 303


def test_each_session_has_its_own_token(
    client: TestClient, db: Session, settings: Settings
) -> None:
    first, second = make_user(db), make_user(db)
    db.commit()
    _session_of(client, first, settings)
    token_first = _pair(client)[0]
    _session_of(client, second, settings)
    token_second = _pair(client)[0]
    assert token_second != token_first
    # Signing out ends the session's token too: the browser is handed another one.
    signed_out = client.post("/sign-out", data={"csrftoken": token_second}, follow_redirects=False)
    assert signed_out.status_code == 303
    assert csrf_token(client, "/demo-sign-in") not in (token_first, token_second)
