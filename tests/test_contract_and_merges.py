"""Issue 13, money: the contract is the winning bid, not the budget; a merge concerns the
opportunity whose issue it closes; a merge before the funding is paid once the work starts;
the reconcile job reads every page of closed pull requests back to the award."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from app import jobs
from app.attention import service as attention
from app.config import Settings
from app.errors import Conflict
from app.github.client import GitHubClient
from app.models import AuditEvent
from app.models.base import utcnow
from app.payments import repository as payments_repository
from app.payments import service as payments
from app.payments.gateway import gateway_for
from app.payonpull import service as payonpull
from app.payonpull import tasks as payonpull_tasks
from tests.conftest import empty_all_tables
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe, deliver
from tests.support.pay_on_pull import (
    BID,
    ISSUE,
    PULL,
    REPO,
    Work,
    api_pull,
    awarded_work,
    connect_developer,
    delivery_headers,
    fund_at_stripe,
    ledger_balance,
    merged_payload,
    opportunity_of,
    run_jobs,
    start_work,
)
from tests.support.web import app_of

OTHER_ISSUE, OTHER_PULL = ISSUE + 1, PULL + 1


def _merge(client: TestClient, fake_github: FakeGitHub, number: int, issue: int) -> None:
    """The awardee's pull request that fixes ``issue`` is merged, and GitHub calls."""
    fake_github.pulls[(REPO, number)] = api_pull(number=number, body=f"Fixes #{issue}")
    body = merged_payload(number=number, body=f"Fixes #{issue}")
    headers = delivery_headers(body, delivery=f"merge-{number}")
    assert client.post("/webhooks/github", content=body, headers=headers).status_code == 202


def _jobs(client: TestClient, settings: Settings) -> None:
    run_jobs(app_of(client).state.session_factory, settings, times=2)


def _holds(db: Session) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent).where(
                AuditEvent.subject_type == "opportunity", AuditEvent.to_state == "on_hold"
            )
        )
    )


@pytest.mark.parametrize("first_merged", ["x", "y"])
def test_two_opportunities_in_one_repository_with_one_awardee_are_each_paid_once(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    first_merged: str,
) -> None:
    x = awarded_work(db, fake_github, bid=240_000)
    y = awarded_work(db, fake_github, issue=OTHER_ISSUE, bid=130_000, beside=x)
    start_work(db, settings, fake_stripe, x)
    start_work(db, settings, fake_stripe, y)
    _jobs(client, settings)
    pulls = {"x": (x, PULL, ISSUE), "y": (y, OTHER_PULL, OTHER_ISSUE)}
    first, second = (pulls["x"], pulls["y"]) if first_merged == "x" else (pulls["y"], pulls["x"])

    _merge(client, fake_github, first[1], first[2])
    _jobs(client, settings)
    # The other work's merge is not in yet: it stays in progress, and reconciling agrees.
    with GitHubClient.from_settings(settings) as github:
        payonpull_tasks.reconcile(db, github, settings)
    assert opportunity_of(db, first[0]).state == "paid"
    assert opportunity_of(db, second[0]).state == "in_progress"

    _merge(client, fake_github, second[1], second[2])
    _jobs(client, settings)
    assert (opportunity_of(db, x).state, opportunity_of(db, y).state) == ("paid", "paid")
    assert sorted(t["amount"] for t in fake_stripe.transfers.values()) == [130_000, 240_000]
    assert _holds(db) == []
    assert (ledger_balance(db, x), ledger_balance(db, y)) == (0, 0)
    # The public figure adds up the contracts, not the two budgets of $2,500.00.
    assert "$3,700.00" in client.get("/").text


