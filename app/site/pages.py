"""Home page, the API reference, health and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import text

from app.access import PUBLIC, allow
from app.deps import AppSettings, DbSession
from app.migrations import current_revision, head_revision, migrations_pending
from app.models import OpportunityState
from app.opportunities import repository as opportunities
from app.opportunities.schemas import ListFilters, Sort
from app.site import service
from app.site.repository import site_figures
from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse, name="home", dependencies=[allow(PUBLIC)])
def home(request: Request, db: DbSession, settings: AppSettings) -> Response:
    closing_soon = opportunities.list_public(
        db, ListFilters(state=[OpportunityState.PUBLISHED], sort=Sort.DEADLINE, limit=5)
    )
    return render(
        request,
        "site/home.html",
        {
            "figures": site_figures(db, settings.currency),
            "closing_soon": closing_soon,
        },
    )


@router.get(
    "/api/v1/docs", response_class=HTMLResponse, name="api_reference", dependencies=[allow(PUBLIC)]
)
def api_reference(request: Request) -> Response:
    """The API reference, written from the OpenAPI document; no script, so the site's CSP holds."""
    return render(request, "site/api.html", {"reference": service.api_reference(request.app)})


@router.get("/healthz", dependencies=[allow(PUBLIC)])
def healthz() -> dict[str, str]:
    """The process is up. Says nothing about the database on purpose."""
    return {"status": "ok"}


@router.get("/readyz", dependencies=[allow(PUBLIC)])
def readyz(db: DbSession) -> Response:
    """Ready for traffic: the database answers and its schema has every migration of this
    code (a later one too, while a new release rolls out)."""
    try:
        db.execute(text("SELECT 1"))
        current = current_revision(db.connection())
    except Exception:  # any failure to reach the database means "not ready"
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if migrations_pending(current):
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "migrations pending",
                "current": current,
                "head": head_revision(),
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok", "migration": current})
