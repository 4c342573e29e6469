"""Issue 6: fund at award, verify the merge, release exactly one payment — through the real
stripe SDK against a local Stripe-compatible server, and the real pages."""

from __future__ import annotations

import itertools
import json

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import jobs
from app.config import Settings
from app.errors import Conflict
from app.github import narration
from app.github import tasks as github_tasks
from app.main import create_app
from app.models import AuditEvent, IssueComment, LedgerEntry, StripeEvent
from app.payments import repository as payments_repository
from app.payments import service as payments
from app.payments import tasks as payment_tasks
from app.payments.gateway import gateway_for
from app.payonpull import service as payonpull
from tests.support.factories import make_opportunity, make_user
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import (
    CONNECT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    FakeStripe,
    deliver,
    signature_header,
)
from tests.support.pay_on_pull import (
    ISSUE,
    PULL,
    REPO,
    REPO_ID,
    Work,
    api_pull,
    awarded_work,
    connect_developer,
    delivery_headers,
    fund_at_stripe,
    in_progress_work,
    ledger_balance,
    merged_payload,
    opportunity_of,
    payout_of,
    run_jobs,
)
from tests.support.web import app_of, post_form, sign_in


def _jobs(client: TestClient, settings: Settings, times: int = 2) -> None:
    run_jobs(app_of(client).state.session_factory, settings, times)


def _lines(db: Session, work: Work) -> list[tuple[str, str, int]]:
    return [
        (e.movement, e.account, e.amount_cents)
        for e in payments_repository.ledger_of(db, payout_of(db, work).id)
    ]


