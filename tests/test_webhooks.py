"""Issue 6, rule 1 and rule 2: signed webhooks into a durable inbox; a merge is verified
against the GitHub API before anything happens, and anything wrong puts the work on hold."""

from __future__ import annotations

import copy
import threading
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import jobs
from app.config import Settings
from app.db import inbox_not_stored, make_engine, store_once_sync
from app.github.client import GitHubClient, graphql_url
from app.github.webhooks import closed_issues, delivery_values, signature_is_valid
from app.main import create_app
from app.models import AuditEvent, Opportunity, StripeEvent, WebhookDelivery
from app.payonpull import tasks as payonpull_tasks
from tests.support.factories import state_of
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe
from tests.support.fake_stripe import deliver as deliver_stripe_event
from tests.support.pay_on_pull import (
    AWARDEE_ID,
    ISSUE,
    PULL,
    REPO,
    REPO_ID,
    api_pull,
    delivery_headers,
    in_progress_work,
    merged_payload,
    opportunity_of,
    run_jobs,
    sign,
)
from tests.support.server import ThreadedServer
from tests.support.web import app_of


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


def _rows(db: Session, model: type[WebhookDelivery] | type[StripeEvent]) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _inbox(db: Session) -> int:
    return _rows(db, WebhookDelivery)


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


def test_a_signed_body_the_inbox_cannot_store_is_refused_clearly(
    client: TestClient, db: Session
) -> None:
    body = b'{"action": "closed", "note": "a\x00b"}'  # a NUL byte, which PostgreSQL refuses
    response = post(client, body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert _inbox(db) == 0


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
            with httpx2.Client(base_url=server.url, timeout=300) as http:
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
            thread.join(timeout=300)
    finally:
        server.stop()
    assert statuses == [202] * 100
    assert _inbox(db) == 1


def _deliver_to(client: TestClient, inbox: str, stripe_event: dict[str, Any]) -> httpx2.Response:
    """One correctly signed delivery to one of the two inboxes, the same one every time."""
    if inbox == "github":
        return post(client, merged_payload(), delivery="d-busy")
    response: httpx2.Response = deliver_stripe_event(client, stripe_event)
    return response


@pytest.mark.parametrize("inbox", ["github", "stripe"])
def test_a_signed_delivery_the_inbox_cannot_take_is_answered_503_and_stored_once_when_resent(
    settings: Settings, db: Session, fake_stripe: FakeStripe, inbox: str
) -> None:
    """The inbox's only connection is busy past the wait: the sender is told to come back (503
    and Retry-After, never a 500), nothing is stored, and the same delivery sent again later
    (GitHub's redelivery, Stripe's retry) is stored once."""
    settings = settings.model_copy(update={"inbox_pool_size": 1, "inbox_wait_seconds": 0.2})
    model = WebhookDelivery if inbox == "github" else StripeEvent
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        portal, store = client.portal, app_of(client).state.inbox
        assert portal is not None  # the app's event loop, where the pool lives
        portal.call(store.open)
        stripe_event = fake_stripe.event("transfer.created", {"id": "tr_1"})
        counted = inbox_not_stored[model.__tablename__]
        held = portal.call(store.pool.getconn)
        try:
            refused = _deliver_to(client, inbox, stripe_event)
        finally:
            portal.call(store.pool.putconn, held)
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) > 0
        assert refused.headers["content-type"] == "application/problem+json"
        assert inbox_not_stored[model.__tablename__] == counted + 1  # the operator's count
        assert _rows(db, model) == 0
        assert _deliver_to(client, inbox, stripe_event).json() == {"status": "queued"}
        assert _deliver_to(client, inbox, stripe_event).json() == {"status": "duplicate"}
    assert _rows(db, model) == 1


def test_closing_keywords() -> None:
    body = "Fixes #12, closes other/repo#3 and resolves https://github.com/o/r/issues/4. See #9."
    assert closed_issues(body, "Me/Repo") == {("me/repo", 12), ("other/repo", 3), ("o/r", 4)}
    assert closed_issues(None, "me/repo") == set()


@pytest.fixture
def in_progress(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> Opportunity:
    """Funded work in progress: a wrong merge must hold it, and never pay."""
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    return opportunity_of(db, work)


def _process(client: TestClient, db: Session, settings: Settings, token: str = "") -> str:
    assert post(client, merged_payload()).status_code == 202
    github = GitHubClient(settings.github_api_url, token)
    try:
        assert payonpull_tasks.process_inbox(db, github, settings) == 1
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
    fake_github.pulls[(REPO, PULL)] = api_pull()
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
    fake_stripe: FakeStripe,
    case: str,
) -> None:
    changes, reason = HOLDS[case]
    fake_github.pulls[(REPO, PULL)] = api_pull(**copy.deepcopy(changes))
    outcome = _process(client, db, settings)
    assert "on hold" in outcome
    assert reason in outcome
    assert state_of(db, Opportunity, in_progress.id) == "on_hold"
    event = db.scalars(select(AuditEvent).where(AuditEvent.to_state == "on_hold")).one()
    assert any(reason in r for r in event.details["reasons"])
    assert event.details["pull_request"] == PULL  # the evidence an admin needs
    run_jobs(app_of(client).state.session_factory, settings, times=2)
    assert fake_stripe.transfer_requests == []


def test_an_issue_linked_in_the_sidebar_counts_when_a_token_lets_us_ask_graphql(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_github: FakeGitHub,
    in_progress: Opportunity,
) -> None:
    # No closing keyword in the body: the issue was linked by hand in the pull request's sidebar.
    fake_github.pulls[(REPO, PULL)] = api_pull(body="Focus now returns to the field.")
    fake_github.linked_issues[(REPO, PULL)] = [(REPO, ISSUE)]
    assert "verified merge" in _process(client, db, settings, token="platform-token")
    assert f"graphql {REPO}#{PULL}" in fake_github.requests
    assert state_of(db, Opportunity, in_progress.id) == "merged"


