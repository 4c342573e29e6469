"""HTML pages for money: payout accounts, funding, the money trail, the payment record and
(local mode only) the simulated checkout. Coming back from the checkout or the payout-account
set-up lets the work follow its payout: those routes are in app/payonpull/pages.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.access import SIGNED_IN, allow, outside_team, team
from app.deps import AppSettings, CurrentUser, DbSession, FormBody, RowId, form_values
from app.errors import AppError, NotFound
from app.forms import form_action, on_field_errors, read_form
from app.models import Opportunity, OpportunityState, Payout, PayoutState, Team, TeamRole, User
from app.models.base import utcnow
from app.payments import labels, repository, service
from app.payments.gateway import gateway_for
from app.payments.schemas import CoAuthorsForm
from app.teams import repository as teams_repository
from app.teams import service as teams_service
from app.templating import render
from app.text import format_share

router = APIRouter(tags=["pages"], include_in_schema=False)
FINANCE = team(TeamRole.FINANCE, via="opportunity_id")
APPROVERS = team(TeamRole.APPROVER, via="opportunity_id")
# The funding page: finance pays there, approvers sign off the amount there first.
FUNDING_PAGE = team(TeamRole.FINANCE, TeamRole.APPROVER, via="opportunity_id")
FINANCE_OR_ADMIN = team(TeamRole.FINANCE, via="opportunity_id", admins_too=True)


# --- the developer's payout account ------------------------------------------------------


@router.get("/account/payouts", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def payout_account(
    request: Request, db: DbSession, user: CurrentUser, settings: AppSettings
) -> Response:
    return render(
        request,
        "payments/account.html",
        {
            "account": repository.account_of(db, user.id),
            "simulated": settings.payments_simulated,
            "notice": request.query_params.get("notice", ""),
        },
    )


@router.post("/account/payouts/connect", dependencies=[allow(SIGNED_IN)])
def connect_payout_account(db: DbSession, user: CurrentUser, settings: AppSettings) -> Response:
    base = settings.base_url
    return form_action(
        db,
        lambda: service.connect_account(
            db,
            gateway_for(settings),
            user,
            return_url=f"{base}/account/payouts/return",
            refresh_url=f"{base}/account/payouts",
        ),
        then=lambda onboarding_url: onboarding_url,
    )


# --- co-authors sharing the payment -------------------------------------------------------


@router.get(
    "/opportunities/{opportunity_id}/co-authors",
    response_class=HTMLResponse,
    dependencies=[allow(outside_team(via="opportunity_id"))],
)
def co_authors_page(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser
) -> Response:
    opportunity = service.opportunity_of(db, opportunity_id)
    shares = service.co_authors_of_awardee(db, opportunity, user)
    text = "\n".join(f"{u.login} {format_share(points)}" for u, points in shares)
    return _co_authors(request, opportunity, shares, {"co_authors": text}, {})


@router.post(
    "/opportunities/{opportunity_id}/co-authors",
    response_class=HTMLResponse,
    dependencies=[allow(outside_team(via="opportunity_id"))],
)
def name_co_authors(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    opportunity = service.opportunity_of(db, opportunity_id)
    entered = read_form(CoAuthorsForm, form)
    return form_action(
        db,
        lambda: service.name_co_authors(db, opportunity, user, entered.co_authors),
        then=f"/opportunities/{opportunity_id}/co-authors?saved=1",
        again=on_field_errors(
            lambda errors: _co_authors(
                request,
                opportunity,
                service.co_authors_of_awardee(db, opportunity, user),
                form_values(form),
                errors,
            )
        ),
    )


def _co_authors(
    request: Request,
    opportunity: Opportunity,
    shares: list[tuple[User, int]],
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    return render(
        request,
        "payments/co_authors.html",
        {
            "o": opportunity,
            "shares": [(u, format_share(points)) for u, points in shares],
            "kept": format_share(service.WHOLE - sum(points for _u, points in shares)),
            "values": values,
            "errors": errors,
            "saved": request.query_params.get("saved") == "1" and not errors,
        },
        status_code=422 if errors else 200,
    )


# --- funding -----------------------------------------------------------------------------


def _funding_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    opportunity: Opportunity,
    user: User,
    error: AppError | None = None,
) -> Response:
    found = repository.awardee_of(db, opportunity.id)
    payout = repository.payout_for(db, opportunity.id)
    account = repository.account_of(db, found[1].id) if found else None
    roles = teams_repository.roles_of(db, user.id, opportunity.team_id)
    team = db.get(Team, opportunity.team_id)
    awaiting = opportunity.state == OpportunityState.AWARDED and (
        payout is None or payout.state == PayoutState.AWAITING_FUNDING
    )
    return render(
        request,
        "payments/funding.html",
        {
            "o": opportunity,
            "payout": payout,
            "payout_label": labels.state_label(payout.state) if payout else "",
            "award": found[0] if found else None,
            "amount_cents": repository.contract_price_cents(db, found[0].id) if found else None,
            "developer": found[1] if found else None,
            "payouts_enabled": bool(account and account.payouts_enabled),
            "can_fund": awaiting and TeamRole.FINANCE in roles,
            "signoff": service.funding_signoff(db, opportunity),
            "can_sign_off": awaiting and TeamRole.APPROVER in roles,
            "is_creator": user.id == opportunity.created_by_user_id,
            "signoff_limit": teams_repository.approver_limit(db, user.id, opportunity.team_id),
            "monthly_limit": team.monthly_spending_limit_cents if team else None,
            "month_signed_off": teams_service.funding_this_month(db, opportunity.team_id, utcnow()),
            "simulated": settings.payments_simulated,
            "error": error,
        },
        status_code=error.status_code if error else 200,
    )


@router.get(
    "/opportunities/{opportunity_id}/funding",
    response_class=HTMLResponse,
    dependencies=[allow(FUNDING_PAGE)],
)
def funding(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
) -> Response:
    return _funding_page(request, db, settings, service.opportunity_of(db, opportunity_id), user)


@router.post("/opportunities/{opportunity_id}/funding/sign-off", dependencies=[allow(APPROVERS)])
def sign_off_funding(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
) -> Response:
    opportunity = service.opportunity_of(db, opportunity_id)
    return form_action(
        db,
        lambda: service.sign_off_funding(db, opportunity, user),
        then=f"/opportunities/{opportunity_id}/funding",
        again=lambda refusal: _funding_page(request, db, settings, opportunity, user, refusal),
    )


@router.post("/opportunities/{opportunity_id}/funding", dependencies=[allow(FINANCE)])
def fund(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
) -> Response:
    opportunity = service.opportunity_of(db, opportunity_id)
    return form_action(
        db,
        lambda: service.start_funding(db, gateway_for(settings), opportunity, user, settings),
        then=lambda checkout: checkout.url,
        again=lambda refusal: _funding_page(request, db, settings, opportunity, user, refusal),
    )


def _simulated_only(settings: AppSettings) -> None:
    if not settings.payments_simulated:
        raise NotFound()


@router.get(
    "/opportunities/{opportunity_id}/funding/simulated-checkout",
    response_class=HTMLResponse,
    dependencies=[allow(FINANCE)],
)
def simulated_checkout(
    opportunity_id: RowId, request: Request, db: DbSession, settings: AppSettings
) -> Response:
    _simulated_only(settings)
    opportunity = service.opportunity_of(db, opportunity_id)
    payout = repository.payout_for(db, opportunity.id)
    if payout is None:
        raise NotFound()
    return render(request, "payments/simulated_checkout.html", {"o": opportunity, "payout": payout})


# --- the money trail and the payment record ----------------------------------------------


def _trail(db: DbSession, opportunity_id: int) -> dict[str, Any]:
    opportunity = service.opportunity_of(db, opportunity_id)
    payout = repository.payout_for(db, opportunity.id)
    if payout is None:
        return {"o": opportunity, "payout": None, "entries": [], "events": [], "balance": 0}
    found = repository.awardee_of(db, opportunity.id)
    return {
        "o": opportunity,
        "team": db.get(Team, opportunity.team_id),
        "payout": payout,
        "payout_label": labels.state_label(payout.state),
        "developer": found[1] if found else None,
        "entries": repository.ledger_of(db, payout.id),
        "balance": repository.ledger_balance(db, payout.id),
        "events": repository.payout_events(db, payout),
    }


@router.get(
    "/opportunities/{opportunity_id}/money",
    response_class=HTMLResponse,
    dependencies=[allow(FINANCE_OR_ADMIN)],
)
def money_trail(opportunity_id: RowId, request: Request, db: DbSession) -> Response:
    return render(request, "payments/money.html", _trail(db, opportunity_id))


@router.get(
    "/opportunities/{opportunity_id}/payment-record",
    response_class=HTMLResponse,
    dependencies=[allow(SIGNED_IN)],
)
def payment_record(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser
) -> Response:
    """For the team's finance people, administrators and the developer who was paid; anyone
    else is told there is nothing here (not even that the record exists)."""
    trail = _trail(db, opportunity_id)
    payout: Payout | None = trail["payout"]
    if payout is None or payout.state != PayoutState.PAID:
        raise NotFound()
    if not _may_read_record(db, user, trail["o"], payout):
        raise NotFound()
    return render(request, "payments/record.html", trail)


def _may_read_record(db: DbSession, user: User, opportunity: Opportunity, payout: Payout) -> bool:
    finance = TeamRole.FINANCE in teams_repository.roles_of(db, user.id, opportunity.team_id)
    paid_to = {share.user_id for share in repository.transfers_of(db, payout.id)}
    return user.is_admin or finance or payout.developer_user_id == user.id or user.id in paid_to