def test_the_whole_flow_through_the_pages(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work = awarded_work(db, fake_github)
    oid = work.opportunity_id

    # The developer accepts and sets up payouts on Stripe.
    sign_in(client, work.developer)
    page = f"/opportunities/{oid}/proposal"
    assert post_form(client, f"/opportunities/{oid}/award/accept", {}, page).status_code == 303
    response = post_form(client, "/account/payouts/connect", {}, "/account/payouts")
    assert response.headers["location"].startswith(f"{fake_stripe.url}/connect/onboarding/acct_")
    account_id = response.headers["location"].rsplit("/", 1)[1]
    assert deliver(client, fake_stripe.enable_payouts(account_id)).json() == {"status": "queued"}
    _jobs(client, settings)
    assert "Ready to receive payouts" in client.get("/account/payouts").text

    # The team's approver signs off the winning bid (not the budget) on the funding page.
    sign_in(client, work.approver)
    signoff_page = client.get(f"/opportunities/{oid}/funding").text
    assert "$2,400.00 for funding" in signoff_page
    assert "$2,500.00" not in signoff_page
    funding = f"/opportunities/{oid}/funding"
    assert post_form(client, f"{funding}/sign-off", {}, funding).status_code == 303

    # Finance pays the winning bid (not the budget) on Stripe's checkout and comes back: the
    # work is in progress.
    sign_in(client, work.finance)
    funding_page = client.get(f"/opportunities/{oid}/funding").text
    assert "$2,400.00" in funding_page
    assert "$2,500.00" not in funding_page
    response = post_form(client, f"/opportunities/{oid}/funding", {}, f"/opportunities/{oid}")
    assert response.status_code == 303
    session_id = response.headers["location"].rsplit("/", 1)[1]
    assert fake_stripe.checkout_amount(session_id) == 240_000
    funding_events = fake_stripe.complete_checkout(session_id)
    client.get(f"/opportunities/{oid}/funding/return")
    assert opportunity_of(db, work).state == "in_progress"
    assert payout_of(db, work).state == "funded"

    # The awardee's pull request is merged; GitHub calls; the worker verifies and transfers.
    fake_github.pulls[(REPO, PULL)] = api_pull()
    body = merged_payload()
    assert client.post("/webhooks/github", content=body, headers=delivery_headers(body)).is_success
    _jobs(client, settings)
    [transfer] = fake_stripe.transfers.values()
    payout = payout_of(db, work)
    assert transfer["amount"] == 240_000
    assert transfer["destination"] == account_id
    assert transfer["source_transaction"] == payout.charge_id
    assert transfer["transfer_group"] == f"opportunity-{oid}"
    assert fake_stripe.idempotent.get(("transfer", f"payout-{payout.id}-transfer"))

    # Stripe's events arrive late, all of them; nothing changes but the confirmation.
    for event in [*funding_events, *fake_stripe.transfer_events()]:
        assert deliver(client, event).status_code == 200
    _jobs(client, settings)
    assert payout_of(db, work).state == "paid"
    assert opportunity_of(db, work).state == "paid"
    assert len(fake_stripe.transfers) == 1
    assert ledger_balance(db, work) == 0
    assert _lines(db, work) == [
        ("funding", f"team:{work.team.id}", -240_000),
        ("funding", "platform:holding", 240_000),
        ("release", "platform:holding", -240_000),
        ("release", f"developer:{work.developer.id}", 240_000),
    ]
    # Narration on the issue, without private details, for the contract's amount.
    [(repo, issue, text)] = [c for c in fake_github.comments if "released" in c[2]]
    assert (repo, issue) == (REPO.lower(), ISSUE)
    assert account_id not in text
    assert "$2,400.00" in text

    # The printable record: finance and the developer, nobody else.
    record = f"/opportunities/{oid}/payment-record"
    assert "$2,400.00" in client.get(record).text
    assert "$2,400.00" in client.get(f"/opportunities/{oid}/money").text
    assert client.get(f"/opportunities/{oid}/money").status_code == 200
    sign_in(client, work.developer)
    assert client.get(record).status_code == 200
    assert client.get(f"/opportunities/{oid}/money").status_code == 403
    stranger = make_user(db)
    db.commit()
    sign_in(client, stranger)
    assert client.get(record).status_code == 404


def _stripe_events(db: Session) -> int:
    return len(db.scalars(select(StripeEvent)).all())


@pytest.mark.parametrize(
    "header",
    [
        None,
        "t=1,v1=" + "0" * 64,
        "nonsense",
        "old",
        "other-secret",
    ],
)
def test_a_bad_old_or_missing_stripe_signature_is_refused_and_nothing_is_stored(
    client: TestClient, db: Session, fake_stripe: FakeStripe, header: str | None
) -> None:
    payload = json.dumps(fake_stripe.event("transfer.created", {"id": "tr_1"})).encode()
    headers = {"content-type": "application/json"}
    if header == "old":  # a replay of a real event, ten minutes later
        headers["stripe-signature"] = signature_header(payload, timestamp=1_000_000_000)
    elif header == "other-secret":
        headers["stripe-signature"] = signature_header(payload, secret="whsec_other")
    elif header is not None:
        headers["stripe-signature"] = header
    response = client.post("/webhooks/stripe", content=payload, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert _stripe_events(db) == 0


def test_stripe_events_are_stored_once_and_livemode_is_checked(
    client: TestClient, db: Session, fake_stripe: FakeStripe
) -> None:
    event = fake_stripe.event("transfer.created", {"id": "tr_1"})
    assert deliver(client, event).json() == {"status": "queued"}
    assert deliver(client, event).json() == {"status": "duplicate"}
    live = fake_stripe.event("transfer.created", {"id": "tr_2"}, livemode=True)
    assert deliver(client, live).json()["status"] == "ignored"
    assert _stripe_events(db) == 1


CONNECT = "/webhooks/stripe/connect"


def test_payouts_enabled_after_onboarding_reach_the_work_through_the_connect_endpoint(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    # Funded and accepted, but Stripe enables the developer's payouts only after they have left
    # its onboarding: the news comes as a connected account's event, which Stripe sends to the
    # Connect endpoint alone, signed with that endpoint's own secret.
    work = awarded_work(db, fake_github, accepted=True)
    enabled = connect_developer(db, settings, fake_stripe, work)
    for event in fund_at_stripe(db, settings, fake_stripe, work):
        deliver(client, event)
    _jobs(client, settings)
    assert (payout_of(db, work).state, opportunity_of(db, work).state) == ("funded", "awarded")
    stored = _stripe_events(db)

    # The platform's secret does not sign for the Connect endpoint, nor the reverse.
    assert deliver(client, enabled, endpoint=CONNECT).status_code == 401
    assert deliver(client, enabled, secret=CONNECT_WEBHOOK_SECRET).status_code == 401
    # Of a connected account's events, only account.updated is kept.
    other = fake_stripe.event("payout.paid", {"id": "po_1"}, account=enabled["account"])
    sent = deliver(client, other, secret=CONNECT_WEBHOOK_SECRET, endpoint=CONNECT)
    assert (sent.status_code, sent.json()["status"]) == (200, "ignored")
    assert _stripe_events(db) == stored

    sent = deliver(client, enabled, secret=CONNECT_WEBHOOK_SECRET, endpoint=CONNECT)
    assert sent.json() == {"status": "queued"}
    again = deliver(client, enabled, secret=CONNECT_WEBHOOK_SECRET, endpoint=CONNECT)
    assert again.json() == {"status": "duplicate"}
    _jobs(client, settings)
    assert opportunity_of(db, work).state == "in_progress"
    account = payments_repository.account_of(db, work.developer.id)
    assert account is not None
    assert account.payouts_enabled


def test_the_connect_endpoint_refuses_everything_while_its_secret_is_unset(
    db: Session, settings: Settings, fake_stripe: FakeStripe
) -> None:
    unset = settings.model_copy(update={"stripe_connect_webhook_secret": SecretStr("")})
    event = fake_stripe.event("account.updated", {"id": "acct_1"}, account="acct_1")
    with TestClient(create_app(unset)) as client:
        for secret in ("", CONNECT_WEBHOOK_SECRET, WEBHOOK_SECRET):
            assert deliver(client, event, secret=secret, endpoint=CONNECT).status_code == 401
    assert _stripe_events(db) == 0


FUNDING_EVENTS = ["account.updated", "charge.succeeded", "payment_intent.succeeded"]


@pytest.mark.parametrize(
    "order", list(itertools.permutations([*FUNDING_EVENTS, "checkout.session.completed"]))
)
def test_every_ordering_of_the_funding_events_ends_in_the_same_state(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    order: tuple[str, ...],
) -> None:
    # Nobody came back from checkout or onboarding: only Stripe's events tell us.
    work = awarded_work(db, fake_github, accepted=True)
    events = {"account.updated": connect_developer(db, settings, fake_stripe, work)}
    events |= {e["type"]: e for e in fund_at_stripe(db, settings, fake_stripe, work)}
    for name in order:
        deliver(client, events[name])
        _jobs(client, settings, times=1)
    deliver(client, events[order[0]])  # and a retry of the first, for good measure
    _jobs(client, settings)
    assert (payout_of(db, work).state, opportunity_of(db, work).state) == (
        "funded",
        "in_progress",
    )
    assert [m for m, _a, _c in _lines(db, work)] == ["funding", "funding"]
    assert ledger_balance(db, work) == 0


def test_a_reversed_transfer_is_never_taken_for_paid_and_waits_for_an_administrator(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work, _held_back = in_progress_work(db, settings, fake_stripe, fake_github)
    payments.request_release(db, opportunity_of(db, work), actor=None)
    db.commit()
    payments.send_transfer(
        db, gateway_for(settings), payout_of(db, work), follow=payonpull.follow_payout
    )
    db.commit()
    [transfer] = fake_stripe.transfers.values()
    transfer["reversed"] = True  # the platform pulled the money back from the developer
    deliver(client, fake_stripe.event("transfer.reversed", transfer))
    deliver(client, fake_stripe.event("transfer.created", transfer))  # late, and stale
    _jobs(client, settings, times=3)
    assert payout_of(db, work).state == "released"  # never confirmed as paid
    admin = make_user(db, is_admin=True)
    db.commit()
    sign_in(client, admin)
    page = client.get("/admin/attention").text
    assert f'href="/opportunities/{work.opportunity_id}/money"' in page
    assert "reversed" in page
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "payout"))
    assert list(actions).count("payout.transfer_reversed") == 1


DISPUTE_EVENTS = ["charge.succeeded", "checkout.session.completed", "opened", "lost"]


@pytest.mark.parametrize("order", list(itertools.permutations(DISPUTE_EVENTS)))
def test_every_ordering_of_a_lost_disputes_events_ends_refunded_once(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    order: tuple[str, ...],
) -> None:
    work = awarded_work(db, fake_github, accepted=True)
    connect_developer(db, settings, fake_stripe, work)
    events = {e["type"]: e for e in fund_at_stripe(db, settings, fake_stripe, work)}
    charge = next(iter(fake_stripe.charges))
    events["opened"] = fake_stripe.dispute(charge, "needs_response")
    events["lost"] = fake_stripe.dispute(charge, "lost")
    for name in order:
        deliver(client, events[name])
        _jobs(client, settings, times=1)
    _jobs(client, settings)
    assert (payout_of(db, work).state, opportunity_of(db, work).state) == ("refunded", "on_hold")
    assert [m for m, _a, _c in _lines(db, work)] == ["funding", "funding", "refund", "refund"]
    assert ledger_balance(db, work) == 0
    assert fake_stripe.refund_requests == []


RELEASE_EVENTS = [
    "charge.succeeded",
    "payment_intent.succeeded",
    "checkout.session.completed",
    "transfer.created",
]


@pytest.mark.parametrize("order", list(itertools.permutations(RELEASE_EVENTS)))
def test_every_ordering_of_a_released_payouts_events_ends_paid_once(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    order: tuple[str, ...],
) -> None:
    work, held_back = in_progress_work(db, settings, fake_stripe, fake_github)
    payments.request_release(db, opportunity_of(db, work), actor=None)
    db.commit()
    payout = payout_of(db, work)
    payments.send_transfer(
        db, gateway_for(settings), payout, follow=payonpull.follow_payout
    )  # the API's answer: released
    db.commit()
    assert payout_of(db, work).state == "released"
    events = {e["type"]: e for e in [*held_back, *fake_stripe.transfer_events()]}
    for name in order:
        deliver(client, events[name])
        payment_tasks.process_stripe_events(
            app_of(client).state.session_factory, settings, follow=payonpull.follow_payout
        )
    assert payout_of(db, work).state == "paid"
    assert len(fake_stripe.transfers) == 1
    assert ledger_balance(db, work) == 0


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["charge.refunded", "refund", "payment_intent"]))
)
def test_cancelling_funded_work_refunds_the_team_once_whatever_the_event_order(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    order: tuple[str, ...],
) -> None:
    work, held_back = in_progress_work(db, settings, fake_stripe, fake_github)
    sign_in(client, work.owner)
    oid = work.opportunity_id
    response = post_form(
        client, f"/opportunities/{oid}/cancel", {"reason": "Done in-house"}, f"/opportunities/{oid}"
    )
    assert response.status_code == 303
    _jobs(client, settings, times=3)
    assert len(fake_stripe.refunds) == 1
    [refund] = fake_stripe.refunds.values()
    charge = fake_stripe.charges[refund["charge"]]
    events = {
        "charge.refunded": fake_stripe.event("charge.refunded", charge),
        "refund": fake_stripe.event("refund.created", refund),
        "payment_intent": next(e for e in held_back if e["type"] == "payment_intent.succeeded"),
    }
    for name in order:
        deliver(client, events[name])
        _jobs(client, settings, times=1)
    assert payout_of(db, work).state == "refunded"
    assert opportunity_of(db, work).state == "cancelled"
    assert len(fake_stripe.refunds) == 1
    assert [m for m, _a, _c in _lines(db, work)] == ["funding", "funding", "refund", "refund"]
    assert ledger_balance(db, work) == 0


