"""Signing in and out. The demo sign-in router is only mounted outside production."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.accounts import repository
from app.audit import service as audit
from app.deps import PAGE_DEPENDENCIES, SESSION_USER_KEY, DbSession, FormBody, OptionalUser
from app.errors import ValidationFailed
from app.i18n import gettext as _
from app.models import User
from app.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=PAGE_DEPENDENCIES)
demo_router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=PAGE_DEPENDENCIES)


@router.post("/sign-out", name="sign_out")
def sign_out(request: Request, db: DbSession, user: OptionalUser) -> Response:
    if user is not None:
        audit.record(
            db,
            actor_user_id=user.id,
            action="account.sign_out",
            subject_type="user",
            subject_id=user.id,
        )
        db.commit()
    request.session.clear()
    return RedirectResponse("/", status_code=303)


@demo_router.get("/demo-sign-in", response_class=HTMLResponse, name="demo_sign_in")
def demo_sign_in_form(request: Request, db: DbSession) -> Response:
    return render(request, "accounts/demo_sign_in.html", {"users": repository.users_with_roles(db)})


@demo_router.post("/demo-sign-in")
def demo_sign_in(request: Request, db: DbSession, form: FormBody) -> Response:
    raw = form.get("user_id", "")
    user = db.get(User, int(raw)) if isinstance(raw, str) and raw.isdigit() else None
    if user is None:
        raise ValidationFailed(_("Choose one of the demo users."))
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.id
    audit.record(
        db,
        actor_user_id=user.id,
        action="account.sign_in",
        subject_type="user",
        subject_id=user.id,
        details={"method": "demo"},
    )
    db.commit()
    return RedirectResponse("/", status_code=303)
