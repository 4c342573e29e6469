"""Public JSON routes for teams."""

from __future__ import annotations

from fastapi import APIRouter

from app.access import PUBLIC, allow, team
from app.deps import Client, CurrentUser, DbSession, OptionalUser
from app.models import TeamRole
from app.teams import repository, service
from app.teams.schemas import ProjectOut, TeamDetailOut, TeamOut, TeamSettings

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])
OWNERS = team(TeamRole.OWNER, via="slug")


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
    db.commit()
    return TeamSettings.model_validate(found)
