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


# Issue 14, defect 9: behind a reverse proxy, each client has its own bucket, and no client can
# pick another's (or a fresh) bucket by writing its own X-Forwarded-For.
PROXY = "10.0.0.2"


def _behind(settings: Settings, proxies: str, peer: str) -> TestClient:
    """The app as `devex serve` runs it, reached from `peer` (a proxy, or a client directly)."""
    configured = settings.model_copy(
        update={"rate_limit_sign_in": "3/minute", "forwarded_allow_ips": proxies}
    )
    return TestClient(create_app(configured), client=(peer, 40000))


def _sign_in_statuses(client: TestClient, forwarded_for: list[str]) -> list[int]:
    return [
        client.get(
            "/auth/github/start", headers={"x-forwarded-for": value}, follow_redirects=False
        ).status_code
        for value in forwarded_for
    ]


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(
    settings: Settings, engine: object
) -> None:
    with _behind(settings, PROXY, PROXY) as proxy:
        assert _sign_in_statuses(proxy, ["198.51.100.7"] * 4)[3] == 429
        # Someone else behind the same proxy still signs in.
        assert _sign_in_statuses(proxy, ["198.51.100.8"]) == [303]


def test_rotating_the_forwarded_for_header_does_not_escape_the_limit(
    settings: Settings, engine: object
) -> None:
    # The proxy appends the address it saw; what the client wrote comes before it.
    rotating = [f"203.0.113.{n}, 198.51.100.7" for n in range(4)]
    with _behind(settings, PROXY, PROXY) as proxy:
        assert _sign_in_statuses(proxy, rotating)[3] == 429
    # Two proxies in a row: the right-most address neither of them is, never the left-most.
    chained = [f"203.0.113.{n}, 198.51.100.7, 10.0.0.3" for n in range(4)]
    with _behind(settings, f"{PROXY}, 10.0.0.3", PROXY) as proxy:
        assert _sign_in_statuses(proxy, chained)[3] == 429


def test_a_client_that_is_not_a_proxy_cannot_name_another_address(
    settings: Settings, engine: object
) -> None:
    rotating = [f"203.0.113.{n}" for n in range(4)]
    with _behind(settings, PROXY, "198.51.100.9") as direct:
        assert _sign_in_statuses(direct, rotating)[3] == 429
    with _behind(settings, "", "198.51.100.9") as no_proxy:
        assert _sign_in_statuses(no_proxy, rotating)[3] == 429
