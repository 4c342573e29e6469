"""Typed errors. They render as an HTML page for browsers and RFC 9457 problem JSON for the API."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.i18n import gettext as _

log = logging.getLogger("devex.errors")
PROBLEM_JSON = "application/problem+json"
# The database cannot answer now, for a reason that passes: its server out of reach or
# restarting, no connection free within the pool's wait (psycopg's PoolTimeout is one of its
# OperationalErrors, SQLAlchemy's pool raises TimeoutError), SQLite locked by another writer.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.TimeoutError,
)
# What a page or API call answered 503 for that reason tells its reader to wait: a restart or
# failover takes seconds.
DATABASE_RETRY_AFTER_SECONDS = 10
# Draws the HTML error page from its context (title, detail, sign_in_url) and status. The app
# passes it in (create_app): errors sit below the templates, which import the domains' errors.
ErrorPageRenderer = Callable[[Request, dict[str, Any], int], Response]


class AppError(Exception):
    status_code = 400
    slug = "bad-request"

    def __init__(self, detail: str = "", *, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field_errors = field_errors or {}

    def title(self) -> str:
        return _("The request could not be completed")

    def headers(self) -> dict[str, str]:
        return {}


class NotFound(AppError):
    status_code = 404
    slug = "not-found"

    def title(self) -> str:
        return _("Page not found")


class NotSignedIn(AppError):
    status_code = 401
    slug = "not-signed-in"

    def title(self) -> str:
        return _("Please sign in")


class Forbidden(AppError):
    status_code = 403
    slug = "forbidden"

    def title(self) -> str:
        return _("You do not have permission to do this")


class Conflict(AppError):
    status_code = 409
    slug = "conflict"

    def title(self) -> str:
        return _("This change conflicts with the current state")


class InvalidTransition(Conflict):
    slug = "invalid-transition"

    def title(self) -> str:
        return _("This action is not possible in the current state")


class TooManyRequests(AppError):
    status_code = 429
    slug = "too-many-requests"

    def title(self) -> str:
        return _("Too many requests")

    def __init__(self) -> None:
        super().__init__(_("Please wait a moment before trying again."))


class ServiceUnavailable(AppError):
    """Nothing was done, for a reason that passes (the database out of reach, or too busy to
    answer in time): the caller may send the same request again after the given delay."""

    status_code = 503
    slug = "unavailable"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds

    def title(self) -> str:
        return _("The service is briefly unavailable")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class ValidationFailed(AppError):
    status_code = 422
    slug = "validation-failed"

    def title(self) -> str:
        return _("Some information needs correcting")


# Addresses read by programs, not people: an error there is problem JSON, not a page.
_MACHINE_PREFIXES = ("/api/", "/webhooks/")
_MACHINE_SUFFIXES = (".json", ".csv", ".atom")


def wants_problem_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(_MACHINE_PREFIXES) or path.endswith(_MACHINE_SUFFIXES)


def problem_response(
    request: Request, status: int, slug: str, title: str, detail: str, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"{request.base_url}problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _html_error(request: Request, status: int, title: str, detail: str) -> Response:
    context = {"title": title, "detail": detail}
    if status == 401:
        context["sign_in_url"] = _sign_in_url(request)
    render_page: ErrorPageRenderer = request.app.state.render_error_page
    return render_page(request, context, status)


def _sign_in_url(request: Request) -> str:
    """Sign in, then come back to this page. A refused form post cannot be replayed by a
    redirect, so its reader starts again from the home page."""
    if request.method not in ("GET", "HEAD"):
        return "/sign-in"
    here = f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path
    return f"/sign-in?{urlencode({'next': here})}"


async def render_app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    if wants_problem_json(request):
        extra = {"errors": exc.field_errors} if exc.field_errors else {}
        response: Response = problem_response(
            request, exc.status_code, exc.slug, exc.title(), exc.detail, **extra
        )
    else:
        response = _html_error(request, exc.status_code, exc.title(), exc.detail)
    response.headers.update(exc.headers())
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    titles = {
        404: _("Page not found"),
        405: _("This action is not available here"),
        401: _("Please sign in"),
        403: _("You do not have permission to do this"),
        429: _("Too many requests"),
    }
    title = titles.get(exc.status_code, _("The request could not be completed"))
    detail = exc.detail if exc.status_code not in titles and isinstance(exc.detail, str) else ""
    if exc.status_code == 404:
        detail = _("The page you asked for does not exist or is not public.")
    if wants_problem_json(request):
        response: Response = problem_response(request, exc.status_code, "http", title, detail)
    else:
        response = _html_error(request, exc.status_code, title, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _request_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if any(error["loc"][0] == "path" for error in exc.errors()):
        # A malformed id in the address (/opportunities/abc) names nothing: the same 404 as an
        # unknown id, in the reader's language, not a message about the address's syntax.
        return await render_app_error(request, NotFound())
    errors = {
        ".".join(str(part) for part in error["loc"][1:]) or "request": str(error["msg"])
        for error in exc.errors()
    }
    title = _("Some information needs correcting")
    if wants_problem_json(request):
        return problem_response(request, 422, "validation-failed", title, "", errors=errors)
    return _html_error(request, 422, title, "; ".join(f"{k}: {v}" for k, v in errors.items()))


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    """A clear 503 (page or problem, with Retry-After) rather than a 500: nothing was done, and
    the same request will work once the database is back, which needs no restart."""
    log.warning("database unavailable: %s", type(exc).__name__)
    error = ServiceUnavailable(
        _("The database is not answering right now. Please try again in a few seconds."),
        retry_after_seconds=DATABASE_RETRY_AFTER_SECONDS,
    )
    return await render_app_error(request, error)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, DATABASE_UNAVAILABLE):  # raised in a middleware, outside the routes
        return await _database_unavailable(request, exc)
    log.exception("unhandled error", exc_info=exc)
    title = _("Something went wrong on our side")
    detail = _("The error has been logged. Please try again in a few minutes.")
    if wants_problem_json(request):
        return problem_response(request, 500, "internal-error", title, detail)
    return _html_error(request, 500, title, detail)


def install_error_handlers(app: FastAPI, render_page: ErrorPageRenderer) -> None:
    app.state.render_error_page = render_page
    app.add_exception_handler(AppError, render_app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    for database_error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(database_error, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)
