"""The contract's delivery page (team members and the awardee), the awardee's check-in, the
owner's choices, and the team's quiet-days setting."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from app.access import SIGNED_IN, allow, outside_team, team
from app.delivery import schemas, service
from app.deps import AppSettings, CurrentUser, DbSession, FormBody, RowId, form_values
from app.errors import AppError
from app.forms import form_action, read_form
from app.i18n import gettext as _
from app.models import TeamRole
from app.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)
OWNERS = team(TeamRole.OWNER, via="opportunity_id")
NOTICES: dict[str, Callable[[], str]] = {
    "checked-in": lambda: _("Your check-in is on the record."),
    "extended": lambda: _("The delivery date was changed."),
    "awarded-next": lambda: _(
        "The next-ranked proposal was awarded. The payment stays held for the new awardee."
    ),
    "closed": lambda: _("The contract was closed; the payment held is refunded in full."),
}


def _page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    opportunity_id: int,
    values: dict[str, str] | None = None,
    error: AppError | None = None,
) -> Response:
    contract = service.contract_of(db, opportunity_id, user)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return render(
        request,
        "delivery/contract.html",
        {
            "c": contract,
            "o": contract.opportunity,
            "values": values or {},
            "errors": error.field_errors if error else {},
            "error": error,
            "notice": notice() if notice else None,
        },
        status_code=error.status_code if error else 200,
    )


@router.get(
    "/opportunities/{opportunity_id}/delivery",
    response_class=HTMLResponse,
    dependencies=[allow(SIGNED_IN)],
)
def contract_page(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser
) -> Response:
    return _page(request, db, user, opportunity_id)


def _then(opportunity_id: int, notice: str) -> str:
    return f"/opportunities/{opportunity_id}/delivery?notice={notice}"


def _contract_action(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    opportunity_id: int,
    form: FormData,
    step: Callable[[], object],
    then: str,
) -> Response:
    """A form on the contract page: on refusal, the page again with what was typed."""
    return form_action(
        db,
        step,
        then=then,
        again=lambda refusal: _page(request, db, user, opportunity_id, form_values(form), refusal),
    )


@router.post(
    "/opportunities/{opportunity_id}/delivery/check-ins",
    response_class=HTMLResponse,
    dependencies=[allow(outside_team(via="opportunity_id"))],
)
def post_check_in(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    def step() -> object:
        data = read_form(schemas.CheckInIn, form)
        return service.check_in(db, opportunity_id, user, data.body, data.link)

    return _contract_action(
        request, db, user, opportunity_id, form, step, _then(opportunity_id, "checked-in")
    )


@router.post(
    "/opportunities/{opportunity_id}/delivery/extend",
    response_class=HTMLResponse,
    dependencies=[allow(OWNERS)],
)
def extend(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    def step() -> object:
        data = read_form(schemas.ExtendIn, form)
        return service.extend(db, opportunity_id, user, data.delivery_date, data.reason)

    return _contract_action(
        request, db, user, opportunity_id, form, step, _then(opportunity_id, "extended")
    )


@router.post(
    "/opportunities/{opportunity_id}/delivery/award-next",
    response_class=HTMLResponse,
    dependencies=[allow(OWNERS)],
)
def award_next(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
    form: FormBody,
) -> Response:
    def step() -> object:
        data = read_form(schemas.ReasonIn, form)
        return service.award_next(db, opportunity_id, user, data.reason, settings)

    return _contract_action(
        request, db, user, opportunity_id, form, step, _then(opportunity_id, "awarded-next")
    )


@router.post(
    "/opportunities/{opportunity_id}/delivery/close",
    response_class=HTMLResponse,
    dependencies=[allow(OWNERS)],
)
def close(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    def step() -> None:
        service.close(db, opportunity_id, user, read_form(schemas.ReasonIn, form).reason)

    return _contract_action(
        request,
        db,
        user,
        opportunity_id,
        form,
        step,
        f"/opportunities/{opportunity_id}?notice=cancelled",
    )


# --- the team's setting ------------------------------------------------------------------

TEAM_OWNERS = team(TeamRole.OWNER, via="slug")


def _settings_page(
    request: Request,
    db: DbSession,
    slug: str,
    values: dict[str, str] | None = None,
    error: AppError | None = None,
) -> Response:
    found = service.team_for_settings(db, slug)
    return render(
        request,
        "delivery/settings.html",
        {
            "team": found,
            "values": values or {"quiet_days_warning": str(found.quiet_days_warning)},
            "errors": error.field_errors if error else {},
            "error": error,
            "notice": _("Settings saved.")
            if request.query_params.get("notice") == "saved"
            else None,
        },
        status_code=error.status_code if error else 200,
    )


@router.get(
    "/teams/{slug}/settings/delivery",
    response_class=HTMLResponse,
    dependencies=[allow(TEAM_OWNERS)],
)
def settings_page(slug: str, request: Request, db: DbSession) -> Response:
    return _settings_page(request, db, slug)


@router.post(
    "/teams/{slug}/settings/delivery",
    response_class=HTMLResponse,
    dependencies=[allow(TEAM_OWNERS)],
)
def save_settings(
    slug: str, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    def step() -> object:
        data = read_form(schemas.QuietDaysIn, form)
        return service.set_quiet_days(db, slug, user, data.quiet_days_warning)

    return form_action(
        db,
        step,
        then=f"/teams/{slug}/settings/delivery?notice=saved",
        again=lambda refusal: _settings_page(request, db, slug, form_values(form), refusal),
    )
