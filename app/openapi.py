"""The OpenAPI description, made to say what the API really answers.

FastAPI describes each route's success and a 422 in its own shape. Our errors are RFC 9457
problem documents (app/errors.py), and most routes can refuse for reasons FastAPI cannot see:
who may call them (app/access.py), the ids in their path, the rate limit on writes, the state
of what they act on. Those reasons are facts each route already declares, so the error
responses are derived from them here, in one place, rather than repeated on every route; a
route adds its own irregular ones with ``responses=problems(...)``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.access import Access, Who, declared_routes
from app.config import Settings
from app.deps import session_cookie_name
from app.errors import PROBLEM_JSON
from app.i18n import N_

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Path parameters that name an existing row: acting on it may conflict with its state.
ROW_PARAMETERS = frozenset({"opportunity_id", "proposal_id", "question_id", "review_id"})

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details, in the reader's language.",
    "type": "object",
    "properties": {
        "type": {"type": "string", "description": "Names the kind of problem."},
        "title": {"type": "string", "description": "What went wrong, in a few words."},
        "status": {"type": "integer", "description": "The HTTP status code."},
        "detail": {"type": "string", "description": "What to do about it (may be empty)."},
        "instance": {"type": "string", "description": "The path that was asked for."},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "For 422: each field that needs correcting, with its message.",
        },
    },
    "required": ["type", "title", "status", "detail", "instance"],
}

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before sending the request again.",
        "schema": {"type": "integer"},
    }
}

# Each error status: its name and what it means. The OpenAPI document is English; the
# reference page shows them in the reader's language.
ERRORS: dict[int, tuple[str, str]] = {
    400: (
        N_("Unreadable body"),
        N_("The body could not be read as JSON text (for example, it is not UTF-8)."),
    ),
    401: (
        N_("Not signed in"),
        N_(
            "No credentials, or an API token that is unknown, expired or revoked (for a "
            "webhook: a missing or wrong signature)."
        ),
    ),
    403: (
        N_("Not allowed"),
        N_(
            "You do not hold the role this needs, a read-only token was used to write, or a "
            "write signed in by cookie came without its X-CSRFToken header."
        ),
    ),
    404: (N_("Not found"), N_("It does not exist, or it is not visible to you.")),
    409: (
        N_("Not possible in the current state"),
        N_("For example after the deadline, or when it was done already."),
    ),
    422: (
        N_("Input to correct"),
        N_("The problem's errors member names each field to correct, with its message."),
    ),
    429: (
        N_("Too many requests"),
        N_("Too many writes: send again after the seconds the Retry-After header gives."),
    ),
    503: (
        N_("Briefly unavailable"),
        N_(
            "Nothing was stored: send the same request again after the seconds the "
            "Retry-After header gives."
        ),
    ),
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error responses for a route's ``responses=``, in the shape the error handlers send."""
    return {status: _problem_response(status) for status in statuses}


def _problem_response(status: int) -> dict[str, Any]:
    name, meaning = ERRORS[status]
    response: dict[str, Any] = {
        "description": f"{name}. {meaning}",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


def security_schemes(settings: Settings) -> dict[str, Any]:
    return {
        "bearerToken": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "dvx_…",
            "description": "A personal API token (`dvx_…`), read or write, made on your "
            "account page. Writes need a write token; no CSRF token is needed.",
        },
        "sessionCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": session_cookie_name(settings),
            "description": "The browser's session after signing in with GitHub.",
        },
        "csrfToken": {
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRFToken",
            "description": "With the session cookie, every write sends the value of the "
            "`csrftoken` cookie in this header.",
        },
    }


def _security(access: Access, method: str) -> list[dict[str, list[str]]]:
    if access.who is Who.SIGNED_WEBHOOK:
        return []  # the request body's signature, checked by the route itself
    cookie: dict[str, list[str]] = {"sessionCookie": []}
    if method not in SAFE_METHODS:
        cookie["csrfToken"] = []
    signed_in: list[dict[str, list[str]]] = [{"bearerToken": []}, cookie]
    return [{}, *signed_in] if access.who is Who.PUBLIC else signed_in


def _structural_statuses(access: Access, method: str, operation: dict[str, Any]) -> set[int]:
    """The refusals that follow from what the route declares, whatever its code does."""
    params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
    writes = method not in SAFE_METHODS
    if access.who is Who.SIGNED_WEBHOOK:
        return {401}
    statuses = {401}  # a Bearer token that is unknown, expired or revoked, even where public
    if writes or access.who in (Who.TEAM, Who.OUTSIDE_TEAM, Who.ADMIN):
        statuses.add(403)
    if params:
        statuses.add(404)
    if "requestBody" in operation:
        statuses.add(400)
    if writes:
        statuses.add(429)
    if writes and params & ROW_PARAMETERS:
        statuses.add(409)
    return statuses


def _document_errors(operation: dict[str, Any], statuses: set[int]) -> None:
    responses: dict[str, Any] = operation["responses"]
    for status in statuses:
        responses.setdefault(str(status), _problem_response(status))
    if "422" in responses:  # FastAPI's own shape: not what the error handler sends
        responses["422"] = _problem_response(422)
    operation["responses"] = dict(sorted(responses.items()))


def describe(app: FastAPI, settings: Settings) -> dict[str, Any]:
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = security_schemes(settings)
    access_of = {(d.method.lower(), d.path): d.access for d in declared_routes(app)}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            access = access_of.get((method, path))
            if access is None:  # tests/test_permissions.py fails on such a route
                continue
            operation["security"] = _security(access, method.upper())
            _document_errors(operation, _structural_statuses(access, method.upper(), operation))
    return document


def install(app: FastAPI, settings: Settings) -> None:
    """Serve ``describe`` as the app's OpenAPI document (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(app, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
