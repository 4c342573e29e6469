"""HTML pages for money: payout accounts, funding, the money trail, the payment record, the
needs-attention queue, and (local mode only) the simulated checkout and merge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app import flows
from app.access import ADMIN, SIGNED_IN, allow, team
from app.deps import AppSettings, CurrentUser, DbSession, FormBody, RowId, form_text
from app.errors import AppError, NotFound
from app.models import Opportunity, Payout, PayoutState, Team, TeamRole, User
from app.opportunities import service as opportunities
from app.payments import repository, service
from app.payments.gateway import gateway_for
from app.teams import repository as teams_repository
from app.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)
FINANCE = team(TeamRole.FINANCE, via="opportunity_id")
FINANCE_OR_ADMIN = team(TeamRole.FINANCE, via="opportunity_id", admins_too=True)
MERGERS = team(TeamRole.OWNER, TeamRole.EDITOR, via="opportunity_id")


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
    url = service.connect_account(
        db,
        gateway_for(settings),
        user,
        return_url=f"{base}/account/payouts/return",
        refresh_url=f"{base}/account/payouts",
    )
    db.commit()
    return RedirectResponse(url, status_code=303)


@router.get("/account/payouts/return", dependencies=[allow(SIGNED_IN)])
def payout_account_return(db: DbSession, user: CurrentUser, settings: AppSettings) -> Response:
    account = repository.account_of(db, user.id)
    if account is not None:
        service.refresh_account(db, gateway_for(settings), account)
        db.commit()
    return RedirectResponse("/account/payouts?notice=updated", status_code=303)


# --- funding -----------------------------------------------------------------------------


def _funding_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    opportunity: Opportunity,
    error: AppError | None = None,
) -> Response:
    found = repository.awardee_of(db, opportunity.id)
    payout = repository.payout_for(db, opportunity.id)
    account = repository.account_of(db, found[1].id) if found else None
    return render(
        request,
        "payments/funding.html",
        {
            "o": opportunity,
            "payout": payout,
            "payout_label": service.state_label(payout.state) if payout else "",
            "award": found[0] if found else None,
            "amount_cents": repository.contract_price_cents(db, found[0].id) if found else None,
            "developer": found[1] if found else None,
            "payouts_enabled": bool(account and account.payouts_enabled),
            "can_fund": opportunity.state == "awarded"
            and (payout is None or payout.state == PayoutState.AWAITING_FUNDING.value),
            "simulated": settings.payments_simulated,
            "error": error,
        },
        status_code=error.status_code if error else 200,
    )


@router.get(
    "/opportunities/{opportunity_id}/funding",
    response_class=HTMLResponse,
    dependencies=[allow(FINANCE)],
)
def funding(
    opportunity_id: RowId, request: Request, db: DbSession, settings: AppSettings
) -> Response:
    return _funding_page(request, db, settings, opportunities.get_opportunity(db, opportunity_id))


@router.post("/opportunities/{opportunity_id}/funding", dependencies=[allow(FINANCE)])
def fund(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    try:
        checkout = service.start_funding(db, gateway_for(settings), opportunity, user, settings)
    except AppError as exc:
        db.rollback()
        return _funding_page(request, db, settings, opportunity, exc)
    db.commit()
    return RedirectResponse(checkout.url, status_code=303)


@router.get("/opportunities/{opportunity_id}/funding/return", dependencies=[allow(FINANCE)])
def funding_return(opportunity_id: RowId, db: DbSession, settings: AppSettings) -> Response:
    service.confirm_funding(
        db, gateway_for(settings), opportunities.get_opportunity(db, opportunity_id)
    )
    db.commit()
    return RedirectResponse(f"/opportunities/{opportunity_id}/funding", status_code=303)


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
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    payout = repository.payout_for(db, opportunity.id)
    if payout is None:
        raise NotFound()
    return render(request, "payments/simulated_checkout.html", {"o": opportunity, "payout": payout})


@router.post(
    "/opportunities/{opportunity_id}/funding/simulated-checkout", dependencies=[allow(FINANCE)]
)
def simulated_payment(opportunity_id: RowId, db: DbSession, settings: AppSettings) -> Response:
    _simulated_only(settings)
    service.confirm_funding(
        db, gateway_for(settings), opportunities.get_opportunity(db, opportunity_id)
    )
    db.commit()
    return RedirectResponse(f"/opportunities/{opportunity_id}/funding", status_code=303)


@router.post("/opportunities/{opportunity_id}/simulate-merge", dependencies=[allow(MERGERS)])
def simulate_merge(
    opportunity_id: RowId, db: DbSession, user: CurrentUser, settings: AppSettings
) -> Response:
    if not (settings.merge_simulation_enabled and settings.payments_simulated):
        raise NotFound()
    flows.simulate_merge(db, opportunities.get_opportunity(db, opportunity_id), user, settings)
    db.commit()
    return RedirectResponse(f"/opportunities/{opportunity_id}?notice=merged", status_code=303)


# --- the money trail and the payment record ----------------------------------------------


def _trail(db: DbSession, opportunity_id: int) -> dict[str, Any]:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    payout = repository.payout_for(db, opportunity.id)
    if payout is None:
        return {"o": opportunity, "payout": None, "entries": [], "events": [], "balance": 0}
    found = repository.awardee_of(db, opportunity.id)
    return {
        "o": opportunity,
        "team": db.get(Team, opportunity.team_id),
        "payout": payout,
        "payout_label": service.state_label(payout.state),
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
    if payout is None or payout.state != PayoutState.PAID.value:
        raise NotFound()
    if not _may_read_record(db, user, trail["o"], payout):
        raise NotFound()
    return render(request, "payments/record.html", trail)


def _may_read_record(db: DbSession, user: User, opportunity: Opportunity, payout: Payout) -> bool:
    finance = TeamRole.FINANCE.value in teams_repository.roles_of(db, user.id, opportunity.team_id)
    return user.is_admin or finance or payout.developer_user_id == user.id


# --- the needs-attention queue -----------------------------------------------------------


def _attention_page(request: Request, db: DbSession, error: AppError | None = None) -> Response:
    held = []
    for opportunity in repository.held_opportunities(db):
        event = repository.latest_hold_event(db, opportunity.id)
        held.append(
            {
                "o": opportunity,
                "payout": repository.payout_for(db, opportunity.id),
                "details": event.details if event else {},
                "reasons": [
                    flows.translated_reason(str(reason))
                    for reason in (event.details or {}).get("reasons", [])
                ]
                if event
                else [],
                "held_at": event.occurred_at if event else None,
            }
        )
    return render(
        request,
        "payments/attention.html",
        {
            "held": held,
            "payouts": repository.payouts_needing_attention(db),
            "undone": [
                (event, flows.translated_reason(str((event.details or {}).get("reason", ""))))
                for event in repository.undone_after_release(db)
            ],
            "state_label": service.state_label,
            "error": error,
        },
        status_code=error.status_code if error else 200,
    )


@router.get("/admin/attention", response_class=HTMLResponse, dependencies=[allow(ADMIN)])
def attention(request: Request, db: DbSession) -> Response:
    return _attention_page(request, db)


def _attention_action(request: Request, db: DbSession, action: Callable[[], object]) -> Response:
    """Runs one audited action, then shows the queue again (a held release that waits for a
    second administrator says so there)."""
    try:
        action()
    except AppError as exc:
        db.rollback()
        return _attention_page(request, db, exc)
    db.commit()
    return RedirectResponse("/admin/attention", status_code=303)


@router.post("/admin/attention/{opportunity_id}/release", dependencies=[allow(ADMIN)])
def release(opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    return _attention_action(request, db, lambda: flows.release_held(db, opportunity, user))


@router.post("/admin/attention/{opportunity_id}/refund", dependencies=[allow(ADMIN)])
def refund(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    reason = form_text(form, "reason") or "refunded from the needs-attention queue"
    return _attention_action(request, db, lambda: flows.refund_held(db, opportunity, user, reason))


@router.post("/admin/attention/{opportunity_id}/dismiss", dependencies=[allow(ADMIN)])
def dismiss(opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    return _attention_action(request, db, lambda: flows.dismiss_hold(db, opportunity, user))


@router.post("/admin/attention/{opportunity_id}/retry-transfer", dependencies=[allow(ADMIN)])
def retry_transfer(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser
) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    return _attention_action(request, db, lambda: flows.retry_transfer(db, opportunity, user))
