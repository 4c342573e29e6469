"""Issue 16, done means 1: publishing and funding need a team approver's sign-off; the author
of the opportunity cannot give it; an approver cannot sign off more than their own limit, nor
past the team's monthly spending limit (the month's funding sign-offs plus this one). Every
sign-off is audited with who, when and what amount. Over the pages and the JSON API.

The oracles are the rules as the brief states them: an award's price of $2,400.00 (the bid,
never the $2,500.00 budget), limits chosen around it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.models import AuditEvent, Opportunity, SpendingSignoff, Team, TeamMembership, User
from app.payments import repository as payments_repository
from app.payments import service as payments
from app.teams.service import month_of
from tests.support.factories import make_opportunity, make_team, make_user, state_of
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe
from tests.support.pay_on_pull import Work, awarded_work, payout_of
from tests.support.web import csrf_token, post_form, sign_in
from tests.test_after_the_merge import _wait_until_it_waits_for_a_lock

BID = 240_000  # the awarded price in tests.support.pay_on_pull
BUDGET = 250_000


def _api_post(client: TestClient, url: str) -> tuple[int, dict[str, object]]:
    response = client.post(url, json={}, headers={"x-csrftoken": csrf_token(client)})
    return response.status_code, response.json()


def _signoffs(db: Session, opportunity_id: int) -> list[SpendingSignoff]:
    db.expire_all()
    return list(
        db.scalars(
            select(SpendingSignoff).where(SpendingSignoff.opportunity_id == opportunity_id)
        ).all()
    )


def _signoff_events(db: Session, opportunity_id: int) -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "spending.signed_off",
                AuditEvent.subject_type == "opportunity",
                AuditEvent.subject_id == opportunity_id,
            )
        ).all()
    )


def _waiting(client: TestClient, kind: str) -> set[int]:
    """The opportunities of one kind of item on the person's "Needs you" list."""
    items = client.get("/api/v1/me/needs-you").json()["items"]
    return {item["opportunity_id"] for item in items if item["kind"] == kind}


def _funding_started(db: Session, work: Work) -> bool:
    db.expire_all()
    payout = payments_repository.payout_for(db, work.opportunity_id)
    return payout is not None and bool(payout.checkout_session_id)


# --- publishing ------------------------------------------------------------------------------


