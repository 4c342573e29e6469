"""The "My work" and "Needs you" pages, and the counts the navigation shows beside them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.access import SIGNED_IN, allow
from app.db import request_session
from app.deps import AppSettings, CurrentUser, DbSession
from app.models import User
from app.payments.labels import state_label as payout_state_label
from app.templating import render
from app.work import service

router = APIRouter(tags=["pages"], include_in_schema=False)
log = structlog.get_logger("devex.work")


@router.get("/my-work", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def my_work(request: Request, db: DbSession, user: CurrentUser) -> Response:
    work = service.my_work(db, user)
    return render(
        request,
        "work/my_work.html",
        {
            "work": work,
            "sections": service.sections_of(work.to_do),
            "payout_state_label": payout_state_label,
        },
    )


@router.get("/needs-you", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def needs_you(
    request: Request, db: DbSession, user: CurrentUser, settings: AppSettings
) -> Response:
    items = service.needs_you(db, user, settings)
    return render(
        request,
        "work/needs_you.html",
        {"count": len(items), "sections": service.sections_of(items)},
    )


def navigation(request: Request) -> dict[str, Any]:
    """The counts beside "My work" and "Needs you" on every page, for a signed-in person. Read
    in the request's session, or in one of their own for error pages, which render after the
    request's session is gone."""
    viewer = getattr(request.state, "viewer", None)
    if viewer is None:
        return {}
    state = request.app.state
    try:
        with _session_for(request) as session:
            user = session.get(User, viewer.id)
            counts = service.nav_counts(session, user, state.settings) if user else None
    except SQLAlchemyError:
        # The page must still render (it may be the one saying the database is unavailable):
        # the links stay, without their counts.
        log.warning("work counts unavailable", exc_info=True)
        counts = None
    return {"work_nav": counts}


@contextmanager
def _session_for(request: Request) -> Iterator[Session]:
    session = request_session(request)
    if session is not None:
        yield session
        return
    with request.app.state.session_factory() as own:
        yield own
