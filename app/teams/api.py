"""Public JSON routes for teams."""

from __future__ import annotations

from fastapi import APIRouter

from app.access import PUBLIC, allow
from app.deps import DbSession, OptionalUser
from app.teams import repository, service
from app.teams.schemas import ProjectOut, TeamDetailOut, TeamOut

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])


@router.get("", response_model=list[TeamOut], dependencies=[allow(PUBLIC)])
def list_teams(db: DbSession) -> list[TeamOut]:
    return [TeamOut.model_validate(team) for team in repository.list_teams(db)]


@router.get("/{slug}", response_model=TeamDetailOut, dependencies=[allow(PUBLIC)])
def get_team(slug: str, db: DbSession, user: OptionalUser) -> TeamDetailOut:
    team = service.get_team(db, slug, user)
    projects = [ProjectOut.model_validate(p) for p in repository.projects_of(db, team.id)]
    return TeamDetailOut(**TeamOut.model_validate(team).model_dump(), projects=projects)
