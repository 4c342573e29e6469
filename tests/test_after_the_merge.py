"""Issue 6, after a verified merge: the release delay, and the signs that the work was undone
before the money left (a revert, a reopened pull request, a reopened issue); and the quality
gate, which pays only when the merged commit's checks passed."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app import jobs
from app.config import Settings
from app.github.webhooks import reverted_pulls
from app.models import AuditEvent, Opportunity, Payout
from app.models.base import utcnow
from app.payments import repository as payments_repository
from app.payonpull import service as payonpull
from tests.support.factories import make_user
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe
from tests.support.pay_on_pull import (
    MERGE_SHA,
    PULL,
    REPO,
    Work,
    api_pull,
    delivery_headers,
    in_progress_work,
    ledger_balance,
    merged_payload,
    opportunity_of,
    payout_of,
    ping_payload,
    reopened_issue_payload,
    reopened_pull_payload,
    run_jobs,
)
from tests.support.web import app_of, post_form, sign_in

REVERT = 78


@pytest.fixture
def release_delay() -> int:
    return 3600


@pytest.fixture
def settings(settings: Settings, release_delay: int) -> Settings:
    return settings.model_copy(update={"release_delay_seconds": release_delay})


def _deliver(client: TestClient, body: bytes, delivery: str, event: str = "pull_request") -> None:
    response = client.post(
        "/webhooks/github", content=body, headers=delivery_headers(body, delivery, event)
    )
    assert response.status_code == 202


def _jobs(client: TestClient, settings: Settings) -> None:
    run_jobs(app_of(client).state.session_factory, settings, times=2)


def _merge(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> Work:
    """Funded work in progress whose awardee's pull request is merged and verified."""
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    fake_github.pulls[(REPO, PULL)] = api_pull()
    _deliver(client, merged_payload(), "merge")
    _jobs(client, settings)
    return work


def _revert_payload() -> bytes:
    """GitHub's revert button: a new pull request whose body says what it reverts."""
    return merged_payload(
        number=REVERT,
        body=f"Reverts {REPO}#{PULL}",
        user={"id": 31, "login": "maintainer"},
    )


