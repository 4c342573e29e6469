"""Issue 5, done means 1 and 2: one form to a submitted proposal; the deadline to the second;
nobody but the author reads a proposal before the deadline, on any route."""

from __future__ import annotations

import itertools
import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.access import declared_routes
from app.config import Settings
from app.db import make_engine
from app.errors import Conflict, InvalidTransition
from app.models import AuditEvent, Opportunity, Proposal, Team, User
from app.models import ProposalState as P
from app.models.base import utcnow
from app.opportunities import service as opportunities
from app.proposals import service
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user, state_of
from tests.support.web import app_of, post_form, sign_in

FORM = {
    "approach": "I would add an **aria-live** region and a test.",
    "experience": "Forms",
    "links": "https://github.com/sam",
    "price": "4 000,00",
    "delivery_date": "",
    "accept_terms": "on",
    "attest_eligibility": "on",
    "action": "submit",
}


def _proposals(db: Session) -> list[Proposal]:
    db.expire_all()
    return list(db.scalars(select(Proposal)))


def _world(db: Session, **opportunity: Any) -> tuple[Opportunity, User, User, User]:
    team = make_team(db)
    evaluator = make_user(db, roles={team: ["evaluator"]})
    owner = make_user(db, roles={team: ["owner"]})
    developer = make_user(db)
    opp = make_opportunity(db, team, state="published", amount_cents=500_000, **opportunity)
    db.commit()
    return opp, developer, evaluator, owner


def test_from_the_opportunity_page_to_a_submitted_proposal_in_one_form(
    client: TestClient, db: Session
) -> None:
    opp, developer, _evaluator, _owner = _world(db)
    sign_in(client, developer)
    page = client.get(f"/opportunities/{opp.id}")
    assert f'href="/opportunities/{opp.id}/proposal"' in page.text
    form_page = client.get(f"/opportunities/{opp.id}/proposal")
    assert f"https://github.com/{developer.login}" in form_page.text  # profile pre-filled
    response = post_form(
        client, f"/opportunities/{opp.id}/proposal", FORM, page=f"/opportunities/{opp.id}/proposal"
    )
    assert response.status_code == 303
    [proposal] = _proposals(db)
    assert (proposal.state, proposal.price_cents) == ("submitted", 400_000)
    assert proposal.terms_accepted_at is not None
    assert proposal.eligibility_attested_at is not None
    assert proposal.contract_terms_version == Settings().contract_terms_version
    assert "Your proposal is submitted" in client.get(response.headers["location"]).text


def test_a_submit_one_second_after_the_deadline_is_refused_and_stores_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    opp, developer, _evaluator, _owner = _world(db)
    sign_in(client, developer)
    page = client.get(f"/opportunities/{opp.id}/proposal")  # the form was loaded in time…
    assert page.status_code == 200
    db.execute(update(Opportunity).values(proposal_deadline=utcnow() - timedelta(seconds=1)))
    db.commit()
    response = post_form(
        client, f"/opportunities/{opp.id}/proposal", FORM, page=f"/opportunities/{opp.id}/proposal"
    )  # …and sent too late
    assert response.status_code == 409
    assert "deadline for proposals has passed" in response.text
    assert _proposals(db) == []


def test_the_deadline_is_enforced_to_the_second_by_the_service(
    db: Session, settings: Settings
) -> None:
    opp, developer, _evaluator, _owner = _world(db)
    data = service.ProposalInput("Plan", "", "", 1000, None, True, True)
    deadline = opp.proposal_deadline
    service.save(
        db,
        opp,
        developer,
        data,
        submit=True,
        settings=settings,
        now=deadline - timedelta(seconds=1),
    )
    db.commit()
    try:
        service.withdraw(db, opp, developer, now=deadline)
        raise AssertionError("withdrawing at the deadline must be refused")
    except Conflict:
        db.rollback()
    assert _proposals(db)[0].state == "submitted"


