"""Rate limits answer 429 with Retry-After on sign-in, form posts and token-authenticated writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.accounts import service as accounts
from app.config import Settings
from app.main import create_app
from app.models.base import utcnow
from tests.support.factories import make_team, make_user
from tests.support.web import sign_in


@pytest.fixture
def tight(settings: Settings, engine: object) -> Iterator[TestClient]:
    strict = settings.model_copy(
        update={
            "rate_limit_sign_in": "3/minute",
            "rate_limit_form_posts": "3/minute",
            "rate_limit_api_writes": "3/minute",
        }
    )
    with TestClient(create_app(strict)) as client:
        yield client


def _assert_limited(statuses: list[int], response_headers: dict[str, str]) -> None:
    assert 429 not in statuses[:3]
    assert statuses[3] == 429
    assert 1 <= int(response_headers["retry-after"]) <= 60


def test_sign_in_is_rate_limited(tight: TestClient) -> None:
    responses = [tight.get("/auth/github/start", follow_redirects=False) for _ in range(4)]
    _assert_limited([r.status_code for r in responses], dict(responses[3].headers))
    assert "Too many requests" in responses[3].text


def test_form_posts_are_rate_limited(tight: TestClient, db: Session) -> None:
    user = make_user(db)
    db.commit()
    sign_in(tight, user)  # counts as a sign-in, not as a form post
    token = tight.cookies["csrftoken"]
    responses = [
        tight.post("/account", data={"csrftoken": token}, follow_redirects=False) for _ in range(4)
    ]
    _assert_limited([r.status_code for r in responses], dict(responses[3].headers))


def test_token_writes_are_rate_limited_per_token(
    tight: TestClient, db: Session, settings: Settings
) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    _row, raw = accounts.create_api_token(
        db,
        editor,
        name="ci",
        scope="write",
        days=1,
        settings=settings,
        client=accounts.ClientInfo(),
    )
    db.commit()
    body = {
        "title": "T",
        "amount_cents": 100,
        "proposal_deadline": (utcnow() + timedelta(days=1)).isoformat(),
    }
    headers = {"authorization": f"Bearer {raw}"}
    url = f"/api/v1/teams/{team.slug}/opportunities"
    responses = [tight.post(url, json=body, headers=headers) for _ in range(4)]
    _assert_limited([r.status_code for r in responses], dict(responses[3].headers))
    assert responses[3].headers["content-type"] == "application/problem+json"
    assert tight.get("/api/v1/opportunities", headers=headers).status_code == 200  # reads pass
