"""Issue 5, done means 3: evaluation through the pages, the documented ranking, the public award."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import Award, Notification, Opportunity, Proposal, User
from app.models.base import utcnow
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user, state_of
from tests.support.web import post_form, sign_in


@dataclass
class Evaluating:
    opp: Opportunity
    owner: User
    evaluators: list[User]
    bidders: list[User]
    proposals: list[Proposal]


@pytest.fixture
def evaluating(db: Session) -> Evaluating:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]})
    first = make_user(db, roles={team: ["evaluator"]})
    second = make_user(db, roles={team: ["evaluator"]})
    opp = make_opportunity(
        db,
        team,
        state="evaluating",
        amount_cents=500_000,
        proposal_deadline=utcnow() - timedelta(hours=1),
    )
    bidders = [make_user(db, login=f"bidder{i}") for i in range(3)]
    proposals = [
        make_proposal(
            db, opp, bidder, state="under_evaluation", price_cents=price, approach=f"APPROACH-{i}"
        )
        for i, (bidder, price) in enumerate(zip(bidders, (400_000, 200_000, 300_000), strict=True))
    ]
    db.commit()
    return Evaluating(opp, owner, [first, second], bidders, proposals)


def _declare(client: TestClient, opp: Opportunity, conflict: str = "no") -> None:
    response = post_form(
        client,
        f"/opportunities/{opp.id}/evaluation/declaration",
        {"conflict": conflict},
        page=f"/opportunities/{opp.id}/evaluation",
    )
    assert response.status_code == 303


def _score(client: TestClient, proposal: Proposal, value: int, action: str = "submit") -> int:
    data = {f"score_{k}": str(value) for k in ("understanding", "approach", "experience")}
    data |= {"comment_approach": f"COMMENT-{proposal.id}", "action": action}
    return post_form(
        client,
        f"/proposals/{proposal.id}/evaluation",
        data,
        page=f"/proposals/{proposal.id}/evaluation",
    ).status_code


def test_declare_score_rank_and_award(
    client: TestClient, db: Session, evaluating: Evaluating
) -> None:
    opp = evaluating.opp
    owner = evaluating.owner
    first, second = evaluating.evaluators
    p0, p1, p2 = evaluating.proposals

    sign_in(client, first)
    assert client.get(f"/proposals/{p0.id}/evaluation").status_code == 404  # not declared yet
    _declare(client, opp)
    assert "APPROACH-0" in client.get(f"/proposals/{p0.id}/evaluation").text
    for proposal, value in ((p0, 5), (p1, 3), (p2, 4)):
        assert _score(client, proposal, value) == 303
    # Disqualification needs a reason.
    assert post_form(
        client, f"/proposals/{p2.id}/disqualify", {"reason": ""}, page="/"
    ).status_code in (409, 422)

    sign_in(client, second)
    _declare(client, opp)
    assert "COMMENT-" not in client.get(f"/proposals/{p0.id}/evaluation").text  # independent
    assert client.get(f"/api/v1/opportunities/{opp.id}/consensus").status_code == 409
    for proposal, value in ((p0, 5), (p1, 3)):
        assert _score(client, proposal, value) == 303
    assert (
        post_form(
            client, f"/proposals/{p2.id}/disqualify", {"reason": "Copied answer"}, page="/"
        ).status_code
        == 303
    )
    assert f"COMMENT-{p0.id}" in client.get(f"/proposals/{p0.id}/evaluation").text  # now shown

    sign_in(client, owner)
    ranking = client.get(f"/api/v1/opportunities/{opp.id}/consensus").json()
    # p0: 80*5/5 + 20*200000/400000 = 90; p1: 80*3/5 + 20 = 68; p2 disqualified.
    assert [(r["proposal_id"], r["rank"], r["total"]) for r in ranking] == [
        (p0.id, 1, "90.00"),
        (p1.id, 2, "68.00"),
        (p2.id, None, None),
    ]
    refused = post_form(
        client, f"/opportunities/{opp.id}/award", {"proposal": str(p1.id), "reason": ""}, page="/"
    )
    assert refused.status_code == 422
    assert "top-ranked" in refused.text
    assert (
        post_form(
            client,
            f"/opportunities/{opp.id}/award",
            {"proposal": str(p0.id), "reason": ""},
            page="/",
        ).status_code
        == 303
    )

    db.expire_all()
    assert state_of(db, Opportunity, opp.id) == "awarded"
    states = {p.id: p.state for p in db.scalars(select(Proposal))}
    assert states == {p0.id: "awarded", p1.id: "not_awarded", p2.id: "disqualified"}

    public = TestClient(client.app)
    notice = public.get(f"/api/v1/opportunities/{opp.id}/award").json()
    assert (notice["winner_login"], notice["price_cents"], notice["total"]) == (
        "bidder0",
        400_000,
        "90.00",
    )
    assert notice["proposals_received"] == 3
    assert "Awarded to @bidder0" in public.get(f"/opportunities/{opp.id}").text
    assert "APPROACH-0" not in public.get(f"/opportunities/{opp.id}").text


def test_an_award_needs_the_minimum_number_of_evaluations(
    client: TestClient, db: Session, evaluating: Evaluating
) -> None:
    opp = evaluating.opp
    owner = evaluating.owner
    p0 = evaluating.proposals[0]
    sign_in(client, owner)
    response = post_form(
        client, f"/opportunities/{opp.id}/award", {"proposal": str(p0.id)}, page="/"
    )
    assert response.status_code == 409
    assert "complete evaluations" in response.text
    db.expire_all()
    assert state_of(db, Opportunity, opp.id) == "evaluating"


def test_a_conflicted_evaluator_never_reads_proposals(
    client: TestClient, db: Session, evaluating: Evaluating
) -> None:
    opp = evaluating.opp
    first = evaluating.evaluators[0]
    p0 = evaluating.proposals[0]
    sign_in(client, first)
    _declare(client, opp, conflict="yes")
    for url in (
        f"/proposals/{p0.id}",
        f"/proposals/{p0.id}/evaluation",
        f"/api/v1/proposals/{p0.id}",
    ):
        assert "APPROACH-0" not in client.get(url).text


def test_no_proposals_reopen_with_a_new_deadline_or_close(client: TestClient, db: Session) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]})
    quiet = make_opportunity(
        db, team, state="evaluating", proposal_deadline=utcnow() - timedelta(hours=1)
    )
    closing = make_opportunity(
        db, team, state="evaluating", proposal_deadline=utcnow() - timedelta(hours=1)
    )
    db.commit()
    sign_in(client, owner)
    later = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    assert (
        post_form(
            client, f"/opportunities/{quiet.id}/reopen", {"proposal_deadline": later}, page="/"
        ).status_code
        == 303
    )
    assert (
        post_form(
            client,
            f"/opportunities/{closing.id}/close-unsuccessful",
            {"reason": "No interest"},
            page="/",
        ).status_code
        == 303
    )
    db.expire_all()
    reopened = db.get(Opportunity, quiet.id)
    assert reopened is not None
    assert reopened.state == "published"
    assert reopened.proposal_deadline > utcnow() + timedelta(days=9)
    assert state_of(db, Opportunity, closing.id) == "unsuccessful"


def test_each_bidder_sees_their_own_scores_and_the_winner_accepts(
    client: TestClient, db: Session, evaluating: Evaluating
) -> None:
    opp = evaluating.opp
    first = evaluating.evaluators[0]
    p0, p1, _p2 = evaluating.proposals
    sign_in(client, first)
    _declare(client, opp)
    for proposal, value in zip(evaluating.proposals, (5, 2, 1), strict=True):
        assert _score(client, proposal, value) == 303
    sign_in(client, evaluating.owner)
    post_form(client, f"/opportunities/{opp.id}/award", {"proposal": str(p0.id)}, page="/")

    loser = evaluating.bidders[1]
    sign_in(client, loser)
    page = client.get(f"/opportunities/{opp.id}/proposal").text
    assert f"COMMENT-{p1.id}" in page
    assert "2/5" in page
    assert f"COMMENT-{p0.id}" not in page  # only their own

    winner = evaluating.bidders[0]
    sign_in(client, winner)
    assert "Accept the contract" in client.get(f"/opportunities/{opp.id}/proposal").text
    assert post_form(client, f"/opportunities/{opp.id}/award/accept", {}).status_code == 303
    assert "You accepted the contract" in client.get(f"/opportunities/{opp.id}/proposal").text
    sign_in(client, loser)
    assert post_form(client, f"/opportunities/{opp.id}/award/accept", {}).status_code == 404


def test_when_the_winner_does_not_accept_in_time_the_next_ranked_can_be_awarded(
    client: TestClient, db: Session, evaluating: Evaluating
) -> None:
    opp = evaluating.opp
    p0, p1, _p2 = evaluating.proposals
    sign_in(client, evaluating.evaluators[0])
    _declare(client, opp)
    for proposal, value in zip(evaluating.proposals, (5, 4, 1), strict=True):
        _score(client, proposal, value)
    sign_in(client, evaluating.owner)
    post_form(client, f"/opportunities/{opp.id}/award", {"proposal": str(p0.id)}, page="/")
    too_soon = post_form(
        client,
        f"/opportunities/{opp.id}/award",
        {"proposal": str(p1.id), "reason": "Winner silent"},
        page="/",
    )
    assert too_soon.status_code == 409  # the winner still has time
    db.execute(update(Award).values(accept_by=utcnow() - timedelta(minutes=1)))
    db.commit()
    assert (
        post_form(
            client,
            f"/opportunities/{opp.id}/award",
            {"proposal": str(p1.id), "reason": "Winner silent"},
            page="/",
        ).status_code
        == 303
    )
    db.expire_all()
    assert state_of(db, Proposal, p0.id) == "not_awarded"
    assert state_of(db, Proposal, p1.id) == "awarded"
    assert db.scalars(select(Award.proposal_id)).one() == p1.id
    awarded = db.scalars(select(Notification.user_id).where(Notification.kind == "awarded")).all()
    assert sorted(awarded) == sorted([p0.author_user_id, p1.author_user_id])
