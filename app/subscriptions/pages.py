"""Subscribing to new opportunities by email: the form, the confirmation and the unsubscribe
pages. No account is needed; the links in the emails are the subscriber's keys."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.access import PUBLIC, allow
from app.deps import AppSettings, DbSession, FormBody, form_values
from app.forms import form_action, on_field_errors, read_form
from app.i18n import get_locale
from app.models import Frequency, Subscription
from app.opportunities import repository as opportunities_repository
from app.subscriptions import repository, service
from app.subscriptions.labels import frequency_labels
from app.subscriptions.schemas import SubscriptionIn
from app.teams import repository as teams_repository
from app.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)
# The listing's filters a subscription can carry over from a search (its "by email" link).
PREFILLED = {"skill": "skills", "team": "team", "amount_min": "amount_min"}


@router.get("/subscribe", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
def subscribe_form(request: Request, db: DbSession) -> Response:
    values = {field: request.query_params.get(param, "") for param, field in PREFILLED.items()}
    values["frequency"] = Frequency.DAILY.value
    return _form(request, db, values, {})


@router.post("/subscribe", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
def subscribe(request: Request, db: DbSession, settings: AppSettings, form: FormBody) -> Response:
    return form_action(
        db,
        lambda: service.subscribe(db, settings, read_form(SubscriptionIn, form), get_locale()),
        then="/subscribe/sent",
        again=on_field_errors(lambda errors: _form(request, db, form_values(form), errors)),
    )


def _form(
    request: Request, db: Session, values: dict[str, str], errors: dict[str, str]
) -> Response:
    return render(
        request,
        "subscriptions/new.html",
        {
            "values": values,
            "errors": errors,
            "teams": teams_repository.list_teams(db),
            "skills": opportunities_repository.public_skills(db),
            "frequencies": frequency_labels(),
        },
        status_code=422 if errors else 200,
    )


@router.get("/subscribe/sent", response_class=HTMLResponse, dependencies=[allow(PUBLIC)])
def subscribe_sent(request: Request) -> Response:
    return render(request, "subscriptions/sent.html", {"days": service.CONFIRM_LINK_DAYS})


@router.get(
    "/subscriptions/confirm/{token}", response_class=HTMLResponse, dependencies=[allow(PUBLIC)]
)
def confirm_page(token: str, request: Request, db: DbSession, settings: AppSettings) -> Response:
    """A page with a button, not a confirmation on GET: mail scanners open links by
    themselves, and only a person should subscribe an address."""
    subscription = service.from_confirm_token(db, settings, token)
    return _confirm(request, db, subscription, token, done=False)


@router.post(
    "/subscriptions/confirm/{token}", response_class=HTMLResponse, dependencies=[allow(PUBLIC)]
)
def confirm(token: str, request: Request, db: DbSession, settings: AppSettings) -> Response:
    subscription = service.from_confirm_token(db, settings, token)
    return form_action(
        db,
        lambda: service.confirm(db, subscription),
        then=lambda _done: _confirm(request, db, subscription, token, done=True),
    )


def _confirm(
    request: Request, db: Session, subscription: Subscription, token: str, *, done: bool
) -> Response:
    return render(
        request,
        "subscriptions/confirm.html",
        {
            "subscription": subscription,
            "team": repository.team_of(db, subscription),
            "frequency": frequency_labels()[subscription.frequency],
            "token": token,
            "done": done,
        },
    )


@router.get(
    "/subscriptions/unsubscribe/{token}",
    response_class=HTMLResponse,
    dependencies=[allow(PUBLIC)],
)
def unsubscribe_page(
    token: str, request: Request, db: DbSession, settings: AppSettings
) -> Response:
    service.from_unsubscribe_token(db, settings, token)
    return render(request, "subscriptions/unsubscribe.html", {"token": token, "done": False})


@router.post(
    "/subscriptions/unsubscribe/{token}",
    response_class=HTMLResponse,
    dependencies=[allow(PUBLIC)],
)
def unsubscribe(token: str, request: Request, db: DbSession, settings: AppSettings) -> Response:
    """Also the RFC 8058 one-click target: a mail client posts here without any cookie."""
    subscription = service.from_unsubscribe_token(db, settings, token)
    return form_action(
        db,
        lambda: service.unsubscribe(db, subscription),
        then=lambda _done: render(
            request, "subscriptions/unsubscribe.html", {"token": token, "done": True}
        ),
    )
