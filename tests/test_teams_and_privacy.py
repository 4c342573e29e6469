"""Teams (creation, approval, roles, invitations), terms, the person's data and its deletion."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import AuditEvent, Team, TeamMembership, User
from tests.support.factories import make_opportunity, make_team, make_user
from tests.support.web import post_form, sign_in


def _roles(db: Session, user: User, team: Team) -> set[str]:
    db.expire_all()
    return set(
        db.scalars(
            select(TeamMembership.role).where(
                TeamMembership.user_id == user.id, TeamMembership.team_id == team.id
            )
        )
    )


@pytest.mark.parametrize(
    ("email", "approved"),
    [
        ("lea@ssc-spc.gc.ca", True),
        ("lea@gmail.com", False),
        (None, False),
    ],
)
def test_a_government_email_creates_an_approved_team(
    client: TestClient, db: Session, email: str | None, approved: bool
) -> None:
    user = make_user(db, email=email, email_verified=email is not None)
    db.commit()
    sign_in(client, user)
    response = post_form(
        client,
        "/teams/new",
        {"name": "Shared Services Web", "organization": "SSC"},
        page="/teams/new",
    )
    assert response.status_code == 303
    team = db.scalars(select(Team).where(Team.slug == "shared-services-web")).one()
    assert (team.approved_at is not None) is approved
    assert _roles(db, user, team) == {"owner"}
    public = TestClient(client.app).get("/teams/shared-services-web")
    assert public.status_code == (200 if approved else 404)


def test_an_admin_approves_a_pending_team_and_only_then_it_can_publish(
    client: TestClient, db: Session
) -> None:
    pending = make_team(db, approved_at=None)
    owner = make_user(db, roles={pending: ["owner", "approver"]})
    admin = make_user(db, is_admin=True)
    draft = make_opportunity(db, pending, state="draft")
    db.commit()
    sign_in(client, owner)
    refused = post_form(client, f"/opportunities/{draft.id}/publish", {})
    assert refused.status_code == 422
    assert "approved" in refused.text
    sign_in(client, admin)
    assert (
        post_form(client, f"/admin/teams/{pending.slug}/approve", {}, page="/admin").status_code
        == 303
    )
    sign_in(client, owner)
    assert post_form(client, f"/opportunities/{draft.id}/publish", {}).status_code == 303


def test_invitations_are_single_use_and_expire(
    client: TestClient, db: Session, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]})
    newcomer = make_user(db)
    latecomer = make_user(db)
    db.commit()
    sign_in(client, owner)
    page = post_form(
        client,
        f"/teams/{team.slug}/invitations",
        {"email": "new@example.gc.ca", "role": "evaluator"},
        page=f"/teams/{team.slug}/members",
    )
    assert "Invitation sent to new@example.gc.ca" in page.text
    email = capsys.readouterr().err  # the console email backend
    link = re.search(r"/invitations/[\w-]+", email)
    assert link, email
    sign_in(client, newcomer)
    assert client.get(link.group(0)).status_code == 200
    assert post_form(client, link.group(0), {}, page=link.group(0)).status_code == 303
    assert _roles(db, newcomer, team) == {"evaluator"}
    sign_in(client, latecomer)
    assert client.get(link.group(0)).status_code == 404  # used once already
    assert post_form(client, link.group(0), {}).status_code == 404
    assert _roles(db, latecomer, team) == set()


def test_owners_change_roles_but_the_last_owner_cannot_go(client: TestClient, db: Session) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]})
    member = make_user(db, roles={team: ["editor"]})
    db.commit()
    sign_in(client, owner)
    members = f"/teams/{team.slug}/members"
    client.post(
        f"{members}/{member.id}",
        data={"roles": ["evaluator", "finance"], "csrftoken": client.cookies["csrftoken"]},
    )
    assert _roles(db, member, team) == {"evaluator", "finance"}
    demote_self = client.post(
        f"{members}/{owner.id}",
        data={"roles": ["editor"], "csrftoken": client.cookies["csrftoken"]},
    )
    assert demote_self.status_code == 409
    assert "at least one owner" in demote_self.text
    assert post_form(client, f"/teams/{team.slug}/leave", {}).status_code == 409
    assert _roles(db, owner, team) == {"owner"}
    events = db.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "team")).all()
    assert "team.roles_changed" in events


def test_a_new_terms_version_asks_again(
    client: TestClient, db: Session, settings: Settings
) -> None:
    user = make_user(db, terms_version="2020-01")
    db.commit()
    sign_in(client, user)
    assert "Please read and accept the platform terms" in client.get("/").text
    assert (
        post_form(client, "/account/terms", {"accept": "on"}, page="/account/terms").status_code
        == 303
    )
    assert "Please read and accept the platform terms" not in client.get("/").text
    db.expire_all()
    stored = db.get(User, user.id)
    assert stored is not None
    assert stored.terms_version == settings.terms_version
    assert stored.terms_accepted_at is not None


def test_profile_saves_and_explains_bad_links(client: TestClient, db: Session) -> None:
    user = make_user(db)
    db.commit()
    sign_in(client, user)
    bad = post_form(
        client, "/account", {"display_name": "Sam", "links": "ftp://x"}, page="/account"
    )
    assert bad.status_code == 422
    assert 'href="#field-links"' in bad.text
    good = post_form(
        client,
        "/account",
        {
            "display_name": "Sam",
            "skills": "Python, CSS",
            "links": "https://sam.dev",
            "preferred_locale": "fr",
            "attest_eligibility": "on",
        },
        page="/account",
    )
    assert good.status_code == 303
    db.expire_all()
    stored = db.get(User, user.id)
    assert stored is not None
    assert (stored.display_name, stored.skills, stored.preferred_locale) == (
        "Sam",
        "python, css",
        "fr",
    )
    assert stored.eligibility_attested_at is not None


def test_download_and_delete_my_data(client: TestClient, db: Session) -> None:
    team = make_team(db)
    user = make_user(db, email="me@example.com", roles={team: ["evaluator"]})
    db.commit()
    sign_in(client, user)
    exported = client.get("/account/data.json")
    assert exported.headers["content-type"].startswith("application/json")
    data = json.loads(exported.text)
    assert data["profile"]["email"] == "me@example.com"
    assert data["team_roles"] == [{"team_id": team.id, "role": "evaluator"}]
    assert any(e["action"] == "account.sign_in" for e in data["security_history"])

    refused = post_form(client, "/account/delete", {"confirm": "wrong"}, page="/account/delete")
    assert refused.status_code == 422
    deleted = post_form(client, "/account/delete", {"confirm": user.login}, page="/account/delete")
    assert deleted.status_code == 303
    assert client.get("/api/v1/me").status_code == 401
    db.expire_all()
    stored = db.get(User, user.id)
    assert stored is not None
    assert stored.deleted_at is not None
    assert (stored.email, stored.name, stored.github_id) == (None, "", user.github_id)
    assert stored.login == f"deleted-{user.id}"
    assert _roles(db, stored, team) == set()


def test_the_last_owner_cannot_delete_their_account(client: TestClient, db: Session) -> None:
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner"]})
    db.commit()
    sign_in(client, owner)
    assert "last owner" in client.get("/account/delete").text
    response = post_form(client, "/account/delete", {"confirm": owner.login})
    assert response.status_code == 409
