"""Issue 6, rule 1 and rule 2: signed webhooks into a durable inbox; a merge is verified
against the GitHub API before anything happens, and anything wrong puts the work on hold."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import threading
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import flows
from app.config import Settings
from app.db import make_engine
from app.github.client import GitHubClient
from app.github.webhooks import closed_issues, signature_is_valid, store_delivery
from app.main import create_app
from app.models import AuditEvent, Award, Opportunity, WebhookDelivery
from app.models.base import utcnow
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user, state_of
from tests.support.fake_github import FakeGitHub
from tests.support.server import ThreadedServer

FIXTURE = Path(__file__).parent / "fixtures" / "github" / "pull_request.closed.json"
SECRET = "webhook-test-secret"
REPO, REPO_ID, ISSUE, PULL = "gc-demo/forms", 424242, 12, 77
AWARDEE_ID, MERGER_ID = 5001, 9009


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def merged_payload(**changes: Any) -> bytes:
    payload = json.loads(FIXTURE.read_text())
    pull = payload["pull_request"]
    pull.update(
        {
            "merged": True,
            "number": PULL,
            "body": f"Fixes #{ISSUE}",
            "merged_by": {"id": MERGER_ID, "login": "maintainer"},
        }
    )
    pull["base"]["repo"].update({"id": REPO_ID, "full_name": REPO})
    pull.update(changes)
    return json.dumps(payload).encode()


def post(
    client: TestClient,
    body: bytes,
    delivery: str = "d-1",
    signature: str | None = None,
    event: str = "pull_request",
) -> httpx2.Response:
    headers = {
        "x-github-delivery": delivery,
        "x-github-event": event,
        "content-type": "application/json",
    }
    if signature != "":
        headers["x-hub-signature-256"] = signature or sign(body)
    return client.post("/webhooks/github", content=body, headers=headers)


def _inbox(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)


def test_the_published_hmac_test_vector() -> None:
    # GitHub's documented example: secret, payload, and the signature it must produce.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_is_valid("It's a Secret to Everybody", b"Hello, World!", expected)
    assert not signature_is_valid("It's a Secret to Everybody", b"Hello, World?", expected)


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "sha1=abc", "nonsense"])
def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(
    client: TestClient, db: Session, signature: str
) -> None:
    response = post(client, merged_payload(), signature=signature)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert _inbox(db) == 0


def test_a_body_signed_with_another_secret_is_refused(client: TestClient, db: Session) -> None:
    body = merged_payload()
    assert post(client, body, signature=sign(body, "another-secret")).status_code == 401
    assert post(client, body + b" ", signature=sign(body)).status_code == 401  # altered bytes
    assert _inbox(db) == 0


def test_without_a_configured_secret_every_delivery_is_refused(
    settings: Settings, engine: object
) -> None:
    with TestClient(create_app(settings.model_copy(update={"github_webhook_secret": ""}))) as c:
        assert post(c, b"{}", signature=sign(b"{}", "")).status_code == 401


def test_duplicates_are_stored_once(client: TestClient, db: Session) -> None:
    body = merged_payload()
    assert post(client, body).json() == {"status": "queued"}
    assert post(client, body).json() == {"status": "duplicate"}
    assert post(client, body, delivery="d-2").json() == {"status": "queued"}
    assert _inbox(db) == 2


def test_concurrent_identical_deliveries_make_one_inbox_row(
    settings: Settings, db: Session
) -> None:
    server = ThreadedServer(create_app(settings)).start()
    body = merged_payload()
    statuses: list[int] = []
    try:

        def deliver() -> None:
            with httpx2.Client(base_url=server.url, timeout=30) as http:
                statuses.append(
                    http.post(
                        "/webhooks/github",
                        content=body,
                        headers={
                            "x-github-delivery": "same",
                            "x-github-event": "pull_request",
                            "x-hub-signature-256": sign(body),
                        },
                    ).status_code
                )

        threads = [threading.Thread(target=deliver) for _ in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        server.stop()
    assert statuses == [202] * 100
    assert _inbox(db) == 1


def test_closing_keywords() -> None:
    body = "Fixes #12, closes other/repo#3 and resolves https://github.com/o/r/issues/4. See #9."
    assert closed_issues(body, "Me/Repo") == {("me/repo", 12), ("other/repo", 3), ("o/r", 4)}
    assert closed_issues(None, "me/repo") == set()


@pytest.fixture
def in_progress(db: Session, fake_github: FakeGitHub) -> Opportunity:
    team = make_team(db)
    awardee = make_user(db, github_id=AWARDEE_ID, login="awardee")
    opp = make_opportunity(
        db,
        team,
        state="in_progress",
        github_repository_id=REPO_ID,
        github_repository_full_name=REPO,
        github_issue_number=ISSUE,
    )
    proposal = make_proposal(db, opp, awardee, state="awarded")
    db.add(
        Award(
            opportunity_id=opp.id,
            proposal_id=proposal.id,
            reason="top",
            accept_by=utcnow(),
            accepted_at=utcnow(),
        )
    )
    db.commit()
    fake_github.add_repository(REPO, REPO_ID, default_branch="main")
    return opp


def _api_pull(**changes: Any) -> dict[str, Any]:
    pull: dict[str, Any] = {
        "number": PULL,
        "merged": True,
        "body": f"Fixes #{ISSUE}",
        "user": {"id": AWARDEE_ID, "login": "awardee"},
        "merged_by": {"id": MERGER_ID, "login": "maintainer"},
        "base": {"ref": "main", "repo": {"id": REPO_ID, "full_name": REPO}},
    }
    for key, value in changes.items():
        pull[key] = value
    return pull


def _process(client: TestClient, db: Session, settings: Settings) -> str:
    assert post(client, merged_payload()).status_code == 202
    github = GitHubClient(settings.github_api_url)
    try:
        assert flows.process_inbox(db, github) == 1
    finally:
        github.close()
    db.expire_all()
    delivery = db.scalars(select(WebhookDelivery)).one()
    return delivery.outcome


def test_a_verified_merge_moves_the_work_to_merged(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_github: FakeGitHub,
    in_progress: Opportunity,
) -> None:
    fake_github.pulls[(REPO, PULL)] = _api_pull()
    assert "verified merge" in _process(client, db, settings)
    assert state_of(db, Opportunity, in_progress.id) == "merged"
    assert f"pull {REPO}#{PULL}" in fake_github.requests  # re-fetched, not taken on trust


HOLDS: dict[str, tuple[dict[str, Any], str]] = {
    "unmerged": ({"merged": False}, "not merged"),
    "wrong repository": (
        {"base": {"ref": "main", "repo": {"id": 1, "full_name": "x/y"}}},
        "not in the opportunity's repository",
    ),
    "wrong base branch": (
        {"base": {"ref": "develop", "repo": {"id": REPO_ID}}},
        "not merged into the default branch",
    ),
    "author not the awardee": (
        {"user": {"id": 777, "login": "sniper"}},
        "author is not the awardee",
    ),
    "self-merge": ({"merged_by": {"id": AWARDEE_ID, "login": "awardee"}}, "merged by its author"),
    # Someone took the awardee's old login: same name, another numeric id.
    "renamed login": ({"user": {"id": 31337, "login": "awardee"}}, "author is not the awardee"),
    "unlinked issue": ({"body": "A general cleanup."}, "does not close the opportunity's issue"),
}


@pytest.mark.parametrize("case", list(HOLDS))
def test_anything_wrong_puts_the_work_on_hold_with_a_reason(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_github: FakeGitHub,
    in_progress: Opportunity,
    case: str,
) -> None:
    changes, reason = HOLDS[case]
    fake_github.pulls[(REPO, PULL)] = _api_pull(**copy.deepcopy(changes))
    outcome = _process(client, db, settings)
    assert "on hold" in outcome
    assert reason in outcome
    assert state_of(db, Opportunity, in_progress.id) == "on_hold"
    event = db.scalars(select(AuditEvent).where(AuditEvent.to_state == "on_hold")).one()
    assert any(reason in r for r in event.details["reasons"])
    assert event.details["pull_request"] == PULL  # the evidence an admin needs


def test_a_payload_that_lies_about_merging_changes_nothing(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_github: FakeGitHub,
    in_progress: Opportunity,
) -> None:
    fake_github.pulls[(REPO, PULL)] = _api_pull(
        merged=False, user={"id": 1, "login": "x"}, body="nothing"
    )
    outcome = _process(client, db, settings)
    assert "unrelated" in outcome
    assert state_of(db, Opportunity, in_progress.id) == "in_progress"


def test_github_down_leaves_the_delivery_pending(
    client: TestClient, db: Session, in_progress: Opportunity
) -> None:
    assert post(client, merged_payload()).status_code == 202
    github = GitHubClient("http://127.0.0.1:9")
    try:
        assert flows.process_inbox(db, github) == 0
    finally:
        github.close()
    db.expire_all()
    delivery = db.scalars(select(WebhookDelivery)).one()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert state_of(db, Opportunity, in_progress.id) == "in_progress"


def test_the_inbox_stores_a_delivery_once_on_both_databases(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        with Session(engine) as session:
            assert store_delivery(session, "once", "ping", b"{}") is True
            session.commit()
            assert store_delivery(session, "once", "ping", b"{}") is False
            session.commit()
            assert _inbox(session) == 1
    finally:
        engine.dispose()


def test_a_merge_whose_webhook_never_arrived_is_found_by_the_reconcile_job(
    db: Session, settings: Settings, fake_github: FakeGitHub, in_progress: Opportunity
) -> None:
    # No delivery at all: only the periodic question to GitHub can find this merge.
    fake_github.pulls[(REPO, PULL)] = {**_api_pull(), "merged_at": "2026-11-25T10:00:00Z"}
    fake_github.pulls[(REPO, 5)] = _api_pull(
        number=5,
        user={"id": 1, "login": "someone"},
        body="Unrelated",
        merged_at="2026-11-25T09:00:00Z",
    )
    github = GitHubClient(settings.github_api_url)
    try:
        assert flows.reconcile(db, github) == 1
        assert flows.reconcile(db, github) == 0  # nothing left in progress: nothing twice
    finally:
        github.close()
    assert state_of(db, Opportunity, in_progress.id) == "merged"
    assert _inbox(db) == 0


def test_reconcile_survives_github_being_down(db: Session, in_progress: Opportunity) -> None:
    github = GitHubClient("http://127.0.0.1:9")
    try:
        assert flows.reconcile(db, github) == 0
    finally:
        github.close()
    assert state_of(db, Opportunity, in_progress.id) == "in_progress"
