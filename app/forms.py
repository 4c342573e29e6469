"""The one shape of every posted HTML form: post, then redirect, then get.

A page that takes a form runs one step of a service in the request's transaction. When the step is
refused (an `AppError`), nothing it wrote may stay: the transaction is rolled back, and the person
sees the form again with the reason (`again`), or the error page when there is no form to show.
When the step succeeds it is committed and the browser is sent on with 303 See Other, so reloading
the next page never posts the form a second time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, NamedTuple, TypeVar

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.config import Settings
from app.deps import AppSettings, CurrentUser, DbSession, FormBody, form_values
from app.errors import AppError, ValidationFailed
from app.i18n import gettext as _
from app.models import User

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Posted(NamedTuple):
    """What a page that takes a form works with: one parameter instead of the same five, which
    the handler unpacks (`request, db, user, settings, form = posted`)."""

    request: Request
    db: Session
    user: User
    settings: Settings
    form: FormData


def _posted(
    request: Request, db: DbSession, user: CurrentUser, settings: AppSettings, form: FormBody
) -> Posted:
    return Posted(request, db, user, settings, form)


PostedForm = Annotated[Posted, Depends(_posted)]


def form_action(
    db: Session,
    step: Callable[[], T],
    *,
    then: str | Callable[[T], str | Response],
    again: Callable[[AppError], Response] | None = None,
) -> Response:
    """Run `step`; on refusal roll back; else commit and redirect to `then` (or to
    `then(result)`). A `then` that returns a page instead of an address is for what can be
    shown only once, in this answer (a new token or invitation link), or for an answer that
    carries the step's cookies."""
    try:
        result = step()
    except AppError as refusal:
        db.rollback()
        if again is None:
            raise
        return again(refusal)
    db.commit()
    after = then(result) if callable(then) else then
    return after if isinstance(after, Response) else RedirectResponse(after, status_code=303)


def read_form(model: type[M], form: FormData, **context: object) -> M:
    """The posted form read into the input model its API twin shares, whose validators turn the
    form's text into values (`context` gives them what they need, e.g. the time zone).

    Such a model leaves the rules to the service, which words them for the person; what it still
    refuses is text over a column's length, reported here as a field error in their language
    rather than as the bare 422 page a form must never end on.
    """
    try:
        return model.model_validate(form_values(form), context=context)
    except ValidationError as refused:
        problems = refused.errors()
        if any(problem["type"] != "string_too_long" for problem in problems):
            raise  # the model reads any text a form can post: anything else is a bug of ours
        raise ValidationFailed(
            field_errors={
                str(problem["loc"][0]): _(
                    "Use at most %(max)s characters.", max=problem["ctx"]["max_length"]
                )
                for problem in problems
            }
        ) from refused


def on_field_errors(show: Callable[[dict[str, str]], Response]) -> Callable[[AppError], Response]:
    """`again` for a form that marks its fields: a refusal of what was typed shows the form with
    the reasons, any other refusal (not allowed, no longer possible) is the error page's."""

    def again(refusal: AppError) -> Response:
        if not isinstance(refusal, ValidationFailed):
            raise refusal
        return show(refusal.field_errors)

    return again
