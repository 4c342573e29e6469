"""Issue 16, delivery: the contract's date, check-ins (and the awardee's pull requests picked up
from GitHub), warnings after the team's quiet days, missed delivery, and the owner's choices.
Done means 3: warnings at the set days, "missed delivery", award to the next-ranked proposal,
and the held funds follow without any money leaving the platform twice (ledger sums to zero).

The oracles are the issue's rules written here: the contract is the awarded price (never the
budget), a cheaper next proposal gives the difference back to the team, a dearer one is refused
(README), every payout's ledger lines sum to zero and money out of the platform (transfers and
refunds at Stripe) equals money in (the team's charge)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import time_machine
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.delivery.service import references_issue
from app.models import (
    Award,
    EvaluationSubmission,
    Notification,
    Opportunity,
    RubricCriterion,
    Score,
    User,
)
from app.models.base import utcnow
from app.payments import repository as payments_repository
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe, deliver
from tests.support.pay_on_pull import (
    AWARDEE_ID,
    ISSUE,
    REPO,
    REPO_ID,
    Work,
    api_pull,
    delivery_headers,
    merged_payload,
    opportunity_of,
    payout_of,
    reopened_pull_payload,
    run_jobs,
    start_work,
)
from tests.support.web import app_of, csrf_token, post_form, sign_in

BUDGET = 250_000
FIRST_PRICE, NEXT_PRICE, CHEAP_PRICE = 240_000, 230_000, 200_000
NEXT_ID = 5002
DRAFT_PULL, NEXT_PULL = 80, 81
QUIET_DAYS = 3
HOUR = timedelta(hours=1)


@dataclass
class Ranked:
    work: Work
    evaluator: User
    next_developer: User
    cheap_developer: User
    next_proposal_id: int


def ranked_work(
    db: Session, fake_github: FakeGitHub, *, delivery: date, next_price: int = NEXT_PRICE
) -> Ranked:
    """Awarded work with three ranked proposals: the winner's (due on ``delivery``), a
    well-scored one at ``next_price`` (next-ranked) and a cheaper one nobody scored (last: the
    ranking, not the price alone, decides who is next)."""
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]}, email="owner@example.gc.ca")
    finance = make_user(db, roles={team: ["finance"]})
    approver = make_user(db, roles={team: ["approver"]})
    evaluator = make_user(db, roles={team: ["evaluator"]})
    developer = make_user(db, github_id=AWARDEE_ID, login="awardee", email="dev@example.com")
    next_developer = make_user(db, github_id=NEXT_ID, login="next-dev", email="next@example.com")
    cheap_developer = make_user(db, login="cheap-dev")
    opportunity = make_opportunity(
        db,
        team,
        state="awarded",
        amount_cents=BUDGET,
        proposal_deadline=utcnow() - timedelta(days=3),
        delivery_date=delivery + timedelta(days=30),  # the proposal's date wins
        github_repository_id=REPO_ID,
        github_repository_full_name=REPO,
        github_issue_number=ISSUE,
        github_default_branch="main",
    )
    won = make_proposal(
        db,
        opportunity,
        developer,
        state="awarded",
        price_cents=FIRST_PRICE,
        delivery_date=delivery,
    )
    following = make_proposal(
        db, opportunity, next_developer, state="not_awarded", price_cents=next_price
    )
    make_proposal(db, opportunity, cheap_developer, state="not_awarded", price_cents=CHEAP_PRICE)
    rubric = [("understanding", 30, False), ("approach", 30, False), ("experience", 20, False)]
    for position, (key, weight, is_price) in enumerate([*rubric, ("price", 20, True)]):
        db.add(
            RubricCriterion(
                opportunity_id=opportunity.id,
                key=key,
                label=key,
                weight=weight,
                is_price=is_price,
                position=position,
            )
        )
    for proposal in (won, following):
        for key in ("understanding", "approach", "experience"):
            db.add(
                Score(
                    proposal_id=proposal.id,
                    evaluator_user_id=evaluator.id,
                    criterion_key=key,
                    score=5,
                )
            )
        db.add(EvaluationSubmission(proposal_id=proposal.id, evaluator_user_id=evaluator.id))
    db.add(
        Award(
            opportunity_id=opportunity.id,
            proposal_id=won.id,
            reason="top",
            accept_by=utcnow() + timedelta(days=5),
        )
    )
    db.commit()
    fake_github.add_repository(REPO, REPO_ID, default_branch="main")
    fake_github.add_issue(REPO, ISSUE)
    work = Work(opportunity.id, team, owner, finance, developer, approver)
    return Ranked(work, evaluator, next_developer, cheap_developer, following.id)


def _jobs(client: TestClient, settings: Settings, times: int = 2) -> None:
    run_jobs(app_of(client).state.session_factory, settings, times)


def _notified(db: Session, kind: str) -> list[int]:
    db.expire_all()
    return sorted(db.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def draft_pull_payload(author_id: int, body: str, action: str = "opened") -> bytes:
    """A draft pull request opened on the repository, as GitHub delivers it."""
    payload = json.loads(reopened_pull_payload(DRAFT_PULL))
    payload["action"] = action
    payload["pull_request"].update(
        {
            "draft": True,
            "title": "WIP: keep the focus after adding a question",
            "body": body,
            "html_url": f"https://github.com/{REPO}/pull/{DRAFT_PULL}",
            "user": {"id": author_id, "login": "someone"},
        }
    )
    return json.dumps(payload).encode()


def _deliver_github(client: TestClient, body: bytes, delivery_id: str) -> None:
    headers = delivery_headers(body, delivery=delivery_id)
    assert client.post("/webhooks/github", content=body, headers=headers).is_success


def _ledger(db: Session, work: Work) -> list[tuple[str, str, int]]:
    return [
        (entry.movement.split("-")[0], entry.account, entry.amount_cents)
        for entry in payments_repository.ledger_of(db, payout_of(db, work).id)
    ]


def test_missed_delivery_end_to_end(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    start = utcnow().replace(microsecond=0)
    due = (start + timedelta(days=10)).date()
    ranked = ranked_work(db, fake_github, delivery=due)
    work, oid = ranked.work, ranked.work.opportunity_id
    owner, developer, following = work.owner, work.developer, ranked.next_developer

    # The owner sets the team's quiet days on the settings page.
    sign_in(client, owner)
    settings_page = f"/teams/{work.team.slug}/settings/delivery"
    refused = post_form(client, settings_page, {"quiet_days_warning": "0"}, settings_page)
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text
    saved = post_form(client, settings_page, {"quiet_days_warning": str(QUIET_DAYS)}, settings_page)
    assert saved.status_code == 303

    # Accepted, payouts set up and funded: the work is in progress, the first price held.
    funding_events = start_work(db, settings, fake_stripe, work)
    _jobs(client, settings)
    assert opportunity_of(db, work).state == "in_progress"
    assert payout_of(db, work).amount_cents == FIRST_PRICE
    [charge] = fake_stripe.charges.values()
    assert charge["amount"] == FIRST_PRICE

    # The contract's date is the awarded proposal's, on the opportunity page and in the API.
    page = client.get(f"/opportunities/{oid}").text
    assert "Contract delivery date" in page
    public = client.get(f"/api/v1/opportunities/{oid}").json()
    assert public["contract_delivery_date"] == due.isoformat()
    assert public["delivery_date"] == (due + timedelta(days=30)).isoformat()
    contract = client.get(f"/api/v1/opportunities/{oid}/delivery").json()
    assert contract["delivery_date"] == due.isoformat()
    assert contract["quiet_days_warning"] == QUIET_DAYS

    # Day 1: the awardee checks in. Day 2: their draft pull request referencing the issue is
    # picked up from GitHub; someone else's is not the awardee's activity.
    with time_machine.travel(start + timedelta(days=1), tick=False):
        sign_in(client, developer)
        delivery_page = f"/opportunities/{oid}/delivery"
        checked = post_form(
            client,
            f"/opportunities/{oid}/delivery/check-ins",
            {"body": "Working on it", "link": ""},
            delivery_page,
        )
        assert checked.status_code == 303
    with time_machine.travel(start + timedelta(days=2), tick=False):
        _deliver_github(client, draft_pull_payload(999_999, f"Part of #{ISSUE}"), "other")
        _deliver_github(client, draft_pull_payload(AWARDEE_ID, f"Part of #{ISSUE}"), "draft")
        _jobs(client, settings)
        sign_in(client, developer)
        timeline = client.get(f"/api/v1/opportunities/{oid}/delivery").json()["check_ins"]
        assert [(c["source"], c["github_pull_request_number"]) for c in timeline] == [
            ("github", DRAFT_PULL),
            ("awardee", None),
        ]

    # Quiet for the team's 3 days since the pull request: both sides are warned, once.
    with time_machine.travel(start + timedelta(days=5) - HOUR, tick=False):
        _jobs(client, settings)
        assert _notified(db, "delivery_quiet") == []
    with time_machine.travel(start + timedelta(days=5) + HOUR, tick=False):
        _jobs(client, settings)
        assert _notified(db, "delivery_quiet") == sorted([owner.id, developer.id])
    with time_machine.travel(start + timedelta(days=9), tick=False):
        _jobs(client, settings)
        assert _notified(db, "delivery_quiet") == sorted([owner.id, developer.id])
        assert opportunity_of(db, work).state == "in_progress"  # due day 10, not yet past

    # The delivery date passes with no merged pull request: missed delivery, both told.
    with time_machine.travel(start + timedelta(days=11), tick=False):
        _jobs(client, settings)
        assert opportunity_of(db, work).state == "missed_delivery"
        assert _notified(db, "delivery_missed") == sorted([owner.id, developer.id])

        # The owner awards the next-ranked proposal: the well-scored one, not the cheapest.
        sign_in(client, owner)
        delivery_page = f"/opportunities/{oid}/delivery"
        assert "Award the next-ranked proposal" in client.get(delivery_page).text
        response = post_form(
            client,
            f"/opportunities/{oid}/delivery/award-next",
            {"reason": "No pull request by the delivery date."},
            delivery_page,
        )
        assert response.status_code == 303
        assert opportunity_of(db, work).state == "awarded"
        awards = db.scalars(select(Award).where(Award.opportunity_id == oid)).all()
        assert [(a.proposal_id == ranked.next_proposal_id, a.ended_at is None) for a in awards] == [
            (False, False),
            (True, True),
        ]
        payout = payout_of(db, work)
        assert (payout.state, payout.amount_cents) == ("funded", NEXT_PRICE)
        assert payout.award_id == awards[1].id
        # The difference goes back to the team, once, however often the job runs.
        _jobs(client, settings, times=3)
        [adjustment] = fake_stripe.refunds.values()
        assert adjustment["amount"] == FIRST_PRICE - NEXT_PRICE

        # The next developer accepts and sets up payouts: the work starts on the money held.
        sign_in(client, following)
        accept = post_form(
            client, f"/opportunities/{oid}/award/accept", {}, f"/opportunities/{oid}/proposal"
        )
        assert accept.status_code == 303
        connect = post_form(client, "/account/payouts/connect", {}, "/account/payouts")
        account_id = connect.headers["location"].rsplit("/", 1)[1]
        assert deliver(client, fake_stripe.enable_payouts(account_id)).status_code == 200
        _jobs(client, settings)
        assert opportunity_of(db, work).state == "in_progress"
        assert len(fake_stripe.charges) == 1  # nobody paid twice

    # The new awardee's pull request is merged: paid the new price, from the same charge.
    with time_machine.travel(start + timedelta(days=12), tick=False):
        fake_github.pulls[(REPO, NEXT_PULL)] = api_pull(
            number=NEXT_PULL, user={"id": NEXT_ID, "login": "next-dev"}
        )
        _deliver_github(client, merged_payload(number=NEXT_PULL), "merge")
        _jobs(client, settings)
        [transfer] = fake_stripe.transfers.values()
        assert (transfer["amount"], transfer["destination"]) == (NEXT_PRICE, account_id)

        # Every Stripe event arrives late, the partial refund's among them: nothing moves twice.
        refund_events = [
            fake_stripe.event("refund.created", adjustment),
            fake_stripe.event("charge.refunded", charge),
        ]
        for event in [*funding_events, *refund_events, *fake_stripe.transfer_events()]:
            assert deliver(client, event).status_code == 200
        _jobs(client, settings)
        assert payout_of(db, work).state == "paid"
        assert opportunity_of(db, work).state == "paid"

    # Money out equals money in: one transfer and one refund, summing to the one charge.
    assert len(fake_stripe.transfers) == 1
    assert len(fake_stripe.refunds) == 1
    out = sum(t["amount"] for t in fake_stripe.transfers.values()) + sum(
        r["amount"] for r in fake_stripe.refunds.values()
    )
    assert out == charge["amount"] == FIRST_PRICE
    team = f"team:{work.team.id}"
    assert _ledger(db, work) == [
        ("funding", team, -FIRST_PRICE),
        ("funding", "platform:holding", FIRST_PRICE),
        ("adjust", "platform:holding", -(FIRST_PRICE - NEXT_PRICE)),
        ("adjust", team, FIRST_PRICE - NEXT_PRICE),
        ("release", "platform:holding", -NEXT_PRICE),
        ("release", f"developer:{following.id}", NEXT_PRICE),
    ]
    assert payments_repository.ledger_balance(db, payout_of(db, work).id) == 0
    # The open data names the award that stands, once: the ended one is in the state history.
    [award] = client.get("/opendata/awards.json").json()["items"]
    assert (award["winner_login"], award["price_cents"]) == (following.login, NEXT_PRICE)


# --- focused: each of the owner's choices, the refusals, and who sees the contract ----------


def _api(client: TestClient, path: str, body: dict[str, object]) -> Response:
    headers = {"x-csrftoken": csrf_token(client)}
    return client.post(path, json=body, headers=headers)


def missed_work(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    *,
    next_price: int = NEXT_PRICE,
) -> tuple[Ranked, datetime]:
    """Funded work in progress, due in 2 days, then 3 days on: missed. Returns the moment."""
    now = utcnow().replace(microsecond=0)
    ranked = ranked_work(
        db, fake_github, delivery=(now + timedelta(days=2)).date(), next_price=next_price
    )
    start_work(db, settings, fake_stripe, ranked.work)
    _jobs(client, settings)
    assert opportunity_of(db, ranked.work).state == "in_progress"
    later = now + timedelta(days=3)
    with time_machine.travel(later, tick=False):
        _jobs(client, settings)
    assert opportunity_of(db, ranked.work).state == "missed_delivery"
    return ranked, later


def test_a_dearer_next_proposal_is_refused_and_nothing_changes(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    ranked, later = missed_work(
        client, db, settings, fake_stripe, fake_github, next_price=FIRST_PRICE + 5_000
    )
    work, oid = ranked.work, ranked.work.opportunity_id
    with time_machine.travel(later, tick=False):
        sign_in(client, work.owner)
        path = f"/api/v1/opportunities/{oid}/delivery/award-next"
        assert _api(client, path, {"reason": ""}).status_code == 422  # a reason is asked for
        response = _api(client, path, {"reason": "Missed."})
        assert response.status_code == 409
        assert "costs more than the payment held" in response.json()["detail"]
        _jobs(client, settings)
    assert opportunity_of(db, work).state == "missed_delivery"
    payout = payout_of(db, work)
    assert (payout.state, payout.amount_cents) == ("funded", FIRST_PRICE)
    current = db.scalars(select(Award).where(Award.opportunity_id == oid)).all()
    assert [(a.ended_at, a.accepted_at is not None) for a in current] == [(None, True)]
    assert fake_stripe.refunds == {}


def test_closing_a_missed_contract_refunds_the_money_held_in_full(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    ranked, later = missed_work(client, db, settings, fake_stripe, fake_github)
    work, oid = ranked.work, ranked.work.opportunity_id
    with time_machine.travel(later, tick=False):
        sign_in(client, work.owner)
        response = _api(client, f"/api/v1/opportunities/{oid}/delivery/close", {"reason": "Late"})
        assert response.status_code == 204
        _jobs(client, settings, times=3)
    assert opportunity_of(db, work).state == "cancelled"
    [refund] = fake_stripe.refunds.values()
    assert refund["amount"] == FIRST_PRICE
    assert payout_of(db, work).state == "refunded"
    assert payments_repository.ledger_balance(db, payout_of(db, work).id) == 0
    assert fake_stripe.transfers == {}


def test_extending_puts_missed_work_back_in_progress_until_the_new_date(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    ranked, later = missed_work(client, db, settings, fake_stripe, fake_github)
    work, oid = ranked.work, ranked.work.opportunity_id
    new_date = (later + timedelta(days=7)).date()
    path = f"/api/v1/opportunities/{oid}/delivery/extend"
    with time_machine.travel(later, tick=False):
        sign_in(client, work.owner)
        past = _api(client, path, {"delivery_date": later.date().isoformat()})
        assert past.status_code == 422
        response = _api(client, path, {"delivery_date": new_date.isoformat(), "reason": "ok"})
        assert response.status_code == 200
        assert response.json()["delivery_date"] == new_date.isoformat()
        assert response.json()["state"] == "in_progress"
        assert _notified(db, "delivery_extended") == [work.developer.id]
    # Noon UTC, whatever time of day the test runs: the same date in every Canadian zone.
    with time_machine.travel(datetime.combine(new_date, time(12), UTC), tick=False):
        _jobs(client, settings)
        assert opportunity_of(db, work).state == "in_progress"  # due today, not yet past
    day_after = new_date + timedelta(days=1)
    with time_machine.travel(datetime.combine(day_after, time(12), UTC), tick=False):
        _jobs(client, settings)
        assert opportunity_of(db, work).state == "missed_delivery"


def test_the_contract_is_the_team_s_and_the_awardee_s_only(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    now = utcnow()
    ranked = ranked_work(db, fake_github, delivery=(now + timedelta(days=9)).date())
    work, oid = ranked.work, ranked.work.opportunity_id
    start_work(db, settings, fake_stripe, work)
    stranger = make_user(db)
    db.commit()
    page, api = f"/opportunities/{oid}/delivery", f"/api/v1/opportunities/{oid}/delivery"
    for reader, status in (
        (work.developer, 200),
        (ranked.evaluator, 200),
        (work.finance, 200),
        (ranked.cheap_developer, 404),  # another bidder
        (stranger, 404),
    ):
        sign_in(client, reader)
        assert client.get(page).status_code == status, reader.login
        assert client.get(api).status_code == status, reader.login
    # Only the awardee checks in; a link must be a web address, said next to the field.
    sign_in(client, ranked.cheap_developer)
    check_ins = f"/opportunities/{oid}/delivery/check-ins"
    assert post_form(client, check_ins, {"body": "hi"}, "/").status_code == 404
    sign_in(client, work.developer)
    refused = post_form(client, check_ins, {"body": "WIP", "link": "javascript:alert(1)"}, page)
    assert refused.status_code == 422
    assert 'id="error-link"' in refused.text
    assert 'href="#field-link"' in refused.text
    # Before the delivery date, the owner sees no way to end the contract.
    sign_in(client, work.owner)
    shown = client.get(page).text
    assert "Extend the contract" in shown
    assert "Award the next-ranked proposal" not in shown
    # And in French.
    assert "Prolonger le contrat" in client.get(f"{page}?lang=fr").text


def test_a_pull_request_counts_only_when_it_references_the_issue() -> None:
    opportunity = Opportunity(github_repository_full_name=REPO, github_issue_number=ISSUE)
    said = {
        f"Part of #{ISSUE}": True,
        f"Fixes #{ISSUE}": True,
        f"see {REPO}#{ISSUE}": True,
        f"https://github.com/{REPO}/issues/{ISSUE}": True,
        f"#{ISSUE}0": False,
        f"other/repo#{ISSUE}": False,
        "no reference": False,
    }
    assert {text: references_issue(text, opportunity) for text in said} == said


def test_the_partial_refund_s_events_are_not_the_refund_of_the_payment_held(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    """Stripe reports the re-award's partial refund (refund.created, charge.refunded) while the
    rest of the money is still held: the payout stays funded, for the new price."""
    ranked, later = missed_work(client, db, settings, fake_stripe, fake_github)
    work, oid = ranked.work, ranked.work.opportunity_id
    with time_machine.travel(later, tick=False):
        sign_in(client, work.owner)
        path = f"/api/v1/opportunities/{oid}/delivery/award-next"
        response = _api(client, path, {"reason": "Missed."})
        assert response.status_code == 200
        assert response.json()["awardee_login"] == "next-dev"
        assert response.json()["price_cents"] == NEXT_PRICE
        _jobs(client, settings)
        [refund] = fake_stripe.refunds.values()
        [charge] = fake_stripe.charges.values()
        for event in (
            fake_stripe.event("refund.created", refund),
            fake_stripe.event("charge.refunded", charge),
        ):
            assert deliver(client, event).status_code == 200
        _jobs(client, settings)
    payout = payout_of(db, work)
    assert (payout.state, payout.amount_cents, payout.refund_id) == ("funded", NEXT_PRICE, "")
    assert opportunity_of(db, work).state == "awarded"
    held = sum(
        entry.amount_cents
        for entry in payments_repository.ledger_of(db, payout.id)
        if entry.account == "platform:holding"
    )
    assert held == NEXT_PRICE
    assert payments_repository.ledger_balance(db, payout.id) == 0