def test_with_a_release_delay_the_payment_waits_then_leaves(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    merging = utcnow()
    work = _merge(client, db, settings, fake_stripe, fake_github)
    merged = utcnow()
    assert (opportunity_of(db, work).state, payout_of(db, work).state) == ("merged", "funded")
    due = payout_of(db, work).release_due_at
    assert due is not None
    assert merging + timedelta(hours=1) <= due <= merged + timedelta(hours=1)  # the fixture's hour
    # The clock is moved, not waited for: on a busy machine a real wait races the delay.
    with time_machine.travel(due - timedelta(seconds=1), tick=False):
        assert not jobs.money_path_work_waiting(db)  # not due yet: the worker sleeps
        _jobs(client, settings)
        assert (opportunity_of(db, work).state, payout_of(db, work).state) == ("merged", "funded")
    assert fake_stripe.transfer_requests == []
    with time_machine.travel(due, tick=False):
        assert jobs.money_path_work_waiting(db)  # due: the worker starts at once
        _jobs(client, settings)
    assert (opportunity_of(db, work).state, payout_of(db, work).state) == ("paid", "paid")
    assert len(fake_stripe.transfers) == 1
    assert ledger_balance(db, work) == 0


@pytest.mark.parametrize(
    ("event", "body", "reason", "in_french"),
    [
        ("pull_request", _revert_payload(), f"reverted: #{REVERT}", f"annulée (revert): #{REVERT}"),
        ("pull_request", reopened_pull_payload(), "pull request was reopened", "a été rouverte"),
        ("issues", reopened_issue_payload(), "issue was reopened", "ticket a été rouvert"),
    ],
    ids=["revert", "reopened-pull-request", "reopened-issue"],
)
def test_a_sign_the_work_was_undone_before_the_release_holds_the_payment(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    event: str,
    body: bytes,
    reason: str,
    in_french: str,
) -> None:
    work = _merge(client, db, settings, fake_stripe, fake_github)
    _deliver(client, body, "undone", event)
    _jobs(client, settings)
    assert opportunity_of(db, work).state == "on_hold"
    assert payout_of(db, work).release_due_at is None  # the due time passing changes nothing
    # Everyone sees that the payment waits, and why not (the reasons are for administrators).
    public = client.get(f"/opportunities/{work.opportunity_id}").text
    assert "The payment is on hold until an administrator has looked at it." in public
    assert reason not in public
    assert fake_stripe.transfer_requests == []
    admin = make_user(db, is_admin=True)
    db.commit()
    sign_in(client, admin)
    assert reason in client.get("/admin/attention").text
    assert in_french in client.get("/admin/attention?lang=fr").text
    # The administrators decide: here, the team gets its money back.
    oid = work.opportunity_id
    form = {"reason": "Reverted"}
    assert post_form(client, f"/admin/attention/{oid}/refund", form).status_code == 303
    _jobs(client, settings)
    assert (opportunity_of(db, work).state, payout_of(db, work).state) == (
        "cancelled",
        "refunded",
    )
    assert fake_stripe.transfer_requests == []
    assert ledger_balance(db, work) == 0


def _wait_until_it_waits_for_a_lock(engine: Engine, thread: threading.Thread) -> None:
    """Until PostgreSQL reports a session of this database waiting for a lock. Asked rather
    than slept on: a fixed pause proves nothing when the machine is too busy to start the
    thread in time."""
    deadline = time.monotonic() + 120
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while True:
        with engine.connect() as connection:
            if connection.scalar(waiting):
                return
        assert thread.is_alive(), "it decided without waiting for the release"
        assert time.monotonic() < deadline, "nothing waited for the payout's row lock"
        time.sleep(0.05)


def test_a_sign_racing_the_release_waits_for_it_and_never_holds_money_on_its_way(
    client: TestClient,
    db: Session,
    engine: Engine,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    """PostgreSQL: the release job holds the payout's row lock while it releases; a revert
    processed at that moment waits for it, then sees the money on its way and only records."""
    work = _merge(client, db, settings, fake_stripe, fake_github)
    payout = payout_of(db, work)
    payout.release_due_at = utcnow() - timedelta(seconds=1)
    db.commit()
    outcome: list[str] = []

    def revert_arrives() -> None:
        with Session(engine) as session:
            opportunity = session.get(Opportunity, work.opportunity_id)
            assert opportunity is not None
            outcome.append(payonpull.hold_unreleased(session, opportunity, "reverted", {}))
            session.commit()

    with Session(engine) as release_job:
        due = payments_repository.claim_payout(release_job, Payout.id == payout.id)
        assert due is not None
        revert = threading.Thread(target=revert_arrives)
        revert.start()
        _wait_until_it_waits_for_a_lock(engine, revert)  # not deciding on a stale read
        payonpull.release_due(release_job, due)
        release_job.commit()
    revert.join(timeout=120)
    assert not revert.is_alive()
    [said] = outcome
    assert "after the payment was released" in said
    assert (opportunity_of(db, work).state, payout_of(db, work).state) == ("merged", "releasing")


def test_an_unrelated_revert_or_reopening_changes_nothing(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work = _merge(client, db, settings, fake_stripe, fake_github)
    _deliver(client, merged_payload(number=79, body=f"Reverts {REPO}#5"), "other-revert")
    _deliver(client, reopened_pull_payload(5), "other-pull", "pull_request")
    _deliver(client, reopened_issue_payload(99), "other-issue", "issues")
    _jobs(client, settings)
    assert (opportunity_of(db, work).state, payout_of(db, work).state) == ("merged", "funded")


@pytest.mark.parametrize("release_delay", [0])
def test_a_revert_after_the_release_is_recorded_and_the_payment_stands(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work = _merge(client, db, settings, fake_stripe, fake_github)
    assert payout_of(db, work).state in ("released", "paid")
    _deliver(client, _revert_payload(), "late-revert")
    _jobs(client, settings)
    assert opportunity_of(db, work).state in ("merged", "paid")
    assert len(fake_stripe.transfer_requests) == 1
    [details] = db.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "opportunity.undone_after_release")
    ).all()
    assert details["reason"] == f"the verified pull request was reverted: #{REVERT}"
    admin = make_user(db, is_admin=True)
    db.commit()
    sign_in(client, admin)
    queue = client.get("/admin/attention?lang=fr").text
    assert f"la demande de tirage vérifiée a été annulée (revert): #{REVERT}" in queue


def test_revert_bodies_are_read_as_github_writes_them() -> None:
    assert reverted_pulls("Reverts gc-demo/forms#77", "gc-demo/forms") == {("gc-demo/forms", 77)}
    assert reverted_pulls("reverts #77\n\nBroke the build", "GC-Demo/Forms") == {
        ("gc-demo/forms", 77)
    }
    assert reverted_pulls("Fixes #77", "gc-demo/forms") == set()
    assert reverted_pulls(None, "gc-demo/forms") == set()


# --- the quality gate ---------------------------------------------------------------------


def _gated_merge(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    checks: list[tuple[str, str]],
    statuses: list[tuple[str, str]],
) -> Work:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    opportunity_of(db, work).require_passing_checks = True
    db.commit()
    key = (REPO.lower(), MERGE_SHA)
    fake_github.check_runs[key] = [
        {
            "name": name,
            "status": "completed" if result != "in_progress" else result,
            "conclusion": None if result == "in_progress" else result,
        }
        for name, result in checks
    ]
    fake_github.statuses[key] = [{"context": name, "state": state} for name, state in statuses]
    fake_github.pulls[(REPO, PULL)] = api_pull()
    _deliver(client, merged_payload(), "gated-merge")
    _jobs(client, settings)
    return work


def _transition_details(db: Session, to_state: str) -> dict[str, Any]:
    details = db.scalars(
        select(AuditEvent.details).where(
            AuditEvent.action == "opportunity.transition", AuditEvent.to_state == to_state
        )
    ).one()
    return dict(details)


@pytest.mark.parametrize("release_delay", [0])
def test_the_quality_gate_pays_when_every_check_passed_and_records_them(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    checks = [("tests", "success"), ("docs", "skipped")]
    work = _gated_merge(
        client, db, settings, fake_stripe, fake_github, checks, [("ci/lint", "success")]
    )
    assert opportunity_of(db, work).state == "paid"
    assert len(fake_stripe.transfers) == 1
    details = _transition_details(db, "merged")
    assert details["checks"] == {"tests": "success", "docs": "skipped", "ci/lint": "success"}


@pytest.mark.parametrize(
    ("checks", "statuses", "reason"),
    [
        ([("tests", "failure")], [], "a required check did not pass: tests"),
        ([("tests", "success")], [("ci/lint", "error")], "did not pass: ci/lint"),
        ([("tests", "in_progress")], [], "did not pass: tests"),
        ([], [], "no check ran on the merged commit"),
    ],
    ids=["failed-check-run", "failed-status", "still-running", "none"],
)
@pytest.mark.parametrize("release_delay", [0])
def test_the_quality_gate_holds_the_payment_when_a_check_did_not_pass(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    checks: list[tuple[str, str]],
    statuses: list[tuple[str, str]],
    reason: str,
) -> None:
    work = _gated_merge(client, db, settings, fake_stripe, fake_github, checks, statuses)
    assert opportunity_of(db, work).state == "on_hold"
    assert fake_stripe.transfer_requests == []
    assert any(reason in text for text in _transition_details(db, "on_hold")["reasons"])


# --- the repository connection, and the gate as a team sets it -------------------------------


def test_the_team_sees_whether_the_repository_is_connected_and_how_to_connect_it(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    page = f"/opportunities/{work.opportunity_id}"
    sign_in(client, work.owner)
    text = client.get(page).text
    assert "Not connected yet" in text
    assert f"{settings.base_url}/webhooks/github" in text
    assert "Only a merge into the default branch, main, is paid." in text
    _deliver(client, ping_payload(), "ping", "ping")
    _jobs(client, settings)
    assert "Connected: GitHub last sent an event from" in client.get(page).text
    sign_in(client, work.developer)  # not the team's business: no connection section
    assert "Repository connection" not in client.get(page).text