def test_bad_input_is_explained_and_kept(client: TestClient, db: Session) -> None:
    opp, developer, _evaluator, _owner = _world(db)
    sign_in(client, developer)
    words = " ".join(["word"] * 401)
    response = post_form(
        client,
        f"/opportunities/{opp.id}/proposal",
        {**FORM, "approach": words, "price": "6000", "accept_terms": ""},
    )
    assert response.status_code == 422
    for field in ("approach", "price", "accept_terms"):
        assert f'href="#field-{field}"' in response.text
    assert "it has 401" in response.text
    assert _proposals(db) == []


def test_one_active_proposal_per_developer_and_drafts_can_be_saved(
    client: TestClient, db: Session
) -> None:
    opp, developer, _evaluator, _owner = _world(db)
    sign_in(client, developer)
    url = f"/opportunities/{opp.id}/proposal"
    assert post_form(client, url, {**FORM, "action": "save", "accept_terms": ""}).status_code == 303
    assert [p.state for p in _proposals(db)] == ["draft"]
    assert post_form(client, url, FORM).status_code == 303
    assert post_form(client, url, {**FORM, "price": "3000"}).status_code == 303  # an edit
    [proposal] = _proposals(db)
    assert (proposal.state, proposal.price_cents) == ("submitted", 300_000)
    assert post_form(client, f"{url}/withdraw", {}).status_code == 303
    assert post_form(client, url, FORM).status_code == 303  # a new one after withdrawing
    assert sorted(p.state for p in _proposals(db)) == ["submitted", "withdrawn"]


def test_members_of_the_posting_team_cannot_propose(client: TestClient, db: Session) -> None:
    opp, _developer, evaluator, _owner = _world(db)
    sign_in(client, evaluator)
    assert post_form(client, f"/opportunities/{opp.id}/proposal", FORM).status_code == 403
    assert _proposals(db) == []


def test_nobody_but_the_author_reads_a_proposal_before_the_deadline(
    client: TestClient, db: Session
) -> None:
    """Every GET route of the app (pages and API), as every kind of person but the author."""
    opp, developer, evaluator, owner = _world(db)
    team = db.get(Team, opp.team_id)
    assert team is not None
    other_dev = make_user(db)
    admin = make_user(db, is_admin=True)
    proposal = make_proposal(db, opp, developer, approach="SECRET-APPROACH")
    service_declare(db, opp, evaluator, conflict=False)
    db.commit()
    values = {
        "opportunity_id": opp.id,
        "proposal_id": proposal.id,
        "slug": team.slug,
        "project_slug": "none",
        "question_id": 1,
        "user_id": developer.id,
        "token_id": 1,
        "token": "none",
        "claim_id": 1,
    }
    urls = [
        re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), route.path)
        for route in declared_routes(app_of(client))
        if route.method == "GET"
    ]
    assert len(urls) > 25
    for person in (None, other_dev, evaluator, owner, admin):
        client.cookies.clear()
        if person is not None:
            sign_in(client, person)
        for url in urls:
            assert "SECRET-APPROACH" not in client.get(url).text, (person, url)
    client.cookies.clear()
    sign_in(client, developer)
    assert "SECRET-APPROACH" in client.get(f"/proposals/{proposal.id}").text
    assert "SECRET-APPROACH" in client.get(f"/api/v1/opportunities/{opp.id}/proposal").text


def service_declare(db: Session, opp: Opportunity, user: User, *, conflict: bool) -> None:
    from app.models import ConflictDeclaration

    db.add(ConflictDeclaration(opportunity_id=opp.id, user_id=user.id, has_conflict=conflict))


def test_after_the_deadline_only_conflict_free_evaluators_read_it(
    client: TestClient, db: Session
) -> None:
    opp, developer, evaluator, owner = _world(db, proposal_deadline=utcnow() - timedelta(hours=1))
    proposal = make_proposal(db, opp, developer, approach="AFTER-DEADLINE")
    db.commit()
    url = f"/api/v1/proposals/{proposal.id}"
    sign_in(client, evaluator)
    assert client.get(url).status_code == 404  # no declaration yet
    service_declare(db, opp, evaluator, conflict=False)
    db.commit()
    assert "AFTER-DEADLINE" in client.get(url).text
    sign_in(client, owner)  # an owner who is not an evaluator does not read proposals
    assert client.get(url).status_code == 404