def test_a_dispute_holds_the_work_and_a_won_one_holds_the_money_again(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    charge = payout_of(db, work).charge_id
    deliver(client, fake_stripe.dispute(charge, "needs_response"))
    _jobs(client, settings)
    assert (opportunity_of(db, work).state, payout_of(db, work).state) == ("on_hold", "disputed")
    # A merge now pays nothing: the work is on hold, and the money is in question.
    fake_github.pulls[(REPO, PULL)] = api_pull()
    body = merged_payload()
    client.post("/webhooks/github", content=body, headers=delivery_headers(body))
    _jobs(client, settings)
    assert fake_stripe.transfer_requests == []
    admin = make_user(db, is_admin=True)
    db.commit()
    sign_in(client, admin)
    assert "disputed by the card holder" in client.get("/admin/attention").text
    deliver(client, fake_stripe.dispute(charge, "won"))
    _jobs(client, settings)
    assert payout_of(db, work).state == "funded"
    assert [m for m, _a, _c in _lines(db, work)] == ["funding", "funding"]


@pytest.mark.parametrize(("outcome", "refunds_sent"), [("won", 1), ("lost", 0)])
def test_a_refund_waits_for_a_dispute_to_close(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    outcome: str,
    refunds_sent: int,
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    charge = payout_of(db, work).charge_id
    deliver(client, fake_stripe.dispute(charge, "needs_response"))
    _jobs(client, settings)
    payonpull.cancel(db, opportunity_of(db, work), actor=work.owner, reason="Abandoned")
    db.commit()
    _jobs(client, settings)
    assert fake_stripe.refund_requests == []  # Stripe would refuse: the charge is disputed
    deliver(client, fake_stripe.dispute(charge, outcome))
    _jobs(client, settings, times=3)
    assert payout_of(db, work).state == "refunded"
    # Won: we refund the team. Lost: the bank already returned the money; nothing to send.
    assert len(fake_stripe.refund_requests) == refunds_sent
    assert ledger_balance(db, work) == 0


def test_a_lost_dispute_returns_the_money_and_the_ledger_says_so(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    charge = payout_of(db, work).charge_id
    # Closed before the opening event arrives: the outcome still wins.
    deliver(client, fake_stripe.dispute(charge, "lost"))
    deliver(client, fake_stripe.dispute(charge, "needs_response"))
    _jobs(client, settings)
    assert (opportunity_of(db, work).state, payout_of(db, work).state) == ("on_hold", "refunded")
    assert fake_stripe.refund_requests == []  # the bank took it back; we send nothing
    assert [m for m, _a, _c in _lines(db, work)] == ["funding", "funding", "refund", "refund"]
    assert ledger_balance(db, work) == 0


def test_cancelling_before_funding_closes_the_payout_without_a_refund(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work = awarded_work(db, fake_github)
    fund_at_stripe(db, settings, fake_stripe, work)  # checkout opened, never paid
    payonpull.cancel(db, opportunity_of(db, work), actor=work.owner, reason="Changed our mind")
    db.commit()
    _jobs(client, settings)
    assert payout_of(db, work).state == "cancelled"
    assert fake_stripe.refunds == {}


def test_released_money_cannot_be_refunded(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    payments.request_release(db, opportunity_of(db, work), actor=None)
    db.commit()
    with pytest.raises(Conflict, match="already been released"):
        payments.request_refund(db, payout_of(db, work), actor=work.owner, reason="no")


def test_a_failing_transfer_is_retried_then_set_aside_for_an_administrator(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    payments.request_release(db, opportunity_of(db, work), actor=None)
    db.commit()
    fake_stripe.fail_transfers = 3 * payments.MAX_TRANSFER_ATTEMPTS  # the SDK retries twice
    _jobs(client, settings, times=payments.MAX_TRANSFER_ATTEMPTS)
    assert payout_of(db, work).state == "transfer_failed"
    assert fake_stripe.transfers == {}
    fake_stripe.fail_transfers = 0
    admin = make_user(db, is_admin=True)
    db.commit()
    sign_in(client, admin)
    assert "transfer failed" in client.get("/admin/attention").text
    oid = work.opportunity_id
    assert post_form(client, f"/admin/attention/{oid}/retry-transfer", {}).status_code == 303
    _jobs(client, settings)
    assert payout_of(db, work).state == "paid"
    assert len(fake_stripe.transfers) == 1


@pytest.fixture
def held_work(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> Work:
    """Funded work whose merge came from someone else: on hold."""
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    fake_github.pulls[(REPO, PULL)] = api_pull(user={"id": 777, "login": "sniper"})
    body = merged_payload()
    client.post("/webhooks/github", content=body, headers=delivery_headers(body))
    _jobs(client, settings)
    assert opportunity_of(db, work).state == "on_hold"
    return work


def test_releasing_a_held_payment_takes_two_administrators(
    client: TestClient, db: Session, settings: Settings, fake_stripe: FakeStripe, held_work: Work
) -> None:
    first, second = make_user(db, is_admin=True), make_user(db, is_admin=True)
    db.commit()
    oid = held_work.opportunity_id
    sign_in(client, first)
    page = client.get("/admin/attention").text
    assert "author is not the awardee" in page  # the reason…
    assert "777" in page  # …and the evidence (the pull request author's id)
    assert post_form(client, f"/admin/attention/{oid}/release", {}).status_code == 303
    assert opportunity_of(db, held_work).state == "on_hold"
    assert post_form(client, f"/admin/attention/{oid}/release", {}).status_code == 409
    sign_in(client, second)
    assert post_form(client, f"/admin/attention/{oid}/release", {}).status_code == 303
    _jobs(client, settings)
    assert opportunity_of(db, held_work).state == "paid"
    assert len(fake_stripe.transfers) == 1
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "payout")).all()
    assert {"payout.release_approved", "payout.release_confirmed"} <= set(actions)


def test_dismissing_a_hold_waits_for_the_awardees_own_merge(
    client: TestClient, db: Session, settings: Settings, fake_stripe: FakeStripe, held_work: Work
) -> None:
    admin = make_user(db, is_admin=True)
    db.commit()
    sign_in(client, admin)
    oid = held_work.opportunity_id
    assert post_form(client, f"/admin/attention/{oid}/dismiss", {}).status_code == 303
    assert opportunity_of(db, held_work).state == "in_progress"
    assert payout_of(db, held_work).state == "funded"
    assert fake_stripe.transfer_requests == []


def test_refunding_a_held_payment_cancels_the_work(
    client: TestClient, db: Session, settings: Settings, fake_stripe: FakeStripe, held_work: Work
) -> None:
    admin = make_user(db, is_admin=True)
    db.commit()
    sign_in(client, admin)
    oid = held_work.opportunity_id
    response = post_form(client, f"/admin/attention/{oid}/refund", {"reason": "Abandoned"})
    assert response.status_code == 303
    _jobs(client, settings)
    assert (opportunity_of(db, held_work).state, payout_of(db, held_work).state) == (
        "cancelled",
        "refunded",
    )
    assert ledger_balance(db, held_work) == 0


def test_a_merge_whose_webhook_never_arrived_is_paid_by_the_reconcile_job(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    fake_github.pulls[(REPO, PULL)] = api_pull()
    jobs.run_slow_jobs_once(app_of(client).state.session_factory, settings)  # no delivery at all
    _jobs(client, settings)
    assert opportunity_of(db, work).state == "paid"
    assert len(fake_stripe.transfers) == 1
    assert ledger_balance(db, work) == 0


def test_work_starts_only_when_funded_accepted_and_payable(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> None:
    work = awarded_work(db, fake_github)
    gateway = gateway_for(settings)
    fund_at_stripe(db, settings, fake_stripe, work)
    payments.confirm_funding(db, gateway, opportunity_of(db, work), follow=payonpull.follow_payout)
    db.commit()
    assert opportunity_of(db, work).state == "awarded"  # funded, but not accepted, not payable
    payonpull.accept_award(db, opportunity_of(db, work), work.developer)
    db.commit()
    assert opportunity_of(db, work).state == "awarded"  # still no payout account
    connect_developer(db, settings, fake_stripe, work)
    account = payments_repository.account_of(db, work.developer.id)
    assert account is not None
    payments.refresh_account(db, gateway, account, follow=payonpull.follow_payout)
    db.commit()
    assert opportunity_of(db, work).state == "in_progress"


def test_only_the_teams_finance_role_funds(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    work = awarded_work(db, fake_github)
    oid = work.opportunity_id
    sign_in(client, work.owner)
    assert post_form(client, f"/opportunities/{oid}/funding", {}).status_code == 403
    assert payments_repository.payout_for(db, oid) is None


def test_a_payout_is_unique_per_award(
    db: Session, settings: Settings, fake_github: FakeGitHub
) -> None:
    work = awarded_work(db, fake_github)
    opportunity = opportunity_of(db, work)
    award = payments_repository.awardee_of(db, opportunity.id)
    assert award is not None
    first = payments.ensure_payout(db, opportunity, award[0].id, settings)
    assert payments.ensure_payout(db, opportunity, award[0].id, settings) is first
    db.commit()
    db.add(
        LedgerEntry(payout_id=first.id, movement="x", account="a", amount_cents=1, currency="CAD")
    )
    db.add(
        LedgerEntry(payout_id=first.id, movement="x", account="a", amount_cents=1, currency="CAD")
    )
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_a_comment_that_reached_github_before_a_crash_is_adopted_not_posted_twice(
    client: TestClient, db: Session, settings: Settings, fake_github: FakeGitHub
) -> None:
    work = awarded_work(db, fake_github)
    narration.released(db, opportunity_of(db, work), 240_000)
    db.commit()
    comment = db.scalars(select(IssueComment)).one()
    # An earlier attempt reached GitHub, and the worker died before recording the answer.
    fake_github.comments.append((REPO.lower(), ISSUE, comment.body))
    assert github_tasks.post_issue_comments(app_of(client).state.session_factory, settings) == 1
    assert len(fake_github.comments) == 1
    db.expire_all()
    adopted = db.scalars(select(IssueComment)).one()
    assert (adopted.github_comment_id, adopted.posted_at is not None) == (1, True)


def test_a_comment_on_an_issue_that_is_gone_is_given_up_and_blocks_nothing(
    client: TestClient, db: Session, settings: Settings, fake_github: FakeGitHub
) -> None:
    gone = awarded_work(db, fake_github)
    fake_github.issues.clear()  # its issue was deleted…
    narration.released(db, opportunity_of(db, gone), 240_000)
    db.commit()
    fake_github.add_issue(REPO, ISSUE + 1)  # …while another opportunity's issue is there
    other = make_opportunity(
        db,
        gone.team,
        state="paid",
        github_repository_id=REPO_ID,
        github_repository_full_name=REPO,
        github_issue_number=ISSUE + 1,
    )
    narration.released(db, other, 240_000)
    db.commit()
    assert github_tasks.post_issue_comments(app_of(client).state.session_factory, settings) == 1
    assert [(issue, "released" in text) for _r, issue, text in fake_github.comments] == [
        (ISSUE + 1, True)
    ]
