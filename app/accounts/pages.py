"""Signing in and out, the person's own account pages, and the local-only demo sign-in."""

from __future__ import annotations

import json
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.access import PUBLIC, SIGNED_IN, allow
from app.accounts import repository, service
from app.config import Settings
from app.deps import (
    AppSettings,
    Client,
    CurrentUser,
    DbSession,
    FormBody,
    RowId,
    form_text,
    form_values,
    session_cookie_name,
)
from app.errors import AppError, ValidationFailed
from app.forms import form_action
from app.github import oauth
from app.github.client import GitHubClient
from app.i18n import gettext as _
from app.models import User
from app.security import CSRF_COOKIE, set_session_csrf_cookie
from app.teams import service as teams_service
from app.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)
demo_router = APIRouter(tags=["pages"], include_in_schema=False)

OAUTH_STATE_COOKIE = "devex_oauth_state"


def _signed_in_response(settings: Settings, token: str, return_to: str) -> RedirectResponse:
    response = RedirectResponse(service.safe_return_path(return_to), status_code=303)
    response.set_cookie(
        session_cookie_name(settings),
        token,
        httponly=True,
        samesite="lax",
        path="/",
        secure=settings.secure_cookies,
        max_age=int(settings.session_absolute_hours * 3600),
    )
    response.delete_cookie(OAUTH_STATE_COOKIE, path="/auth/github")
    set_session_csrf_cookie(response, settings, token)
    return response