def test_the_deadline_job_sends_submitted_proposals_to_evaluation(db: Session) -> None:
    opp, developer, _evaluator, _owner = _world(
        db, proposal_deadline=utcnow() - timedelta(seconds=1)
    )
    submitted = make_proposal(db, opp, developer)
    draft = make_proposal(db, opp, make_user(db), state="draft")
    db.commit()
    assert opportunities.close_past_deadlines(db, utcnow()) == 1
    db.commit()
    db.expire_all()
    assert state_of(db, Proposal, submitted.id) == "under_evaluation"
    assert state_of(db, Proposal, draft.id) == "draft"


def test_concurrent_submissions_at_the_deadline(db: Session, settings: Settings) -> None:
    """Twenty developers submit while the deadline job closes the opportunity: every proposal is
    either in evaluation (it made it) or absent (it was refused); none is left submitted."""
    opp, _developer, _evaluator, _owner = _world(db)
    developers = [make_user(db) for _ in range(20)]
    db.commit()
    engine = make_engine(settings.database_url)
    barrier = threading.Barrier(21)
    outcomes: list[str] = []

    def propose(user_id: int) -> None:
        with Session(engine) as session:
            user = session.get(User, user_id)
            row = session.get(Opportunity, opp.id)
            assert user is not None
            assert row is not None
            barrier.wait()
            try:
                service.save(
                    session,
                    row,
                    user,
                    service.ProposalInput("Plan", "", "", 1000, None, True, True),
                    submit=True,
                    settings=settings,
                )
                session.commit()
                outcomes.append("saved")
            except Conflict:
                session.rollback()
                outcomes.append("refused")

    def close() -> None:
        with Session(engine) as session:
            barrier.wait()
            session.execute(update(Opportunity).values(proposal_deadline=utcnow()))
            session.commit()
            opportunities.close_past_deadlines(session, utcnow())
            session.commit()

    threads = [threading.Thread(target=propose, args=(d.id,)) for d in developers]
    threads.append(threading.Thread(target=close))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine.dispose()
    states: list[str] = [p.state for p in _proposals(db)]
    assert len(outcomes) == 20
    assert states.count("under_evaluation") == outcomes.count("saved")
    assert "submitted" not in states
    assert db.scalar(select(func.count()).select_from(Proposal)) == outcomes.count("saved")


@pytest.mark.parametrize(("current", "target"), list(itertools.product(P, P)), ids=lambda s: str(s))
def test_every_pair_of_proposal_states(db: Session, current: P, target: P) -> None:
    """The whole proposal state table: allowed moves write one audit event, others nothing."""
    opp, developer, _evaluator, _owner = _world(db)
    proposal = make_proposal(db, opp, developer, state=current.value)
    db.commit()
    count = (
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.subject_type == "proposal", AuditEvent.subject_id == proposal.id)
    )
    if target in service.ALLOWED[current]:
        service.transition(db, proposal, target, actor=developer)
        db.commit()
        assert db.scalar(count) == 1
        db.expire_all()
        assert state_of(db, Proposal, proposal.id) == target.value
    else:
        with pytest.raises(InvalidTransition):
            service.transition(db, proposal, target, actor=developer)
        db.rollback()
        assert db.scalar(count) == 0
        db.expire_all()
        assert state_of(db, Proposal, proposal.id) == current.value


def test_form_attributes_reach_the_browser_unescaped(client: TestClient, db: Session) -> None:
    opp, developer, _evaluator, _owner = _world(db)
    sign_in(client, developer)
    html = client.get(f"/opportunities/{opp.id}/proposal").text
    assert 'data-word-limit="400"' in html  # the live word count finds its limit
    assert 'inputmode="decimal"' in html
    assert "&#34;" not in html
