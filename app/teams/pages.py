"""Public team and project pages; members also see their team's drafts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import PAGE_DEPENDENCIES, DbSession, OptionalUser
from app.errors import NotFound
from app.opportunities import repository as opportunities
from app.opportunities.schemas import ListFilters
from app.teams import repository, service
from app.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=PAGE_DEPENDENCIES)


@router.get("/teams", response_class=HTMLResponse, name="team_list")
def team_list(request: Request, db: DbSession) -> Response:
    return render(
        request,
        "teams/list.html",
        {
            "teams": repository.list_teams(db),
            "counts": repository.public_opportunity_counts(db),
        },
    )


@router.get("/teams/{slug}", response_class=HTMLResponse, name="team_detail")
def team_detail(slug: str, request: Request, db: DbSession, user: OptionalUser) -> Response:
    team = service.get_team(db, slug)
    roles = repository.roles_of(db, user.id, team.id) if user else set()
    drafts = opportunities.drafts_of_teams(db, [team.id]) if roles else []
    return render(
        request,
        "teams/detail.html",
        {
            "team": team,
            "projects": repository.projects_of(db, team.id),
            "roles": sorted(roles),
            "can_author": bool(roles & set(service.AUTHOR_ROLES)),
            "drafts": drafts,
            "page": opportunities.list_public(db, ListFilters(team=team.slug, limit=50)),
        },
    )


@router.get(
    "/teams/{slug}/projects/{project_slug}", response_class=HTMLResponse, name="project_detail"
)
def project_detail(slug: str, project_slug: str, request: Request, db: DbSession) -> Response:
    team = service.get_team(db, slug)
    project = repository.project_by_slug(db, team.id, project_slug)
    if project is None:
        raise NotFound()
    page = opportunities.list_public(db, ListFilters(project_id=project.id, limit=50))
    return render(
        request,
        "teams/project.html",
        {
            "team": team,
            "project": project,
            "page": page,
        },
    )
