"""Teams write drafts; the GitHub issue link is verified against the (fake) GitHub API."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.main import create_app
from app.models import AuditEvent, Opportunity, OpportunitySkill
from app.models.base import utcnow
from app.opportunities import service as opportunities
from tests.support.factories import draft_form, make_opportunity, make_team, make_user
from tests.support.fake_github import FakeGitHub
from tests.support.web import post_form, sign_in


def test_an_editor_writes_a_draft_and_the_issue_is_verified(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    fake_github.add_repository("gc-demo/forms", 123456)
    fake_github.add_issue("gc-demo/forms", 7)
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, editor)

    response = post_form(client, f"/teams/{team.slug}/opportunities/new", draft_form())
    assert response.status_code == 303
    opportunity = db.scalars(select(Opportunity)).one()
    assert (opportunity.state, opportunity.amount_cents) == ("draft", 450_050)
    assert opportunity.github_repository_id == 123456  # the numeric id, from the API
    assert opportunity.github_issue_number == 7
    assert opportunity.github_default_branch == "main"
    skills = db.scalars(select(OpportunitySkill.skill).order_by(OpportunitySkill.skill)).all()
    assert skills == ["accessibility", "react"]
    actions = select(AuditEvent.action).where(AuditEvent.subject_type == "opportunity")
    assert db.scalars(actions).all() == ["opportunity.create"]
    page = client.get(response.headers["location"])
    assert "Draft saved." in page.text
    assert "<strong>silent</strong>" in page.text
    assert "not verified" not in page.text
    assert not opportunity.require_passing_checks
    assert "merged and its checks passed" not in page.text

    # The quality gate, as a team sets it: shown to every reader of the opportunity.
    form = draft_form(require_passing_checks="on")
    assert post_form(client, f"/opportunities/{opportunity.id}/edit", form).status_code == 303
    db.refresh(opportunity)
    assert opportunity.require_passing_checks
    assert "merged and its checks passed" in client.get(f"/opportunities/{opportunity.id}").text


def test_a_pull_request_or_a_missing_issue_is_not_a_verified_link(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    fake_github.add_repository("gc-demo/forms", 1)
    fake_github.add_issue("gc-demo/forms", 8, pull_request=True)
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner", "approver"]})
    db.commit()
    sign_in(client, owner)
    for url in (
        "https://github.com/gc-demo/forms/issues/8",
        "https://github.com/gc-demo/forms/issues/404",
    ):
        response = post_form(
            client,
            f"/teams/{team.slug}/opportunities/new",
            draft_form(github_issue_url=url, title=url),
        )
        assert response.status_code == 303  # the draft is kept, the link is not trusted
    drafts = db.scalars(select(Opportunity)).all()
    assert [d.github_repository_id for d in drafts] == [None, None]
    page = client.get(f"/opportunities/{drafts[0].id}")
    assert "not verified yet" in page.text
    publish = post_form(client, f"/opportunities/{drafts[0].id}/publish", {})
    assert publish.status_code == 422
    assert "verify" in publish.text


def test_an_unreachable_github_keeps_the_draft_unverified(
    db: Session, settings: Settings, engine: object
) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    offline = settings.model_copy(update={"github_api_url": "http://127.0.0.1:9"})
    with TestClient(create_app(offline)) as browser:
        sign_in(browser, editor)
        response = post_form(browser, f"/teams/{team.slug}/opportunities/new", draft_form())
    assert response.status_code == 303
    assert db.scalars(select(Opportunity.github_repository_id)).one() is None


def test_field_errors_are_listed_and_linked_and_input_is_kept(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, editor)
    response = post_form(
        client,
        f"/teams/{team.slug}/opportunities/new",
        draft_form(
            title="",
            amount="a lot",
            proposal_deadline="2001-01-01T10:00",
            github_issue_url="https://example.org/nope",
            skills="<b>",
        ),
    )
    assert response.status_code == 422
    for field in ("title", "amount", "proposal_deadline", "github_issue_url", "skills"):
        assert f'href="#field-{field}"' in response.text
        assert f'id="field-{field}"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert "a lot" in response.text
    assert db.scalars(select(Opportunity)).first() is None


def test_text_over_a_fields_length_is_a_field_error_in_french(
    client: TestClient, db: Session
) -> None:
    """The form reads into the API's input model, whose length limits then apply to the page
    too: as the form's own field error, never as a bare 422 page."""
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, editor)
    client.get("/?lang=fr")
    response = post_form(
        client, f"/teams/{team.slug}/opportunities/new", draft_form(title="x" * 201)
    )
    assert response.status_code == 422
    assert 'href="#field-title"' in response.text
    assert "Utilisez au plus 200 caractères." in response.text
    assert db.scalars(select(Opportunity)).first() is None


def test_editing_a_draft_and_refusing_to_edit_a_published_one(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    team = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    draft = make_opportunity(
        db,
        team,
        state="draft",
        github_repository_id=None,
        github_repository_full_name="",
        github_issue_number=None,
    )
    published = make_opportunity(db, team, state="published")
    db.commit()
    sign_in(client, editor)
    assert client.get(f"/opportunities/{draft.id}/edit").status_code == 200
    response = post_form(
        client,
        f"/opportunities/{draft.id}/edit",
        draft_form(title="New title", github_issue_url=""),
    )
    assert response.status_code == 303
    db.expire_all()
    db.refresh(draft)
    assert draft.title == "New title"
    refused = post_form(client, f"/opportunities/{published.id}/edit", draft_form())
    assert refused.status_code == 409


def test_the_api_creates_a_draft_for_a_team_member_only(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    team = make_team(db)
    other = make_team(db)
    editor = make_user(db, roles={team: ["editor"]})
    db.commit()
    url = f"/api/v1/teams/{team.slug}/opportunities"
    body = {
        "title": "Via API",
        "amount_cents": 120_000,
        "proposal_deadline": (utcnow() + timedelta(days=3)).isoformat(),
        "skills": ["python"],
        "context_links": ["https://example.org/data"],
    }
    assert client.post(url, json=body).status_code == 401
    sign_in(client, editor)
    headers = {"x-csrftoken": client.cookies["csrftoken"]}
    created = client.post(url, json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["state"] == "draft"
    assert created.json()["skills"] == ["python"]
    assert created.json()["require_passing_checks"] is False
    gated = client.post(url, json={**body, "require_passing_checks": True}, headers=headers)
    assert gated.json()["require_passing_checks"] is True
    forbidden = client.post(f"/api/v1/teams/{other.slug}/opportunities", json=body, headers=headers)
    assert forbidden.status_code == 403
    no_token = client.post(url, json=body)
    assert no_token.status_code == 403  # a cookie-authenticated write needs the CSRF header


def test_writing_hints_come_from_the_draft(db: Session, settings: Settings) -> None:
    team = make_team(db)
    long_sentence = " ".join(["word"] * 60) + "."
    vague = make_opportunity(
        db,
        team,
        acceptance_criteria="",
        context_links="",
        amount_cents=950_000,
        problem_statement=long_sentence + " You must use React.",
    )
    tidy = make_opportunity(
        db,
        team,
        context_links="https://example.org/data",
        problem_statement="Users cannot print. It blocks them.",
    )
    db.commit()
    hints = " ".join(opportunities.writing_hints(vague, settings))
    for expected in (
        "acceptance criteria",
        "context and data",
        "close to the limit",
        "sentences average",
        "rather than the solution",
    ):
        assert expected in hints
    assert opportunities.writing_hints(tidy, settings) == []
