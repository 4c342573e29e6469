"""The open-data files: public, cacheable, no sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.access import PUBLIC, allow
from app.deps import AppSettings, DbSession
from app.opendata import service
from app.opendata.schemas import Dataset

router = APIRouter(prefix="/opendata", tags=["open data"])


@router.get(
    "/opportunities.json",
    dependencies=[allow(PUBLIC)],
    summary="Every public opportunity with its award facts (amounts in integer cents)",
)
def opportunities_json(db: DbSession, settings: AppSettings) -> Dataset:
    return service.opportunities(db, settings.base_url)


@router.get(
    "/opportunities.csv",
    dependencies=[allow(PUBLIC)],
    summary="The same dataset as CSV (UTF-8, comma-separated, one header row)",
    response_class=Response,
)
def opportunities_csv(db: DbSession, settings: AppSettings) -> Response:
    dataset = service.opportunities(db, settings.base_url)
    return Response(
        # The byte-order mark lets spreadsheet programs read the accents as UTF-8.
        "\ufeff" + service.as_csv(dataset.items),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="devex-opportunities.csv"'},
    )
