"""Done means 3: the full opportunity state table, through the one transition function and HTTP."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import InvalidTransition
from app.models import AuditEvent, Opportunity, OpportunityState
from app.models.base import utcnow
from app.opportunities import service
from app.opportunities.service import ALLOWED_TRANSITIONS
from tests.support.factories import make_opportunity, make_team, make_user, state_of
from tests.support.web import post_form, sign_in

S = OpportunityState
ALL_PAIRS = list(itertools.product(S, S))


def _audit_count(db: Session, opportunity_id: int) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.subject_type == "opportunity", AuditEvent.subject_id == opportunity_id
            )
        )
        or 0
    )


def test_lifecycle_table_matches_the_design() -> None:
    # DESIGN: draft → in_peer_review → draft → published → evaluating → awarded → in_progress
    # → merged → paid, with exits cancelled, unsuccessful, on_hold.
    happy_path = [
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
    for current, following in itertools.pairwise(happy_path):
        assert following in ALLOWED_TRANSITIONS[current]
    for terminal in (S.PAID, S.CANCELLED, S.UNSUCCESSFUL):
        assert ALLOWED_TRANSITIONS[terminal] == frozenset()
    assert S.CANCELLED not in ALLOWED_TRANSITIONS[S.MERGED]  # merged work is paid, not cancelled


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=lambda s: str(s))
def test_every_pair_of_states(db: Session, current: S, target: S) -> None:
    team = make_team(db)
    actor = make_user(db, roles={team: ["owner"]})
    opportunity = make_opportunity(db, team, state=current.value)
    db.commit()
    before = _audit_count(db, opportunity.id)

    if target in ALLOWED_TRANSITIONS[current]:
        service.transition(db, opportunity, target, actor=actor)
        db.commit()
        db.expire_all()
        stored = db.get(Opportunity, opportunity.id)
        assert stored is not None
        assert stored.state == target.value
        assert _audit_count(db, opportunity.id) == before + 1
        event = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None
        assert (event.from_state, event.to_state, event.actor_user_id) == (
            current.value,
            target.value,
            actor.id,
        )
    else:
        with pytest.raises(InvalidTransition):
            service.transition(db, opportunity, target, actor=actor)
        db.rollback()
        db.expire_all()
        stored = db.get(Opportunity, opportunity.id)
        assert stored is not None
        assert stored.state == current.value
        assert _audit_count(db, opportunity.id) == before


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


@pytest.mark.parametrize("state", [s for s in S if S.PUBLISHED not in ALLOWED_TRANSITIONS[s]])
def test_publish_over_http_is_refused_with_409_when_the_lifecycle_forbids_it(
    client: TestClient, db: Session, state: S
) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]})
    opportunity = make_opportunity(db, team, state=state.value)
    db.commit()
    sign_in(client, owner)
    before = _audit_count(db, opportunity.id)
    response = post_form(client, f"/opportunities/{opportunity.id}/publish", {})
    assert response.status_code == 409
    assert "not possible" in response.text
    db.expire_all()
    assert state_of(db, Opportunity, opportunity.id) == state.value
    assert _audit_count(db, opportunity.id) == before


@pytest.mark.parametrize("state", [s for s in S if S.CANCELLED not in ALLOWED_TRANSITIONS[s]])
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
    owner = make_user(db, roles={team: ["owner"]})
    opportunity = make_opportunity(db, team, state="draft")
    db.commit()
    sign_in(client, owner)
    response = post_form(client, f"/opportunities/{opportunity.id}/publish", {})
    assert response.status_code == 303
    db.expire_all()
    stored = db.get(Opportunity, opportunity.id)
    assert stored is not None
    assert stored.state == "published"
    assert stored.published_at is not None
    assert _audit_count(db, opportunity.id) == 1


def test_an_editor_cannot_publish_only_an_owner_approves(client: TestClient, db: Session) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    opportunity = make_opportunity(db, team, state="draft")
    db.commit()
    sign_in(client, editor)
    assert post_form(client, f"/opportunities/{opportunity.id}/publish", {}).status_code == 403


def test_publishing_needs_a_verified_issue_and_a_future_deadline(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]})
    opportunity = make_opportunity(
        db,
        team,
        state="draft",
        github_repository_id=None,
        proposal_deadline=utcnow() - timedelta(minutes=1),
    )
    db.commit()
    sign_in(client, owner)
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