def _sniped(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> Work:
    """Work in progress whose issue someone else's merged pull request closes."""
    work = awarded_work(db, fake_github)
    start_work(db, settings, fake_stripe, work)
    fake_github.pulls[(REPO, PULL)] = api_pull(user={"id": 4242, "login": "sniper"})
    body = merged_payload()
    assert client.post("/webhooks/github", content=body, headers=delivery_headers(body)).is_success
    _jobs(client, settings)
    return work


def test_someone_elses_merge_that_closes_the_issue_still_holds_the_work(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work = _sniped(client, db, settings, fake_stripe, fake_github)
    assert opportunity_of(db, work).state == "on_hold"
    assert fake_stripe.transfers == {}


def test_a_merge_before_the_funding_is_paid_as_soon_as_the_work_starts(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work = awarded_work(db, fake_github, accepted=True)
    deliver(client, connect_developer(db, settings, fake_stripe, work))
    # The awardee's pull request is merged while the team has not paid yet: nothing to pay.
    _merge(client, fake_github, PULL, ISSUE)
    _jobs(client, settings)
    assert opportunity_of(db, work).state == "awarded"

    # Finance pays; only Stripe's webhooks say so (nobody came back from the checkout).
    for event in fund_at_stripe(db, settings, fake_stripe, work):
        assert deliver(client, event).status_code == 200
    factory = app_of(client).state.session_factory
    with factory() as session:
        assert jobs.money_path_work_waiting(session)  # the worker wakes at once
    # One regular pass of the worker, no reconcile: the work starts, GitHub is asked about
    # its issue, and the merge that came first is verified and paid.
    jobs.run_periodic_jobs_once(factory, settings)
    [transfer] = fake_stripe.transfers.values()
    assert transfer["amount"] == BID
    assert opportunity_of(db, work).state in ("merged", "paid")
    with factory() as session:
        assert not jobs.money_path_work_waiting(session)  # asked once, not four times a second


def _github_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_reconcile_finds_a_merge_older_than_the_first_page_of_closed_pull_requests(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> None:
    work = awarded_work(db, fake_github)
    start_work(db, settings, fake_stripe, work)
    merged_at = utcnow()
    fake_github.pulls[(REPO, PULL)] = api_pull(updated_at=_github_time(merged_at))
    # A busy repository: 250 more pull requests were closed after the awardee's merge.
    for n in range(250):
        later = _github_time(merged_at + timedelta(seconds=n + 1))
        fake_github.pulls[(REPO, 1000 + n)] = api_pull(
            number=1000 + n, user={"id": 7, "login": "busy"}, body="Tidy", updated_at=later
        )
    with GitHubClient.from_settings(settings) as github:
        assert payonpull_tasks.reconcile(db, github, settings) == 1
    assert opportunity_of(db, work).state == "merged"
    assert [r for r in fake_github.requests if r.startswith("pulls ")][-1].endswith("page 3")


def test_reconcile_stops_paging_at_the_award(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> None:
    work = awarded_work(db, fake_github)
    start_work(db, settings, fake_stripe, work)
    for number in range(1000, 1250):  # closed long before the work was awarded
        fake_github.pulls[(REPO, number)] = api_pull(
            number=number, user={"id": 7, "login": "old"}, updated_at="2020-01-01T00:00:00Z"
        )
    with GitHubClient.from_settings(settings) as github:
        assert payonpull_tasks.reconcile(db, github, settings) == 0
    assert [r for r in fake_github.requests if r.startswith("pulls ")] == [
        f"pulls {REPO} closed page 1"
    ]
    assert opportunity_of(db, work).state == "in_progress"


def test_a_dismissed_pull_request_does_not_hold_the_work_again(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work = _sniped(client, db, settings, fake_stripe, fake_github)
    admin = work.owner  # any administrator; the flow function checks nothing about the actor
    attention.dismiss_hold(db, opportunity_of(db, work), admin)
    db.commit()
    with GitHubClient.from_settings(settings) as github:
        assert payonpull_tasks.reconcile(db, github, settings) == 0
    assert opportunity_of(db, work).state == "in_progress"
    assert len(_holds(db)) == 1


@hypothesis_settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    budget=st.integers(min_value=1, max_value=999_900),
    share=st.floats(min_value=0.0, max_value=1.0),
    fee_basis_points=st.sampled_from([0, 1, 250, 333, 1_000, 9_999]),
)
def test_every_award_is_funded_and_paid_at_its_price_less_the_fee(
    engine: Engine,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    budget: int,
    share: float,
    fee_basis_points: int,
) -> None:
    bid = max(1, round(budget * share))
    # The fee is a share of the contract, rounded down to the cent (README: the platform fee).
    fee = bid * fee_basis_points // 10_000
    settings = settings.model_copy(update={"platform_fee_basis_points": fee_basis_points})
    empty_all_tables(engine)
    fake_github.reset()
    fake_stripe.reset()
    with Session(engine, expire_on_commit=False) as db:
        work = awarded_work(db, fake_github, budget=budget, bid=bid)
        start_work(db, settings, fake_stripe, work)
        [checkout] = fake_stripe.sessions
        assert fake_stripe.checkout_amount(checkout) == bid
        fake_github.pulls[(REPO, PULL)] = api_pull()
        with GitHubClient.from_settings(settings) as github:
            assert payonpull_tasks.reconcile(db, github, settings) == 1
        run_jobs(sessionmaker(engine), settings)
        [transfer] = fake_stripe.transfers.values()
        assert transfer["amount"] == bid - fee
        assert ledger_balance(db, work) == 0
        funded = [e for e in _ledger(db, work) if e[0] == "funding" and e[2] > 0]
        assert funded == [("funding", "platform:holding", bid)]


def _ledger(db: Session, work: Work) -> list[tuple[str, str, int]]:
    payout = payments_repository.payout_for(db, work.opportunity_id)
    assert payout is not None
    return [
        (e.movement, e.account, e.amount_cents)
        for e in payments_repository.ledger_of(db, payout.id)
    ]


def test_work_held_before_it_started_cannot_be_dismissed_into_progress(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> None:
    # Funded, but the developer never accepted the contract; then something held it.
    work = awarded_work(db, fake_github)
    fund_at_stripe(db, settings, fake_stripe, work)
    payments.confirm_funding(
        db, gateway_for(settings), opportunity_of(db, work), follow=payonpull.follow_payout
    )
    payonpull.hold_work(db, opportunity_of(db, work), ["the team's payment is disputed"], {})
    db.commit()
    with pytest.raises(Conflict):
        attention.dismiss_hold(db, opportunity_of(db, work), work.owner)
    db.rollback()
    assert opportunity_of(db, work).state == "on_hold"


def test_started_work_whose_repository_github_cannot_show_is_asked_about_once(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work = awarded_work(db, fake_github)
    start_work(db, settings, fake_stripe, work)
    fake_github.repositories.clear()  # deleted, or made private
    factory = app_of(client).state.session_factory
    jobs.run_periodic_jobs_once(factory, settings)
    asked = [r for r in fake_github.requests if r.startswith("pulls ")]
    assert len(asked) == 1
    # An answer, not an outage: the next runs leave it to the reconcile job.
    with time_machine.travel(utcnow() + timedelta(minutes=5), tick=False):
        jobs.run_periodic_jobs_once(factory, settings)
    assert [r for r in fake_github.requests if r.startswith("pulls ")] == asked
    assert opportunity_of(db, work).state == "in_progress"
