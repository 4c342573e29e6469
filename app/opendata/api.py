"""The open-data files and catalogues: public, no sign-in, read straight from the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from app.access import PUBLIC, allow
from app.config import Settings
from app.deps import AppSettings, DbSession
from app.opendata import catalogues, service
from app.opendata.schemas import DatasetFile
from app.opendata.service import OpenDataset
from app.teams import service as teams

router = APIRouter(tags=["open data"])


def _streamed(request: Request, write: Callable[[Session], Iterator[str]]) -> Iterator[str]:
    """The file, read in a session of its own: the response is still being written after the
    route has returned (and the request's session is gone)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        yield from write(session)


def _licence_link(settings: Settings) -> dict[str, str]:
    return {"link": f'<{settings.opendata_licence_url}>; rel="license"'}


def _csv_route(dataset: OpenDataset) -> Callable[[Request, Settings], StreamingResponse]:
    def download(request: Request, settings: AppSettings) -> StreamingResponse:
        rows = _streamed(
            request,
            lambda session: service.as_csv(dataset, dataset.read(session, settings.base_url)),
        )
        filename = f"devex-{dataset.name}.csv"
        return StreamingResponse(
            rows,
            media_type="text/csv; charset=utf-8",
            headers={
                "content-disposition": f'attachment; filename="{filename}"',
                **_licence_link(settings),
            },
        )

    return download


def _json_route(dataset: OpenDataset) -> Callable[[Request, Settings], StreamingResponse]:
    def download(request: Request, settings: AppSettings) -> StreamingResponse:
        rows = _streamed(
            request,
            lambda session: service.as_json(
                dataset, settings, dataset.read(session, settings.base_url)
            ),
        )
        return StreamingResponse(
            rows, media_type="application/json", headers=_licence_link(settings)
        )

    return download


for _dataset in service.DATASETS:
    router.add_api_route(
        f"/opendata/{_dataset.name}.json",
        _json_route(_dataset),
        methods=["GET"],
        dependencies=[allow(PUBLIC)],
        response_model=DatasetFile,
        response_class=StreamingResponse,
        summary=f"Open data, {_dataset.name}: every public record, as JSON (amounts in cents)",
    )
    router.add_api_route(
        f"/opendata/{_dataset.name}.csv",
        _csv_route(_dataset),
        methods=["GET"],
        dependencies=[allow(PUBLIC)],
        response_class=StreamingResponse,
        summary=f"Open data, {_dataset.name}: as CSV (UTF-8, comma-separated, one header row)",
    )


@router.get(
    "/opendata/dictionary.json",
    dependencies=[allow(PUBLIC)],
    summary="The data dictionary: each dataset's columns, types and meanings in English and French",
)
def dictionary(settings: AppSettings) -> JSONResponse:
    return JSONResponse(service.dictionary(settings))


@router.get(
    "/data.json",
    dependencies=[allow(PUBLIC)],
    summary="The open datasets as a DCAT-US 1.1 catalogue, for open-data portals to harvest",
)
def data_json(settings: AppSettings) -> JSONResponse:
    return JSONResponse(catalogues.data_json(settings))


@router.get(
    "/code.json",
    dependencies=[allow(PUBLIC)],
    summary="The repositories that received paid work, as a code.gov 2.0 inventory",
)
def code_json(db: DbSession, settings: AppSettings) -> JSONResponse:
    return JSONResponse(catalogues.code_json(db, settings))


@router.get(
    "/teams/{slug}/code.json",
    dependencies=[allow(PUBLIC)],
    summary="One team's repositories that received paid work, as a code.gov 2.0 inventory",
)
def team_code_json(slug: str, db: DbSession, settings: AppSettings) -> JSONResponse:
    found = teams.get_team(db, slug)
    return JSONResponse(catalogues.code_json(db, settings, found.slug))
