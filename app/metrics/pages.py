"""The participation metrics page: a quarter and a team chosen by a GET form, the figures as
server-drawn SVG bar charts, each with its text alternative and its data table."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.access import PUBLIC, allow
from app.deps import AppSettings, DbSession
from app.metrics import service
from app.metrics.labels import quarter_label
from app.models.base import utcnow
from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get(
    "/metrics/participation",
    response_class=HTMLResponse,
    name="participation_metrics",
    dependencies=[allow(PUBLIC)],
)
def participation(request: Request, db: DbSession, settings: AppSettings) -> Response:
    params = request.query_params
    now = utcnow()
    choice = service.choose(db, params.get("quarter", ""), params.get("team", ""), now)
    rows = service.trend(db, choice.quarter, choice.team, settings.currency, now)
    return render(
        request,
        "metrics/participation.html",
        {
            "choice": choice,
            "figures": rows[-1],
            "rows": rows,
            "charts": service.charts(rows),
            "on_time_days": service.ON_TIME_DAYS,
            "chart_size": (service.CHART_WIDTH, service.CHART_HEIGHT),
            "baseline": service.BARS_BOTTOM,
            "quarter_label": quarter_label,
        },
    )
