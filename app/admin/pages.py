"""Administrator pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app import queue
from app.access import ADMIN, allow
from app.admin import service
from app.deps import Client, CurrentUser, DbSession
from app.forms import form_action
from app.teams import repository as teams_repository
from app.teams import service as teams_service
from app.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/admin", response_class=HTMLResponse, dependencies=[allow(ADMIN)])
def admin_home(request: Request, db: DbSession, user: CurrentUser) -> Response:
    return render(
        request,
        "admin/home.html",
        {
            "pending_teams": teams_repository.pending_teams(db),
            "audit_lines": service.audit_trail(db, user),
        },
    )


@router.post("/admin/teams/{slug}/approve", dependencies=[allow(ADMIN)])
def approve_team(slug: str, db: DbSession, user: CurrentUser, client: Client) -> Response:
    return form_action(
        db, lambda: teams_service.approve_team(db, user, slug, client), then="/admin"
    )


@router.get("/admin/jobs", response_class=HTMLResponse, dependencies=[allow(ADMIN)])
def troubled_jobs(request: Request, db: DbSession) -> Response:
    """Background jobs that failed, or wait to be tried again after a failure."""
    return render(
        request,
        "admin/jobs.html",
        {
            "jobs": queue.troubled_jobs(db),
            "has_queue": db.get_bind().dialect.name == "postgresql",
        },
    )