def _signed_out(settings: Settings, response: Response) -> Response:
    """The session's cookie and its CSRF token go together; the next page hands out a new one."""
    response.delete_cookie(session_cookie_name(settings), path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


def _current_session_token(request: Request, settings: Settings) -> str | None:
    return request.cookies.get(session_cookie_name(settings))


# --- GitHub sign-in --------------------------------------------------------------------------


@router.get("/sign-in", response_class=HTMLResponse, name="sign_in", dependencies=[allow(PUBLIC)])
def sign_in_page(request: Request, settings: AppSettings) -> Response:
    return render(
        request,
        "accounts/sign_in.html",
        {
            "next": service.safe_return_path(request.query_params.get("next", "/")),
            "github_configured": bool(settings.github_client_id),
        },
    )


@router.get("/auth/github/start", dependencies=[allow(PUBLIC)])
def github_start(request: Request, db: DbSession, settings: AppSettings) -> Response:
    state, verifier = service.begin_sign_in(db, request.query_params.get("next", "/"))
    db.commit()
    response = RedirectResponse(oauth.authorization_url(settings, state, verifier), status_code=303)
    # Binds the sign-in to this browser: the callback must carry the same state.
    response.set_cookie(
        OAUTH_STATE_COOKIE,
        state,
        httponly=True,
        samesite="lax",
        path="/auth/github",
        secure=settings.secure_cookies,
        max_age=int(settings.oauth_state_minutes * 60),
    )
    return response


@router.get("/auth/github/callback", dependencies=[allow(PUBLIC)])
def github_callback(
    request: Request, db: DbSession, settings: AppSettings, client: Client
) -> Response:
    state = request.query_params.get("state", "")
    code = request.query_params.get("code", "")
    cookie_state = request.cookies.get(OAUTH_STATE_COOKIE, "")
    if not state or not code or not secrets.compare_digest(state, cookie_state):
        return _sign_in_failed(request, db, client, "state mismatch")
    pending = service.consume_state(db, state, settings)
    if pending is None:
        return _sign_in_failed(request, db, client, "state unknown, used or expired")
    github: GitHubClient = request.app.state.github
    try:
        identity = oauth.identity_from_code(settings, github, code, pending.code_verifier)
    except oauth.SignInFailed as exc:
        return _sign_in_failed(request, db, client, f"github: {exc}")
    user = service.upsert_github_user(db, identity)
    token = service.start_session(
        db,
        user,
        settings,
        client,
        method="github",
        replacing=_current_session_token(request, settings),
    )
    db.commit()
    return _signed_in_response(settings, token, pending.return_to)


def _sign_in_failed(request: Request, db: DbSession, client: Client, reason: str) -> Response:
    db.rollback()
    service.record_failed_sign_in(db, reason, client)
    db.commit()
    error = ValidationFailed(_("We could not confirm your sign-in with GitHub. Please try again."))
    return render(
        request,
        "accounts/sign_in.html",
        {"next": "/", "github_configured": True, "error": error},
        status_code=400,
    )


# --- Signing out -----------------------------------------------------------------------------


@router.post("/sign-out", name="sign_out", dependencies=[allow(SIGNED_IN)])
def sign_out(
    request: Request, db: DbSession, settings: AppSettings, user: CurrentUser, client: Client
) -> Response:
    token = _current_session_token(request, settings)

    def end_this_session() -> None:
        if token:
            service.sign_out(db, token, user, client)

    return _signed_out(settings, form_action(db, end_this_session, then="/"))


@router.post("/account/sign-out-everywhere", dependencies=[allow(SIGNED_IN)])
def sign_out_everywhere(
    db: DbSession, settings: AppSettings, user: CurrentUser, client: Client
) -> Response:
    return _signed_out(
        settings,
        form_action(db, lambda: service.sign_out_everywhere(db, user, client), then="/"),
    )


# --- The person's own account ----------------------------------------------------------------


def _profile_values(user: User) -> dict[str, str]:
    return {
        "display_name": user.display_name,
        "bio": user.bio,
        "skills": user.skills,
        "links": user.links,
        "preferred_locale": user.preferred_locale,
        "attest_eligibility": "on" if user.eligibility_attested_at else "",
    }


@router.get(
    "/account", response_class=HTMLResponse, name="account", dependencies=[allow(SIGNED_IN)]
)
def account_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    return _render_profile(request, db, user, _profile_values(user))


def _render_profile(
    request: Request,
    db: DbSession,
    user: User,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "accounts/profile.html",
        {
            "user": user,
            "values": values,
            "errors": errors or {},
            "notice": _("Profile saved.")
            if request.query_params.get("notice") == "saved"
            else None,
            "teams": teams_service.teams_of(db, user),
        },
        status_code=422 if errors else 200,
    )


@router.post("/account", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def update_profile(
    request: Request, db: DbSession, user: CurrentUser, client: Client, form: FormBody
) -> Response:
    data = service.ProfileInput(
        display_name=form_text(form, "display_name"),
        bio=form_text(form, "bio"),
        skills=form_text(form, "skills"),
        links=form_text(form, "links"),
        preferred_locale=form_text(form, "preferred_locale") or "en",
        attest_eligibility=form_text(form, "attest_eligibility") == "on",
    )
    # The service refuses a profile only with ValidationFailed, which names the fields.
    return form_action(
        db,
        lambda: service.update_profile(db, user, data, client),
        then="/account?notice=saved",
        again=lambda refusal: _render_profile(
            request, db, user, form_values(form), refusal.field_errors
        ),
    )


@router.get("/account/terms", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def terms_page(request: Request, settings: AppSettings, user: CurrentUser) -> Response:
    return render(
        request,
        "accounts/terms.html",
        {
            "needs_terms": service.needs_terms(user, settings),
            "next": service.safe_return_path(request.query_params.get("next", "/account")),
        },
    )


@router.post("/account/terms", dependencies=[allow(SIGNED_IN)])
def accept_terms(
    db: DbSession, settings: AppSettings, user: CurrentUser, client: Client, form: FormBody
) -> Response:
    if form_text(form, "accept") != "on":
        raise ValidationFailed(_("Tick the box to accept the terms."))
    return form_action(
        db,
        lambda: service.accept_terms(db, user, settings, client),
        then=service.safe_return_path(form_text(form, "next") or "/account"),
    )


@router.get("/account/security", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def security_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    return render(
        request,
        "accounts/security.html",
        {
            "events": service.security_history(db, user),
            "sessions": repository.active_sessions(db, user.id),
        },
    )


@router.get("/account/tokens", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def tokens_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    return _render_tokens(request, db, user)


def _render_tokens(
    request: Request,
    db: DbSession,
    user: User,
    *,
    new_token: str | None = None,
    error: AppError | None = None,
) -> Response:
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": service.tokens_of(db, user),
            "new_token": new_token,
            "error": error,
        },
        status_code=error.status_code if error else 200,
    )


@router.post("/account/tokens", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def create_token(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    user: CurrentUser,
    client: Client,
    form: FormBody,
) -> Response:
    days = form_text(form, "days")
    return form_action(
        db,
        lambda: service.create_api_token(
            db,
            user,
            name=form_text(form, "name"),
            scope=form_text(form, "scope"),
            days=int(days) if days.isdigit() else 0,
            settings=settings,
            client=client,
        ),
        # Shown once, in this response only; never stored, logged or shown again.
        then=lambda created: _render_tokens(request, db, user, new_token=created[1]),
        again=lambda refusal: _render_tokens(request, db, user, error=refusal),
    )


@router.post("/account/tokens/{token_id}/revoke", dependencies=[allow(SIGNED_IN)])
def revoke_token(token_id: RowId, db: DbSession, user: CurrentUser, client: Client) -> Response:
    return form_action(
        db, lambda: service.revoke_api_token(db, user, token_id, client), then="/account/tokens"
    )


@router.get("/account/data.json", dependencies=[allow(SIGNED_IN)])
def download_data(db: DbSession, user: CurrentUser) -> Response:
    body = json.dumps(service.export_data(db, user), indent=2, ensure_ascii=False)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="dev-exchange-my-data.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/account/delete", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def delete_account_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    return render(
        request,
        "accounts/delete.html",
        {"blocking_teams": teams_service.teams_where_last_owner(db, user)},
    )


@router.post("/account/delete", dependencies=[allow(SIGNED_IN)])
def delete_account(
    db: DbSession, settings: AppSettings, user: CurrentUser, client: Client, form: FormBody
) -> Response:
    if form_text(form, "confirm") != user.login:
        raise ValidationFailed(_("Type your GitHub login to confirm."))
    teams_service.require_not_last_owner_anywhere(db, user)
    return _signed_out(
        settings,
        form_action(
            db, lambda: service.delete_account(db, user, client), then="/?notice=account-deleted"
        ),
    )


# --- Local-only demo sign-in -----------------------------------------------------------------


@demo_router.get(
    "/demo-sign-in", response_class=HTMLResponse, name="demo_sign_in", dependencies=[allow(PUBLIC)]
)
def demo_sign_in_form(request: Request, db: DbSession) -> Response:
    return render(
        request,
        "accounts/demo_sign_in.html",
        {
            "users": repository.users_with_roles(db),
            "next": service.safe_return_path(request.query_params.get("next", "/")),
        },
    )


@demo_router.post("/demo-sign-in", dependencies=[allow(PUBLIC)])
def demo_sign_in(
    request: Request, db: DbSession, settings: AppSettings, client: Client, form: FormBody
) -> Response:
    raw = form_text(form, "user_id")
    user = db.get(User, int(raw)) if raw.isdigit() else None
    if user is None or user.deleted_at is not None:
        raise ValidationFailed(_("Choose one of the demo users."))
    return form_action(
        db,
        lambda: service.start_session(
            db,
            user,
            settings,
            client,
            method="demo",
            replacing=_current_session_token(request, settings),
        ),
        then=lambda token: _signed_in_response(settings, token, form_text(form, "next") or "/"),
    )
