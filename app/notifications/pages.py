"""The in-app notification list and the one-click unsubscribe."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.access import PUBLIC, SIGNED_IN, allow
from app.deps import AppSettings, CurrentUser, DbSession
from app.forms import form_action
from app.notifications import service
from app.notifications.labels import kind_labels
from app.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/notifications", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def notifications(request: Request, db: DbSession, user: CurrentUser) -> Response:
    return render(request, "notifications/list.html", {"notifications": service.recent(db, user)})


@router.post("/notifications/read", dependencies=[allow(SIGNED_IN)])
def mark_read(db: DbSession, user: CurrentUser) -> Response:
    return form_action(db, lambda: service.mark_all_read(db, user), then="/notifications")


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
def unsubscribe_page(token: str, request: Request, settings: AppSettings) -> Response:
    _user_id, kind = service.read_unsubscribe_token(settings, token)
    return render(
        request,
        "notifications/unsubscribe.html",
        {"token": token, "kind": kind_labels()[kind], "done": False},
    )


@router.post("/unsubscribe/{token}", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
def unsubscribe(token: str, request: Request, db: DbSession, settings: AppSettings) -> Response:
    """Also the RFC 8058 one-click target: a mail client posts here without any cookie."""
    user_id, kind = service.read_unsubscribe_token(settings, token)
    return form_action(
        db,
        lambda: service.unsubscribe(db, user_id, kind),
        then=lambda _done: render(
            request,
            "notifications/unsubscribe.html",
            {"token": token, "kind": kind_labels()[kind], "done": True},
        ),
    )
