"""The open-data page: what is published, in which files, and what each column means."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.access import PUBLIC, allow
from app.opendata.schemas import OpportunityRecord
from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/opendata", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
def opendata(request: Request) -> Response:
    return render(request, "opendata/index.html", {"columns": list(OpportunityRecord.model_fields)})
