"""Public JSON routes for teams."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.access import PUBLIC, allow, team
from app.deps import Client, CurrentUser, DbSession, OptionalUser
from app.errors import NotFound
from app.models import Team, TeamRole
from app.teams import repository, service
from app.teams.schemas import (
    MemberOut,
    MemberRolesIn,
    ProjectOut,
    TeamDetailOut,
    TeamOut,
    TeamSettings,
)

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])
OWNERS = team(TeamRole.OWNER, via="slug")
# GitHub ids are numeric and may pass 32 bits one day (the column is a BIGINT).
GitHubId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("", response_model=list[TeamOut], dependencies=[allow(PUBLIC)])
def list_teams(db: DbSession) -> list[TeamOut]:
    return [TeamOut.model_validate(team) for team in repository.list_teams(db)]


@router.get("/{slug}", response_model=TeamDetailOut, dependencies=[allow(PUBLIC)])
def get_team(slug: str, db: DbSession, user: OptionalUser) -> TeamDetailOut:
    team = service.get_team(db, slug, user)
    projects = [ProjectOut.model_validate(p) for p in repository.projects_of(db, team.id)]
    return TeamDetailOut(**TeamOut.model_validate(team).model_dump(), projects=projects)


@router.get(
    "/{slug}/settings",
    response_model=TeamSettings,
    dependencies=[allow(OWNERS)],
    summary="The team's settings (team owners)",
)
def get_settings(slug: str, db: DbSession, user: CurrentUser) -> TeamSettings:
    return TeamSettings.model_validate(service.get_team(db, slug, user))


@router.put(
    "/{slug}/settings",
    response_model=TeamSettings,
    dependencies=[allow(OWNERS)],
    summary="Change the team's settings (team owners)",
)
def put_settings(
    slug: str, body: TeamSettings, db: DbSession, user: CurrentUser, client: Client
) -> TeamSettings:
    found = service.get_team(db, slug, user)
    service.set_default_licence(db, user, found, body.default_licence, client)
    service.set_monthly_spending_limit(db, user, found, body.monthly_spending_limit_cents, client)
    db.commit()
    return TeamSettings.model_validate(found)


def _members(db: DbSession, found: Team) -> list[MemberOut]:
    limits = repository.approver_limits(db, found.id)
    return [
        MemberOut(
            github_id=member.github_id,
            login=member.login,
            roles=roles,
            spending_limit_cents=limits.get(member.id),
        )
        for member, roles in repository.members_of(db, found.id)
    ]


@router.get(
    "/{slug}/members",
    response_model=list[MemberOut],
    dependencies=[allow(OWNERS)],
    summary="The team's members, their roles and approvers' limits (team owners)",
)
def get_members(slug: str, db: DbSession, user: CurrentUser) -> list[MemberOut]:
    return _members(db, service.get_team(db, slug, user))


@router.put(
    "/{slug}/members/{github_id}",
    response_model=list[MemberOut],
    dependencies=[allow(OWNERS)],
    summary="Set a member's roles and, for an approver, their sign-off limit (team owners)",
)
def put_member(
    slug: str,
    github_id: GitHubId,
    body: MemberRolesIn,
    db: DbSession,
    user: CurrentUser,
    client: Client,
) -> list[MemberOut]:
    found = service.get_team(db, slug, user)
    member = repository.member_by_github_id(db, found.id, github_id)
    if member is None:
        raise NotFound()
    service.set_roles(
        db,
        user,
        found,
        member.id,
        [role.value for role in body.roles],
        client,
        spending_limit_cents=body.spending_limit_cents,
    )
    db.commit()
    return _members(db, found)
