"""The open-data page: what is published, in which files, under which licence, and what each
column means (the data dictionary, in English and French)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.access import PUBLIC, allow
from app.opendata.service import DATASETS
from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/opendata", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
def opendata(request: Request) -> Response:
    return render(request, "opendata/index.html", {"datasets": DATASETS})
