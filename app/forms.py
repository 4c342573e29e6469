"""The one shape of every posted HTML form: post, then redirect, then get.

A page that takes a form runs one step of a service in the request's transaction. When the step is
refused (an `AppError`), nothing it wrote may stay: the transaction is rolled back, and the person
sees the form again with the reason (`again`), or the error page when there is no form to show.
When the step succeeds it is committed and the browser is sent on with 303 See Other, so reloading
the next page never posts the form a second time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.errors import AppError

T = TypeVar("T")


def form_action(
    db: Session,
    step: Callable[[], T],
    *,
    then: str | Callable[[T], str],
    again: Callable[[AppError], Response] | None = None,
) -> Response:
    """Run `step`; commit and redirect to `then` (or to `then(result)`), or roll back on refusal."""
    try:
        result = step()
    except AppError as refusal:
        db.rollback()
        if again is None:
            raise
        return again(refusal)
    db.commit()
    return RedirectResponse(then(result) if callable(then) else then, status_code=303)
