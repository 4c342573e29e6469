"""The participation metrics as CSV: the figures the page charts, for the same choice."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from app.access import PUBLIC, allow
from app.deps import AppSettings, DbSession
from app.metrics import service
from app.models.base import utcnow

router = APIRouter(tags=["open data"])


@router.get(
    "/metrics/participation.csv",
    dependencies=[allow(PUBLIC)],
    summary="Participation metrics of a quarter and the three before it (CSV, one row a quarter)",
    response_class=Response,
)
def participation_csv(
    db: DbSession,
    settings: AppSettings,
    quarter: str = Query("", max_length=10, description="Like 2026-Q3; the current one if empty"),
    team: str = Query("", max_length=80, description="A team's slug; all teams if empty"),
) -> Response:
    now = utcnow()
    choice = service.choose(db, quarter, team, now)
    rows = service.trend(db, choice.quarter, choice.team, settings.currency, now)
    name = (
        f"devex-participation-{choice.quarter}{'-' + choice.team.slug if choice.team.slug else ''}"
    )
    return Response(
        # The byte-order mark lets spreadsheet programs read the file as UTF-8.
        "\ufeff" + service.as_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )
