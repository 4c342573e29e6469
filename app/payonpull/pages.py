"""Pages whose one step crosses domains: accepting an award (the work may start), cancelling
(funded work is refunded), coming back from the payment or payout-account set-up (funded work
may start), and (local mode only) the simulated merge. The URLs are those of the pages around
them; only where the code lives is new."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.access import SIGNED_IN, allow, outside_team, team
from app.deps import AppSettings, CurrentUser, DbSession, FormBody, RowId, form_text
from app.errors import NotFound
from app.forms import form_action
from app.models import TeamRole
from app.opportunities import pages as opportunity_pages
from app.opportunities import service as opportunities
from app.payments import repository as payments_repository
from app.payments import service as payments
from app.payments.gateway import gateway_for
from app.payonpull import service

router = APIRouter(tags=["pages"], include_in_schema=False)
FINANCE = team(TeamRole.FINANCE, via="opportunity_id")
MERGERS = team(TeamRole.OWNER, TeamRole.EDITOR, via="opportunity_id")
OWNERS = team(TeamRole.OWNER, via="opportunity_id")


@router.post(
    "/opportunities/{opportunity_id}/award/accept",
    dependencies=[allow(outside_team(via="opportunity_id"))],
)
def accept_award(opportunity_id: RowId, db: DbSession, user: CurrentUser) -> Response:
    return form_action(
        db,
        lambda: service.accept_award(db, opportunities.get_public(db, opportunity_id), user),
        then=f"/opportunities/{opportunity_id}/proposal",
    )


@router.post(
    "/opportunities/{opportunity_id}/cancel",
    response_class=HTMLResponse,
    dependencies=[allow(OWNERS)],
)
def cancel(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
    form: FormBody,
) -> Response:
    opportunity = opportunities.get_visible(db, opportunity_id, user).opportunity
    return form_action(
        db,
        lambda: service.cancel(db, opportunity, actor=user, reason=form_text(form, "reason")),
        then=f"/opportunities/{opportunity_id}?notice=cancelled",
        again=lambda refusal: opportunity_pages.detail_page(
            request, db, settings, user, opportunity_id, error=refusal
        ),
    )


@router.get("/account/payouts/return", dependencies=[allow(SIGNED_IN)])
def payout_account_return(db: DbSession, user: CurrentUser, settings: AppSettings) -> Response:
    def refresh_own_account() -> None:
        account = payments_repository.account_of(db, user.id)
        if account is not None:
            payments.refresh_account(
                db, gateway_for(settings), account, follow=service.follow_payout
            )

    return form_action(db, refresh_own_account, then="/account/payouts?notice=updated")


def _confirm_funding(db: DbSession, settings: AppSettings, opportunity_id: int) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    return form_action(
        db,
        lambda: payments.confirm_funding(
            db, gateway_for(settings), opportunity, follow=service.follow_payout
        ),
        then=f"/opportunities/{opportunity_id}/funding",
    )


@router.get("/opportunities/{opportunity_id}/funding/return", dependencies=[allow(FINANCE)])
def funding_return(opportunity_id: RowId, db: DbSession, settings: AppSettings) -> Response:
    return _confirm_funding(db, settings, opportunity_id)


@router.post(
    "/opportunities/{opportunity_id}/funding/simulated-checkout", dependencies=[allow(FINANCE)]
)
def simulated_payment(opportunity_id: RowId, db: DbSession, settings: AppSettings) -> Response:
    if not settings.payments_simulated:
        raise NotFound()
    return _confirm_funding(db, settings, opportunity_id)


@router.post("/opportunities/{opportunity_id}/simulate-merge", dependencies=[allow(MERGERS)])
def simulate_merge(
    opportunity_id: RowId, db: DbSession, user: CurrentUser, settings: AppSettings
) -> Response:
    if not (settings.merge_simulation_enabled and settings.payments_simulated):
        raise NotFound()
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    return form_action(
        db,
        lambda: service.simulate_merge(db, opportunity, user, settings),
        then=f"/opportunities/{opportunity_id}?notice=merged",
    )