def test_a_pull_request_github_cannot_show_is_set_aside_and_blocks_nothing_behind_it(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_github: FakeGitHub,
    in_progress: Opportunity,
) -> None:
    # The first delivery's pull request is gone (deleted, or its repository made private).
    assert post(client, merged_payload(number=404), delivery="gone").status_code == 202
    fake_github.pulls[(REPO, PULL)] = api_pull()
    assert post(client, merged_payload(), delivery="ours").status_code == 202
    github = GitHubClient(settings.github_api_url)
    try:
        assert payonpull_tasks.process_inbox(db, github, settings) == 2
    finally:
        github.close()
    db.expire_all()
    gone = db.scalars(select(WebhookDelivery).where(WebhookDelivery.delivery_id == "gone")).one()
    assert (gone.status, gone.outcome.startswith("ignored: GitHub cannot show")) == (
        "ignored",
        True,
    )
    assert state_of(db, Opportunity, in_progress.id) == "merged"


def test_a_webhook_left_on_githubs_default_form_encoding_is_read_all_the_same(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_github: FakeGitHub,
    in_progress: Opportunity,
) -> None:
    fake_github.pulls[(REPO, PULL)] = api_pull()
    body = urlencode({"payload": merged_payload().decode()}).encode()
    headers = {**delivery_headers(body), "content-type": "application/x-www-form-urlencoded"}
    assert client.post("/webhooks/github", content=body, headers=headers).status_code == 202
    run_jobs(app_of(client).state.session_factory, settings, times=1)
    assert state_of(db, Opportunity, in_progress.id) in ("merged", "paid")
    delivery = db.scalars(select(WebhookDelivery)).one()
    assert delivery.repository_id == REPO_ID  # the repository shows as connected


def test_graphql_lives_beside_the_rest_api_on_github_com_and_enterprise_server() -> None:
    assert graphql_url("https://api.github.com") == "https://api.github.com/graphql"
    assert graphql_url("https://ghe.example/api/v3/") == "https://ghe.example/api/graphql"


def test_a_payload_that_lies_about_merging_changes_nothing(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_github: FakeGitHub,
    in_progress: Opportunity,
) -> None:
    fake_github.pulls[(REPO, PULL)] = api_pull(
        merged=False, user={"id": 1, "login": "x"}, body="nothing"
    )
    outcome = _process(client, db, settings)
    assert "unrelated" in outcome
    assert state_of(db, Opportunity, in_progress.id) == "in_progress"


def test_github_down_leaves_the_delivery_pending(
    client: TestClient, db: Session, settings: Settings, in_progress: Opportunity
) -> None:
    assert post(client, merged_payload()).status_code == 202
    assert jobs.money_path_work_waiting(db)  # new work: the worker starts at once
    github = GitHubClient("http://127.0.0.1:9")
    try:
        assert payonpull_tasks.process_inbox(db, github, settings) == 0
    finally:
        github.close()
    db.expire_all()
    delivery = db.scalars(select(WebhookDelivery)).one()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    # Tried and failed: it waits for the next regular run instead of hammering GitHub.
    assert not jobs.money_path_work_waiting(db)
    assert state_of(db, Opportunity, in_progress.id) == "in_progress"

    # A failure that never ends is given up at last, so it cannot hold up the inbox for ever.
    delivery.attempts = payonpull_tasks.MAX_DELIVERY_ATTEMPTS - 1
    db.commit()
    github = GitHubClient("http://127.0.0.1:9")
    try:
        payonpull_tasks.process_inbox(db, github, settings)
    finally:
        github.close()
    db.expire_all()
    given_up = db.scalars(select(WebhookDelivery)).one()
    assert given_up.status == "ignored"
    assert given_up.outcome.startswith("ignored: gave up after")


def test_the_inbox_stores_a_delivery_once_on_both_databases(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        with Session(engine) as session:
            values = delivery_values("once", "ping", b"{}")
            assert store_once_sync(session, WebhookDelivery, "delivery_id", values) is True
            session.commit()
            assert store_once_sync(session, WebhookDelivery, "delivery_id", values) is False
            session.commit()
            assert _inbox(session) == 1
    finally:
        engine.dispose()


def test_a_merge_whose_webhook_never_arrived_is_found_by_the_reconcile_job(
    db: Session, settings: Settings, fake_github: FakeGitHub, in_progress: Opportunity
) -> None:
    # No delivery at all: only the periodic question to GitHub can find this merge.
    fake_github.pulls[(REPO, PULL)] = {**api_pull(), "merged_at": "2026-11-25T10:00:00Z"}
    fake_github.pulls[(REPO, 5)] = api_pull(
        number=5,
        user={"id": 1, "login": "someone"},
        body="Unrelated",
        merged_at="2026-11-25T09:00:00Z",
    )
    github = GitHubClient(settings.github_api_url)
    try:
        assert payonpull_tasks.reconcile(db, github, settings) == 1
        assert (
            payonpull_tasks.reconcile(db, github, settings) == 0
        )  # nothing left in progress: nothing twice
    finally:
        github.close()
    assert state_of(db, Opportunity, in_progress.id) == "merged"
    assert _inbox(db) == 0


def test_reconcile_survives_github_being_down(
    db: Session, settings: Settings, in_progress: Opportunity
) -> None:
    github = GitHubClient("http://127.0.0.1:9")
    try:
        assert payonpull_tasks.reconcile(db, github, settings) == 0
    finally:
        github.close()
    assert state_of(db, Opportunity, in_progress.id) == "in_progress"
