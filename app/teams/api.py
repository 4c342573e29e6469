"""Public JSON routes for teams."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import DbSession
from app.teams import repository, service
from app.teams.schemas import ProjectOut, TeamDetailOut, TeamOut

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])


@router.get("", response_model=list[TeamOut])
def list_teams(db: DbSession) -> list[TeamOut]:
    return [TeamOut.model_validate(team) for team in repository.list_teams(db)]


@router.get("/{slug}", response_model=TeamDetailOut)
def get_team(slug: str, db: DbSession) -> TeamDetailOut:
    team = service.get_team(db, slug)
    projects = [ProjectOut.model_validate(p) for p in repository.projects_of(db, team.id)]
    return TeamDetailOut(**TeamOut.model_validate(team).model_dump(), projects=projects)
