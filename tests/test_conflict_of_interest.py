"""Issue 16, done means 2: conflict of interest for peer reviewers. Whoever peer reviewed an
opportunity's draft helped write it, so they cannot propose on it (refused on the page and over
the API, in both languages, and nothing is saved); an evaluator who reviewed the draft must say
so in their declaration, which records it, and the team's owner reads it there."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import (
    AuditEvent,
    ConflictDeclaration,
    Opportunity,
    Proposal,
    Team,
    TeamMembership,
    User,
)
from app.models.base import utcnow
from tests.support.factories import make_opportunity, make_team, make_user, state_of
from tests.support.web import post_form, sign_in

REFUSAL_EN = "You peer reviewed the draft of this opportunity, so you cannot propose on it"
REFUSAL_FR = "Vous avez fait la revue par les pairs de l'ébauche de cette occasion"
PROPOSAL = {
    "approach": "I would fix it.",
    "experience": "",
    "links": "",
    "price": "500",
    "delivery_date": "",
    "accept_terms": "on",
    "attest_eligibility": "on",
    "action": "submit",
}


@dataclass
class Reviewed:
    opportunity: Opportunity
    team: Team
    owner: User
    reviewer: User  # a public servant of another team, who reviewed the draft
    bystander: User  # a public servant of another team, who did not
    developer: User


@pytest.fixture
def reviewed(client: TestClient, db: Session) -> Reviewed:
    """A draft sent to peer review, reviewed by one public servant of another team, taken back
    and published: all through the pages."""
    team = make_team(db)
    other = make_team(db)
    # An owner who is also an approver may publish a draft someone else wrote.
    owner = make_user(db, roles={team: ["owner", "approver"]})
    reviewer = make_user(db, login="careful-peer", roles={other: ["editor"]})
    bystander = make_user(db, roles={other: ["editor"]})
    developer = make_user(db)
    draft = make_opportunity(db, team, state="draft", title="Reviewed draft")
    db.commit()
    sign_in(client, owner)
    asked = post_form(client, f"/opportunities/{draft.id}/peer-review", {"reviewers": ""})
    assert asked.status_code == 303
    sign_in(client, reviewer)
    review = {"comment_problem": "Say who is affected.", "check_states_a_problem": "on"}
    assert post_form(client, f"/opportunities/{draft.id}/review", review).status_code == 303
    sign_in(client, owner)
    assert post_form(client, f"/opportunities/{draft.id}/peer-review/end", {}).status_code == 303
    assert post_form(client, f"/opportunities/{draft.id}/publish", {}).status_code == 303
    assert state_of(db, Opportunity, draft.id) == "published"
    client.cookies.clear()
    return Reviewed(draft, team, owner, reviewer, bystander, developer)


def _proposals_by(db: Session, user: User) -> list[Proposal]:
    db.expire_all()
    return list(db.scalars(select(Proposal).where(Proposal.author_user_id == user.id)))


def test_a_peer_reviewer_is_refused_on_the_proposal_page(
    client: TestClient, db: Session, reviewed: Reviewed
) -> None:
    opp = reviewed.opportunity
    url = f"/opportunities/{opp.id}/proposal"
    sign_in(client, reviewed.reviewer)

    detail = client.get(f"/opportunities/{opp.id}").text
    assert REFUSAL_EN in detail
    assert f'href="{url}"' not in detail  # no button to a form that refuses

    shown = client.get(url)
    assert shown.status_code == 403
    assert REFUSAL_EN in shown.text
    assert 'name="approach"' not in shown.text  # no form to fill in vain
    french = client.get(url, headers={"accept-language": "fr"})
    assert REFUSAL_FR in html.unescape(french.text)

    posted = post_form(client, url, PROPOSAL, page="/")
    assert posted.status_code == 403
    assert REFUSAL_EN in posted.text
    assert 'role="alert"' in posted.text
    assert _proposals_by(db, reviewed.reviewer) == []

    # Another public servant, who did not review it, may propose.
    sign_in(client, reviewed.bystander)
    assert f'href="{url}"' in client.get(f"/opportunities/{opp.id}").text
    assert 'name="approach"' in client.get(url).text
    assert post_form(client, url, PROPOSAL, page=url).status_code == 303
    assert [p.state for p in _proposals_by(db, reviewed.bystander)] == ["submitted"]


def test_a_peer_reviewer_is_refused_over_the_api(
    client: TestClient, db: Session, reviewed: Reviewed
) -> None:
    opp = reviewed.opportunity
    sign_in(client, reviewed.reviewer)
    body = {
        "approach": "I would fix it.",
        "price_cents": 50_000,
        "accept_terms": True,
        "attest_eligibility": True,
        "submit": True,
    }
    headers = {"x-csrftoken": client.cookies["csrftoken"]}
    for language, refusal in (("en", REFUSAL_EN), ("fr", REFUSAL_FR)):
        answer = client.put(
            f"/api/v1/opportunities/{opp.id}/proposal",
            json=body,
            headers={**headers, "accept-language": language},
        )
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert refusal in answer.json()["detail"]
    draft_only = client.put(
        f"/api/v1/opportunities/{opp.id}/proposal", json={**body, "submit": False}, headers=headers
    )
    assert draft_only.status_code == 403  # not even a draft
    assert _proposals_by(db, reviewed.reviewer) == []

    sign_in(client, reviewed.developer)
    accepted = client.put(
        f"/api/v1/opportunities/{opp.id}/proposal",
        json=body,
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "submitted"


def _past_the_deadline(db: Session, reviewed: Reviewed) -> None:
    """The reviewer later joins the team as an evaluator; the deadline passes."""
    db.add(TeamMembership(team_id=reviewed.team.id, user_id=reviewed.reviewer.id, role="evaluator"))
    db.execute(
        update(Opportunity)
        .where(Opportunity.id == reviewed.opportunity.id)
        .values(state="evaluating", proposal_deadline=utcnow() - timedelta(hours=1))
    )
    db.commit()


def test_an_evaluator_who_reviewed_the_draft_says_so_and_the_owner_reads_it(
    client: TestClient, db: Session, reviewed: Reviewed
) -> None:
    _past_the_deadline(db, reviewed)
    opp = reviewed.opportunity
    page = f"/opportunities/{opp.id}/evaluation"
    sign_in(client, reviewed.reviewer)

    shown = client.get(page).text
    assert "You peer reviewed the draft of this opportunity on" in shown
    assert 'id="field-reviewed_draft"' in shown
    assert (
        "Vous avez fait la revue par les pairs"
        in client.get(page, headers={"accept-language": "fr"}).text
    )

    silent = post_form(client, f"{page}/declaration", {"conflict": "no"}, page=page)
    assert silent.status_code == 422
    assert 'href="#field-reviewed_draft"' in silent.text  # the summary links to the field
    assert "say so in your declaration" in silent.text
    db.expire_all()
    assert db.scalars(select(ConflictDeclaration)).all() == []

    said = post_form(
        client,
        f"{page}/declaration",
        {"conflict": "no", "reviewed_draft": "on", "note": "I reviewed it in November."},
        page=page,
    )
    assert said.status_code == 303
    db.expire_all()
    declaration = db.scalars(select(ConflictDeclaration)).one()
    assert (declaration.user_id, declaration.has_conflict, declaration.reviewed_draft) == (
        reviewed.reviewer.id,
        False,
        True,
    )
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "evaluation.declared")).one()
    assert event.details["reviewed_draft"] is True
    assert "You declared that you peer reviewed the draft" in client.get(page).text

    sign_in(client, reviewed.owner)
    owner_page = client.get(page).text
    assert "Evaluators' declarations" in html.unescape(owner_page)
    row = next(r for r in owner_page.split("<tr>") if "@careful-peer" in r)
    assert "Yes" in row  # peer reviewed the draft
    assert "I reviewed it in November." in row
    api = client.get(f"/api/v1/opportunities/{opp.id}/evaluation").json()
    declared = [(d["evaluator_login"], d["reviewed_draft"]) for d in api["declarations"]]
    assert declared == [("careful-peer", True)]


def test_over_the_api_the_evaluator_who_reviewed_must_say_so_too(
    client: TestClient, db: Session, reviewed: Reviewed
) -> None:
    _past_the_deadline(db, reviewed)
    opp = reviewed.opportunity
    sign_in(client, reviewed.reviewer)
    headers = {"x-csrftoken": client.cookies["csrftoken"]}
    mine = client.get(f"/api/v1/opportunities/{opp.id}/evaluation").json()
    assert mine["you_reviewed_the_draft"] is True
    assert mine["your_declaration"] is None
    assert mine["declarations"] == []  # the owners' to read, not the evaluators'
    url = f"/api/v1/opportunities/{opp.id}/declaration"
    silent = client.post(url, json={"has_conflict": False}, headers=headers)
    assert silent.status_code == 422
    assert "reviewed_draft" in silent.text
    said = client.post(url, json={"has_conflict": False, "reviewed_draft": True}, headers=headers)
    assert said.status_code == 204
    assert client.get(f"/api/v1/opportunities/{opp.id}/evaluation").json()["your_declaration"][
        "reviewed_draft"
    ]
