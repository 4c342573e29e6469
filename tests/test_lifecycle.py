"""Done means 3: the full state tables of opportunities, payouts and proposals, through the one
transition function and HTTP. The oracle is the tables pinned here, written from DESIGN.md's
lifecycles and the README's documented differences, never the code's own tables: a pair added
to or removed from the code fails here until this file says so too."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import timedelta
from enum import StrEnum
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import InvalidTransition
from app.models import (
    AuditEvent,
    Award,
    Opportunity,
    OpportunityState,
    Payout,
    PayoutState,
    Proposal,
    ProposalState,
    User,
)
from app.models.base import utcnow
from app.opportunities import service
from app.payments import service as payments
from app.proposals import service as proposals
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user, state_of
from tests.support.web import post_form, sign_in

S = OpportunityState
P = PayoutState
R = ProposalState
E = TypeVar("E", bound=StrEnum)


def _from_each(sources: Iterable[E], target: E) -> set[tuple[E, E]]:
    return {(source, target) for source in sources}


# DESIGN.md: draft → in_peer_review → draft (optional, repeatable) → published → evaluating →
# awarded → in_progress → merged → paid. Exits: cancelled (refund anything funded),
# unsuccessful (no acceptable proposal), on_hold (anything suspicious on the money path).
OPPORTUNITY_DESIGN = (
    set(
        itertools.pairwise(
            [
                S.DRAFT,
                S.IN_PEER_REVIEW,
                S.DRAFT,
                S.PUBLISHED,
                S.EVALUATING,
                S.AWARDED,
                S.IN_PROGRESS,
                S.MERGED,
                S.PAID,
            ]
        )
    )
    | {(S.EVALUATING, S.UNSUCCESSFUL)}
    # Until the money is on its way to the developer: merged work is paid, not cancelled.
    | _from_each(
        [S.DRAFT, S.IN_PEER_REVIEW, S.PUBLISHED, S.EVALUATING, S.AWARDED, S.IN_PROGRESS],
        S.CANCELLED,
    )
    # The money path: from the award (the team's payment) to the developer's payment.
    | _from_each([S.AWARDED, S.IN_PROGRESS, S.MERGED], S.ON_HOLD)
)
# README: held work leaves the needs-attention queue released (merged), refunded (cancelled) or
# dismissed (back to in progress, waiting for the awardee's own merge).
OPPORTUNITY_README = {
    (S.ON_HOLD, S.MERGED),
    (S.ON_HOLD, S.CANCELLED),
    (S.ON_HOLD, S.IN_PROGRESS),
}
# Issue 16, delivery: past the contract's delivery date with no merged pull request the work is
# "missed delivery"; the owner extends it (back to in progress), ends it and awards the
# next-ranked proposal (awarded again, the money still held), or closes it with a full refund
# (cancelled). Its payment is still held, so a questioned payment holds it like any funded work.
OPPORTUNITY_DELIVERY = {
    (S.IN_PROGRESS, S.MISSED_DELIVERY),
    (S.MISSED_DELIVERY, S.IN_PROGRESS),
    (S.MISSED_DELIVERY, S.AWARDED),
    (S.MISSED_DELIVERY, S.CANCELLED),
    (S.MISSED_DELIVERY, S.ON_HOLD),
}
# In neither DESIGN.md nor the README, so reported for a decision (document it, or remove it);
# pinned meanwhile, so that it cannot change unseen either. The code re-opens an evaluation
# with a new deadline when nobody proposed.
OPPORTUNITY_UNDOCUMENTED = {(S.EVALUATING, S.PUBLISHED)}
OPPORTUNITY = frozenset(
    OPPORTUNITY_DESIGN | OPPORTUNITY_README | OPPORTUNITY_DELIVERY | OPPORTUNITY_UNDOCUMENTED
)

# DESIGN.md: awaiting_funding → funded → releasing → released → paid. Exits: refunded,
# transfer_failed (retry/needs attention), disputed.
PAYOUT_DESIGN = set(
    itertools.pairwise([P.AWAITING_FUNDING, P.FUNDED, P.RELEASING, P.RELEASED, P.PAID])
) | {
    (P.FUNDED, P.REFUNDED),  # cancelled work is refunded in full; released money cannot be
    (P.RELEASING, P.TRANSFER_FAILED),
    (P.TRANSFER_FAILED, P.RELEASING),  # retry
    (P.FUNDED, P.DISPUTED),  # the team's payment is disputed while held
}
PAYOUT_README = {
    # "Payout states add `cancelled` (closed before any money arrived) to DESIGN's list."
    (P.AWAITING_FUNDING, P.CANCELLED),
    (P.TRANSFER_FAILED, P.REFUNDED),  # the needs-attention queue refunds the team
    # The refund waits until the dispute closes: won, the money is held again; lost, it is
    # booked as a refund.
    (P.DISPUTED, P.FUNDED),
    (P.DISPUTED, P.REFUNDED),
}
PAYOUT = frozenset(PAYOUT_DESIGN | PAYOUT_README)

# DESIGN.md: draft → submitted → (withdrawn) → under_evaluation → awarded | not_awarded |
# disqualified.
PROPOSAL_DESIGN = {
    (R.DRAFT, R.SUBMITTED),
    (R.SUBMITTED, R.WITHDRAWN),
    (R.SUBMITTED, R.UNDER_EVALUATION),
    (R.UNDER_EVALUATION, R.AWARDED),
    (R.UNDER_EVALUATION, R.NOT_AWARDED),
    (R.UNDER_EVALUATION, R.DISQUALIFIED),
}
# README (DEVEX_AWARD_ACCEPTANCE_DAYS): when the winner does not accept in time, the team may
# award the next-ranked proposal.
PROPOSAL_README = {(R.AWARDED, R.NOT_AWARDED), (R.NOT_AWARDED, R.AWARDED)}
# In neither document, reported for a decision: the code lets an author withdraw a saved draft.
PROPOSAL_UNDOCUMENTED = {(R.DRAFT, R.WITHDRAWN)}
PROPOSAL = frozenset(PROPOSAL_DESIGN | PROPOSAL_README | PROPOSAL_UNDOCUMENTED)


def _audit_count(db: Session, subject_type: str, subject_id: int) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        )
        or 0
    )


def _assert_move(
    db: Session,
    row: Opportunity | Payout | Proposal,
    target: E,
    lifecycle: frozenset[tuple[E, E]],
    move: Callable[[], None],
    actor: User,
) -> None:
    """A move the lifecycle allows changes the state and writes one audit event saying so,
    through the real transition function (``move``); any other is refused and changes nothing."""
    subject_type = type(row).__name__.lower()
    current = type(target)(row.state)
    before = _audit_count(db, subject_type, row.id)
    if (current, target) in lifecycle:
        move()
        db.commit()
        db.expire_all()
        assert _stored_state(db, row) == target.value
        assert _audit_count(db, subject_type, row.id) == before + 1
        event = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == row.id)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None
        assert (event.from_state, event.to_state, event.actor_user_id) == (
            current.value,
            target.value,
            actor.id,
        )
        return
    try:
        move()
    except InvalidTransition:
        db.rollback()
    else:
        pytest.fail(f"{subject_type} {current} → {target}: the code allows it, the lifecycle not")
    db.expire_all()
    assert _stored_state(db, row) == current.value
    assert _audit_count(db, subject_type, row.id) == before


def _stored_state(db: Session, row: Opportunity | Payout | Proposal) -> str:
    db.refresh(row)  # as stored now, not as this session remembers it
    return row.state


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)), ids=str)
def test_every_pair_of_opportunity_states(db: Session, current: S, target: S) -> None:
    team = make_team(db)
    actor = make_user(db, roles={team: ["owner"]})
    opportunity = make_opportunity(db, team, state=current.value)
    db.commit()
    _assert_move(
        db,
        opportunity,
        target,
        OPPORTUNITY,
        lambda: service.transition(db, opportunity, target, actor=actor),
        actor,
    )


def _payout(db: Session, state: P) -> Payout:
    """A payout of awarded work, built directly in ``state``."""
    opportunity = make_opportunity(db, make_team(db), state="in_progress")
    proposal = make_proposal(db, opportunity, make_user(db), state="awarded")
    award = Award(
        opportunity_id=opportunity.id,
        proposal_id=proposal.id,
        reason="Top-ranked proposal.",
        accept_by=utcnow() + timedelta(days=5),
    )
    db.add(award)
    db.flush()
    payout = Payout(
        award_id=award.id,
        opportunity_id=opportunity.id,
        amount_cents=proposal.price_cents,
        currency=proposal.currency,
        state=state.value,
    )
    db.add(payout)
    db.flush()
    return payout


@pytest.mark.parametrize(("current", "target"), list(itertools.product(P, P)), ids=str)
def test_every_pair_of_payout_states(db: Session, current: P, target: P) -> None:
    payout = _payout(db, current)
    admin = make_user(db, is_admin=True)
    db.commit()
    _assert_move(
        db,
        payout,
        target,
        PAYOUT,
        lambda: payments.transition(db, payout, target, actor=admin),
        admin,
    )


@pytest.mark.parametrize(("current", "target"), list(itertools.product(R, R)), ids=str)
def test_every_pair_of_proposal_states(db: Session, current: R, target: R) -> None:
    opportunity = make_opportunity(db, make_team(db), state="evaluating")
    author = make_user(db)
    proposal = make_proposal(db, opportunity, author, state=current.value)
    db.commit()
    _assert_move(
        db,
        proposal,
        target,
        PROPOSAL,
        lambda: proposals.transition(db, proposal, target, actor=author),
        author,
    )


def test_a_stale_copy_cannot_overwrite_a_concurrent_change(db: Session, engine: object) -> None:
    team = make_team(db)
    opportunity = make_opportunity(db, team, state="published")
    db.commit()
    with Session(db.get_bind()) as other:
        stale = other.get(Opportunity, opportunity.id)
        assert stale is not None
        service.transition(db, opportunity, S.EVALUATING, actor=None)
        db.commit()
        with pytest.raises(InvalidTransition):
            service.transition(other, stale, S.CANCELLED, actor=None)  # still thinks "published"
        other.rollback()
    db.expire_all()
    assert state_of(db, Opportunity, opportunity.id) == "evaluating"


@pytest.mark.parametrize("state", [s for s in S if (s, S.PUBLISHED) not in OPPORTUNITY])
def test_publish_over_http_is_refused_with_409_when_the_lifecycle_forbids_it(
    client: TestClient, db: Session, state: S
) -> None:
    team = make_team(db)
    approver = make_user(db, roles={team: ["approver"]})
    opportunity = make_opportunity(db, team, state=state.value)
    db.commit()
    sign_in(client, approver)
    before = _audit_count(db, "opportunity", opportunity.id)
    response = post_form(client, f"/opportunities/{opportunity.id}/publish", {})
    assert response.status_code == 409
    assert "not possible" in response.text
    db.expire_all()
    assert state_of(db, Opportunity, opportunity.id) == state.value
    assert _audit_count(db, "opportunity", opportunity.id) == before


@pytest.mark.parametrize("state", [s for s in S if (s, S.CANCELLED) not in OPPORTUNITY])
def test_cancel_through_the_api_is_refused_with_409_problem_json(
    client: TestClient, db: Session, state: S
) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]})
    opportunity = make_opportunity(db, team, state=state.value)
    db.commit()
    sign_in(client, owner)
    response = client.post(
        f"/api/v1/opportunities/{opportunity.id}/cancel",
        json={"reason": "no longer needed"},
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 409


def test_publish_over_http_moves_a_ready_draft_and_audits_once(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    approver = make_user(db, roles={team: ["approver"]})
    opportunity = make_opportunity(db, team, state="draft")
    db.commit()
    sign_in(client, approver)
    response = post_form(client, f"/opportunities/{opportunity.id}/publish", {})
    assert response.status_code == 303
    db.expire_all()
    stored = db.get(Opportunity, opportunity.id)
    assert stored is not None
    assert stored.state == "published"
    assert stored.published_at is not None
    # One transition, and the approver's sign-off that allowed it (issue 16).
    actions = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.subject_type == "opportunity", AuditEvent.subject_id == opportunity.id
        )
    ).all()
    assert sorted(actions) == ["opportunity.transition", "spending.signed_off"]


def test_an_editor_or_an_owner_cannot_publish_only_an_approver_signs_off(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    owner = make_user(db, roles={team: ["owner"]})
    opportunity = make_opportunity(db, team, state="draft")
    db.commit()
    for person in (editor, owner):
        sign_in(client, person)
        response = post_form(client, f"/opportunities/{opportunity.id}/publish", {})
        assert response.status_code == 403
    assert state_of(db, Opportunity, opportunity.id) == "draft"


def test_publishing_needs_a_verified_issue_and_a_future_deadline(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    approver = make_user(db, roles={team: ["approver"]})
    opportunity = make_opportunity(
        db,
        team,
        state="draft",
        github_repository_id=None,
        proposal_deadline=utcnow() - timedelta(minutes=1),
    )
    db.commit()
    sign_in(client, approver)
    response = post_form(client, f"/opportunities/{opportunity.id}/publish", {})
    assert response.status_code == 422
    assert "verify" in response.text
    assert "deadline in the future" in response.text
    db.expire_all()
    assert state_of(db, Opportunity, opportunity.id) == "draft"


def test_deadline_job_moves_published_opportunities_to_evaluating(db: Session) -> None:
    team = make_team(db)
    past = make_opportunity(
        db, team, state="published", proposal_deadline=utcnow() - timedelta(seconds=1)
    )
    future = make_opportunity(
        db, team, state="published", proposal_deadline=utcnow() + timedelta(hours=1)
    )
    db.commit()
    assert service.close_past_deadlines(db, utcnow()) == 1
    db.commit()
    assert service.close_past_deadlines(db, utcnow()) == 0  # idempotent
    db.expire_all()
    assert state_of(db, Opportunity, past.id) == "evaluating"
    assert state_of(db, Opportunity, future.id) == "published"
    event = db.scalars(select(AuditEvent).where(AuditEvent.subject_id == past.id)).one()
    assert event.actor_user_id is None
    assert event.to_state == "evaluating"