def test_publishing_is_an_approvers_sign_off_never_the_authors_own(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    author = make_user(db, roles={team: ["owner", "editor", "approver"]})
    other_approver = make_user(db, roles={team: ["approver"]})
    draft = make_opportunity(db, team, amount_cents=BUDGET, created_by_user_id=author.id)
    api_draft = make_opportunity(db, team, amount_cents=BUDGET, created_by_user_id=author.id)
    db.commit()

    # The author alone, although owner and approver, cannot publish: page and API; nor is
    # the author asked to, while the other approver is.
    sign_in(client, author)
    assert _waiting(client, "approve_draft") == set()
    page = client.get(f"/opportunities/{draft.id}").text
    assert "ask another approver to sign it off" in page
    refused = post_form(client, f"/opportunities/{draft.id}/publish", {})
    assert refused.status_code == 403
    assert "cannot sign it off yourself" in refused.text
    status, body = _api_post(client, f"/api/v1/opportunities/{api_draft.id}/publish")
    assert status == 403
    assert "cannot sign it off yourself" in str(body["detail"])
    assert state_of(db, Opportunity, draft.id) == "draft"
    assert state_of(db, Opportunity, api_draft.id) == "draft"
    assert _signoffs(db, draft.id) == []

    # Another approver signs it off: published, with who, when and how much on record.
    sign_in(client, other_approver)
    assert _waiting(client, "approve_draft") == {draft.id, api_draft.id}
    page = client.get(f"/opportunities/{draft.id}").text
    assert "Sign off CA$2,500.00 and publish" in page
    before = datetime.now(UTC)
    assert post_form(client, f"/opportunities/{draft.id}/publish", {}).status_code == 303
    status, _body = _api_post(client, f"/api/v1/opportunities/{api_draft.id}/publish")
    assert status == 200
    for opportunity_id in (draft.id, api_draft.id):
        assert state_of(db, Opportunity, opportunity_id) == "published"
        [signoff] = _signoffs(db, opportunity_id)
        assert (signoff.purpose, signoff.amount_cents, signoff.currency) == (
            "publish",
            BUDGET,
            "CAD",
        )
        assert signoff.signed_by_user_id == other_approver.id
        assert signoff.signed_at >= before
        [event] = _signoff_events(db, opportunity_id)
        assert event.actor_user_id == other_approver.id
        assert event.details["amount_cents"] == BUDGET
        assert event.details["purpose"] == "publish"
        assert event.occurred_at >= before
    listed = client.get(f"/api/v1/opportunities/{draft.id}/sign-offs").json()
    assert [(x["purpose"], x["amount_cents"], x["signed_by_github_id"]) for x in listed] == [
        ("publish", BUDGET, other_approver.github_id)
    ]


def test_publishing_above_the_approvers_own_limit_is_refused_with_the_numbers(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    small = make_user(db, roles={team: ["approver"]}, approver_limit_cents=200_000)
    draft = make_opportunity(db, team, amount_cents=BUDGET)
    db.commit()
    sign_in(client, small)
    refused = post_form(client, f"/opportunities/{draft.id}/publish", {})
    assert refused.status_code == 409
    assert "$2,500.00 is above your sign-off limit of CA$2,000.00" in refused.text
    status, body = _api_post(client, f"/api/v1/opportunities/{draft.id}/publish")
    assert status == 409
    assert "limit of CA$2,000.00" in str(body["detail"])
    assert state_of(db, Opportunity, draft.id) == "draft"
    assert _signoffs(db, draft.id) == []


def test_publishing_that_would_pass_the_monthly_limit_is_refused(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    work = awarded_work(db, fake_github)
    team = db.get(Team, work.team.id)
    assert team is not None
    team.monthly_spending_limit_cents = 400_000
    draft = make_opportunity(db, team, amount_cents=BUDGET)
    db.commit()
    sign_in(client, work.approver)
    funding = f"/opportunities/{work.opportunity_id}/funding"
    assert post_form(client, f"{funding}/sign-off", {}, funding).status_code == 303
    # $2,400.00 signed off for funding this month; $2,500.00 more would make $4,900.00.
    refused = post_form(client, f"/opportunities/{draft.id}/publish", {})
    assert refused.status_code == 409
    for figure in ("CA$2,500.00", "CA$4,900.00", "CA$4,000.00", "CA$2,400.00", "CA$1,600.00"):
        assert figure in refused.text
    assert state_of(db, Opportunity, draft.id) == "draft"


# --- funding ---------------------------------------------------------------------------------


def test_funding_is_refused_until_an_approver_signed_off_the_awarded_price(
    client: TestClient, db: Session, fake_github: FakeGitHub, fake_stripe: FakeStripe
) -> None:
    work = awarded_work(db, fake_github)
    oid = work.opportunity_id
    funding = f"/opportunities/{oid}/funding"

    sign_in(client, work.finance)
    assert _waiting(client, "fund_award") == set()  # nothing to pay yet
    page = client.get(funding).text
    assert "Funding needs a sign-off" in page
    assert f'action="{funding}"' not in page  # no payment button yet
    refused = post_form(client, funding, {})
    assert refused.status_code == 409
    assert "must sign off CA$2,400.00, the awarded price" in refused.text
    assert not _funding_started(db, work)
    # Finance is not an approver: it cannot sign off itself.
    assert post_form(client, f"{funding}/sign-off", {}).status_code == 403
    status, _body = _api_post(client, f"/api/v1/opportunities/{oid}/funding/sign-off")
    assert status == 403

    # The approver signs off over the API: the price, never the budget.
    sign_in(client, work.approver)
    assert _waiting(client, "sign_off_funding") == {oid}
    status, body = _api_post(client, f"/api/v1/opportunities/{oid}/funding/sign-off")
    assert status == 200
    assert body["amount_cents"] == BID
    assert body["purpose"] == "fund"
    assert body["signed_by_github_id"] == work.approver.github_id
    # Once is enough: a second sign-off would count twice against the month.
    status, _body = _api_post(client, f"/api/v1/opportunities/{oid}/funding/sign-off")
    assert status == 409
    [event] = _signoff_events(db, oid)
    assert (event.actor_user_id, event.details["amount_cents"]) == (work.approver.id, BID)

    assert _waiting(client, "sign_off_funding") == set()
    sign_in(client, work.finance)
    assert _waiting(client, "fund_award") == {oid}
    assert "CA$2,400.00 signed off for funding" in client.get(funding).text
    started = post_form(client, funding, {}, funding)
    assert started.status_code == 303
    assert payout_of(db, work).amount_cents == BID


def test_the_author_cannot_sign_off_the_funding_of_their_own_opportunity(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    work = awarded_work(db, fake_github)
    opportunity = db.get(Opportunity, work.opportunity_id)
    assert opportunity is not None
    opportunity.created_by_user_id = work.approver.id
    db.commit()
    funding = f"/opportunities/{work.opportunity_id}/funding"
    sign_in(client, work.approver)
    assert "You wrote this opportunity" in client.get(funding).text
    refused = post_form(client, f"{funding}/sign-off", {})
    assert refused.status_code == 403
    status, _body = _api_post(
        client, f"/api/v1/opportunities/{work.opportunity_id}/funding/sign-off"
    )
    assert status == 403
    assert _signoffs(db, work.opportunity_id) == []


def test_a_funding_sign_off_above_the_approvers_limit_is_refused(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    work = awarded_work(db, fake_github)
    membership = db.scalars(
        select(TeamMembership).where(
            TeamMembership.user_id == work.approver.id, TeamMembership.role == "approver"
        )
    ).one()
    membership.spending_limit_cents = BID - 1
    db.commit()
    sign_in(client, work.approver)
    refused = post_form(client, f"/opportunities/{work.opportunity_id}/funding/sign-off", {})
    assert refused.status_code == 409
    assert "$2,400.00 is above your sign-off limit of CA$2,399.99" in refused.text
    assert _signoffs(db, work.opportunity_id) == []


def test_the_monthly_limit_counts_the_utc_calendar_months_funding_sign_offs(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    first = awarded_work(db, fake_github)
    second = awarded_work(db, fake_github, issue=8, beside=first)
    team = db.get(Team, first.team.id)
    assert team is not None
    team.monthly_spending_limit_cents = 2 * BID - 1  # room for one award, not two
    db.commit()
    last_day = datetime(2031, 1, 31, 23, 59, tzinfo=UTC)
    next_month = datetime(2031, 2, 1, 0, 0, tzinfo=UTC)

    # Signed in at each moment: a session does not last from one month to the next.
    with time_machine.travel(last_day, tick=False):
        sign_in(client, first.approver)
        url = f"/opportunities/{first.opportunity_id}/funding/sign-off"
        assert post_form(client, url, {}, url.removesuffix("/sign-off")).status_code == 303
        refused = post_form(client, f"/opportunities/{second.opportunity_id}/funding/sign-off", {})
        assert refused.status_code == 409
        assert "monthly limit of CA$4,799.99" in refused.text
        assert "CA$4,800.00" in refused.text
        assert _signoffs(db, second.opportunity_id) == []
    with time_machine.travel(next_month, tick=False):
        sign_in(client, first.approver)
        status, body = _api_post(
            client, f"/api/v1/opportunities/{second.opportunity_id}/funding/sign-off"
        )
        assert status == 200, body
    assert month_of(last_day) == (datetime(2031, 1, 1, tzinfo=UTC), next_month)
    december = datetime(2030, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert month_of(december) == (
        datetime(2030, 12, 1, tzinfo=UTC),
        datetime(2031, 1, 1, tzinfo=UTC),
    )


# --- managing approvers and the monthly limit ------------------------------------------------


def test_owners_make_approvers_with_a_limit_and_set_the_monthly_limit(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]})
    member: User = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, owner)
    members = f"/teams/{team.slug}/members"
    url = f"{members}/{member.id}"
    token = csrf_token(client, members)
    # An approver needs a limit.
    roles = {"roles": ["editor", "approver"], "csrftoken": token}
    refused = client.post(url, data=roles, follow_redirects=False)
    assert refused.status_code == 422
    assert "Enter the most this approver may sign off at once." in refused.text
    # The summary's link leads to that member's field, which says it is invalid.
    assert f'href="#field-spending_limit-{member.id}"' in refused.text
    assert f'id="field-spending_limit-{member.id}"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    saved = client.post(url, data={**roles, "spending_limit": "1500.00"}, follow_redirects=False)
    assert saved.status_code == 200  # the members page after a change
    assert 'value="1500.00"' in saved.text

    headers = {"x-csrftoken": csrf_token(client)}
    api = f"/api/v1/teams/{team.slug}/members"
    listed = {m["github_id"]: m for m in client.get(api).json()}
    assert listed[member.github_id]["spending_limit_cents"] == 150_000
    assert set(listed[member.github_id]["roles"]) == {"editor", "approver"}
    changed = client.put(
        f"{api}/{member.github_id}",
        json={"roles": ["approver"], "spending_limit_cents": 300_000},
        headers=headers,
    )
    assert changed.status_code == 200
    assert {m["github_id"]: m for m in changed.json()}[member.github_id] == {
        "github_id": member.github_id,
        "login": member.login,
        "roles": ["approver"],
        "spending_limit_cents": 300_000,
    }

    settings = f"/teams/{team.slug}/settings"
    form = {"default_licence": "MIT", "monthly_spending_limit": "10000"}
    assert post_form(client, settings, form, settings).status_code == 303
    db.expire_all()
    stored = db.get(Team, team.id)
    assert stored is not None
    assert stored.monthly_spending_limit_cents == 1_000_000
    put = client.put(
        f"/api/v1/teams/{team.slug}/settings",
        json={"default_licence": "MIT", "monthly_spending_limit_cents": None},
        headers=headers,
    )
    assert put.json()["monthly_spending_limit_cents"] is None
    actions = set(
        db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.subject_type == "team", AuditEvent.subject_id == team.id
            )
        ).all()
    )
    assert {"team.roles_changed", "team.monthly_spending_limit"} <= actions


def test_two_sign_offs_at_once_cannot_both_fit_under_a_limit_only_one_fits_under(
    db: Session, engine: Engine, fake_github: FakeGitHub
) -> None:
    """PostgreSQL: a sign-off holds its team's row lock until it commits; a second one at that
    moment waits for it, then counts the first and is refused."""
    first = awarded_work(db, fake_github)
    second = awarded_work(db, fake_github, issue=8, beside=first)
    other_approver = make_user(db, roles={first.team: ["approver"]})
    team = db.get(Team, first.team.id)
    assert team is not None
    team.monthly_spending_limit_cents = 2 * BID - 1
    db.commit()
    outcome: list[str] = []

    def second_sign_off() -> None:
        with Session(engine) as session:
            opportunity = session.get(Opportunity, second.opportunity_id)
            approver = session.get(User, other_approver.id)
            assert opportunity is not None
            assert approver is not None
            try:
                payments.sign_off_funding(session, opportunity, approver)
                session.commit()
                outcome.append("signed")
            except Conflict as refusal:
                session.rollback()
                outcome.append(refusal.detail)

    with Session(engine) as session:
        opportunity = session.get(Opportunity, first.opportunity_id)
        approver = session.get(User, first.approver.id)
        assert opportunity is not None
        assert approver is not None
        payments.sign_off_funding(session, opportunity, approver)
        racing = threading.Thread(target=second_sign_off)
        racing.start()
        _wait_until_it_waits_for_a_lock(engine, racing)
        session.commit()
    racing.join(timeout=120)
    assert not racing.is_alive()
    [said] = outcome
    assert "monthly limit" in said
    assert len(_signoffs(db, first.opportunity_id)) == 1
    assert _signoffs(db, second.opportunity_id) == []
