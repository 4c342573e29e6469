"""Issue 7, done means 1 (the flow): a draft goes to peer review, a public servant from another
team reviews it, the author replies and takes it back, and the published page says so."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Opportunity, Review
from tests.support.factories import make_opportunity, make_team, make_user, state_of
from tests.support.web import post_form, sign_in

REVIEW = {
    "check_states_a_problem": "on",
    "check_licence_named": "on",
    "comment_problem": "Say who is affected.",
    "comment_amount": "Fair for the effort.",
}


def test_the_peer_review_flow_in_pages(client: TestClient, db: Session) -> None:
    team = make_team(db, require_peer_review=True)
    other = make_team(db)
    # Owner and approver: publishing is an approver's sign-off (issue 16).
    owner = make_user(db, roles={team: ["owner", "approver"]})
    peer = make_user(db, roles={other: ["editor"]})  # a public servant of another team
    outsider = make_user(db)  # a developer: not a public servant
    draft = make_opportunity(db, team, state="draft", title="Draft to scope")
    db.commit()

    sign_in(client, owner)
    blocked = post_form(client, f"/opportunities/{draft.id}/publish", {})
    assert blocked.status_code == 422
    assert "peer review" in blocked.text
    assert (
        post_form(client, f"/opportunities/{draft.id}/peer-review", {"reviewers": ""}).status_code
        == 303
    )

    sign_in(client, outsider)
    assert "Draft to scope" not in client.get("/reviews").text
    assert client.get(f"/opportunities/{draft.id}/review").status_code == 404

    sign_in(client, peer)
    assert "Draft to scope" in client.get("/reviews").text
    empty = post_form(client, f"/opportunities/{draft.id}/review", {})
    assert empty.status_code == 422
    assert post_form(client, f"/opportunities/{draft.id}/review", REVIEW).status_code == 303
    assert post_form(client, f"/opportunities/{draft.id}/review", REVIEW).status_code == 409

    sign_in(client, owner)
    page = client.get(f"/opportunities/{draft.id}").text
    assert "Say who is affected." in page
    review = db.scalars(select(Review)).one()
    assert review.checklist["states_a_problem"] is True
    assert review.checklist["effort_fits_amount"] is False
    assert (
        post_form(
            client, f"/reviews/{review.id}/reply", {"reply": "Added a paragraph.", "resolve": "on"}
        ).status_code
        == 303
    )
    assert post_form(client, f"/opportunities/{draft.id}/peer-review/end", {}).status_code == 303
    db.expire_all()
    assert state_of(db, Opportunity, draft.id) == "draft"
    db.refresh(review)
    assert review.resolved_at is not None
    assert post_form(client, f"/opportunities/{draft.id}/publish", {}).status_code == 303
    assert (
        "Peer reviewed by 1 reviewer"
        in TestClient(client.app).get(f"/opportunities/{draft.id}").text
    )
    actions = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.subject_id == draft.id, AuditEvent.subject_type == "opportunity"
        )
    ).all()
    assert {"review.submitted", "review.replied"} <= set(actions)


def test_named_reviewers_only_and_the_api(client: TestClient, db: Session) -> None:
    team = make_team(db)
    other = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    named = make_user(db, login="named-peer", roles={other: ["owner"]})
    not_named = make_user(db, roles={other: ["editor"]})
    draft = make_opportunity(db, team, state="draft")
    db.commit()
    sign_in(client, editor)
    token = {"x-csrftoken": client.cookies["csrftoken"]}
    assert (
        client.post(
            f"/api/v1/opportunities/{draft.id}/peer-review",
            json={"reviewers": ["nobody-here"]},
            headers=token,
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/api/v1/opportunities/{draft.id}/peer-review",
            json={"reviewers": ["named-peer"]},
            headers=token,
        ).status_code
        == 204
    )
    sign_in(client, not_named)
    assert client.get("/api/v1/reviews").json() == []
    sign_in(client, named)
    assert [d["id"] for d in client.get("/api/v1/reviews").json()] == [draft.id]
    created = client.post(
        f"/api/v1/opportunities/{draft.id}/review",
        json={"comments": {"criteria": "Make them testable."}},
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )
    assert created.status_code == 201
