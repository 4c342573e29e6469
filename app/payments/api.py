"""The Stripe webhooks (the platform's and Connect's), and the money trail as JSON for the team's
finance and admins."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.access import SIGNED_WEBHOOK, allow, outside_team, team
from app.config import Settings
from app.db import store_once
from app.deps import CurrentUser, DbSession, RowId
from app.errors import NotFound, NotSignedIn
from app.i18n import gettext as _
from app.models import StripeEvent, TeamRole
from app.openapi import problems
from app.payments import repository, service, webhooks
from app.payments.schemas import (
    CoAuthorOut,
    CoAuthorsIn,
    LedgerLineOut,
    PayoutOut,
    TransferOut,
)
from app.teams.schemas import SignoffOut

router = APIRouter(prefix="/api/v1", tags=["payments"])
webhook_router = APIRouter(tags=["webhooks"])


@webhook_router.post(
    "/webhooks/stripe",
    dependencies=[allow(SIGNED_WEBHOOK)],
    summary="Stripe webhook (signed with the endpoint secret)",
    responses=problems(422, 503),  # text with NUL characters; the inbox out of reach
)
async def stripe_webhook(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    return await _receive(request, settings.stripe_webhook_secret.get_secret_value())


@webhook_router.post(
    "/webhooks/stripe/connect",
    dependencies=[allow(SIGNED_WEBHOOK)],
    summary="Stripe Connect webhook: the developers' accounts (signed with its own secret)",
    responses=problems(422, 503),
)
async def stripe_connect_webhook(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    return await _receive(
        request,
        settings.stripe_connect_webhook_secret.get_secret_value(),
        acts_on=webhooks.CONNECT_EVENTS,
    )


async def _receive(
    request: Request, secret: str, acts_on: frozenset[str] | None = None
) -> JSONResponse:
    """Checks one delivery and stores its event once; ``acts_on`` limits the event types kept
    (None: every type, the job decides)."""
    settings: Settings = request.app.state.settings
    body = await request.body()
    event = webhooks.verified_event(body, request.headers.get("stripe-signature"), secret)
    if event is None:
        raise NotSignedIn(_("The webhook signature is missing, wrong or too old."))
    if not webhooks.livemode_matches(event, settings.stripe_secret_key.get_secret_value()):
        # Acknowledged so that Stripe stops sending it, and never acted on.
        return JSONResponse({"status": "ignored", "reason": "livemode does not match"})
    if acts_on is not None and event.get("type") not in acts_on:
        return JSONResponse({"status": "ignored", "reason": "not an event this endpoint acts on"})
    new = await store_once(request.app.state, StripeEvent, "event_id", webhooks.event_values(event))
    return JSONResponse({"status": "queued" if new else "duplicate"})


@router.get(
    "/opportunities/{opportunity_id}/payout",
    response_model=PayoutOut,
    dependencies=[allow(team(TeamRole.FINANCE, via="opportunity_id", admins_too=True))],
    summary="The payout of an awarded opportunity, with its ledger lines",
)
def payout(opportunity_id: RowId, db: DbSession) -> PayoutOut:
    opportunity = service.opportunity_of(db, opportunity_id)
    found = repository.payout_for(db, opportunity.id)
    if found is None:
        raise NotFound(_("This opportunity has no payout."))
    shares = repository.transfers_with_recipients(db, found.id)
    return PayoutOut(
        opportunity_id=found.opportunity_id,
        state=found.state,
        amount_cents=found.amount_cents,
        fee_cents=found.fee_cents,
        currency=found.currency,
        simulated=found.simulated,
        funded_at=found.funded_at,
        released_at=found.released_at,
        transfer_id=shares[0][0].transfer_id if shares else "",
        transfers=[
            TransferOut(
                github_id=github_id,
                basis_points=share.basis_points,
                amount_cents=share.amount_cents,
                state=share.state,
                transfer_id=share.transfer_id,
            )
            for share, github_id in shares
        ],
        refunded_at=found.refunded_at,
        ledger=[LedgerLineOut.model_validate(e) for e in repository.ledger_of(db, found.id)],
        ledger_balance_cents=repository.ledger_balance(db, found.id),
    )


@router.put(
    "/opportunities/{opportunity_id}/co-authors",
    response_model=list[CoAuthorOut],
    dependencies=[allow(outside_team(via="opportunity_id"))],
    summary="The awardee names the co-authors who share the payment (before the merge)",
    # Not the function's docstring: the image's web process strips docstrings (app/schemas.py).
    description="Replaces the list; each share is a percentage with up to two decimals and the"
    " awardee keeps the rest. Each co-author must have signed in once and be outside the team.",
    responses=problems(404, 409, 422),
)
def name_co_authors(
    opportunity_id: RowId, body: CoAuthorsIn, db: DbSession, user: CurrentUser
) -> list[CoAuthorOut]:
    opportunity = service.opportunity_of(db, opportunity_id)
    shares = service.name_co_authors(db, opportunity, user, body.as_lines())
    db.commit()
    return [
        CoAuthorOut(github_id=u.github_id, login=u.login, share_basis_points=points)
        for u, points in shares
    ]


@router.post(
    "/opportunities/{opportunity_id}/funding/sign-off",
    response_model=SignoffOut,
    dependencies=[allow(team(TeamRole.APPROVER, via="opportunity_id"))],
    summary="Sign off the awarded price so the team may fund it (team approvers, not the author)",
    responses=problems(409),
)
def sign_off_funding(opportunity_id: RowId, db: DbSession, user: CurrentUser) -> SignoffOut:
    opportunity = service.opportunity_of(db, opportunity_id)
    signoff = service.sign_off_funding(db, opportunity, user)
    db.commit()
    return SignoffOut(
        opportunity_id=signoff.opportunity_id,
        award_id=signoff.award_id,
        purpose=signoff.purpose,
        amount_cents=signoff.amount_cents,
        currency=signoff.currency,
        signed_by_github_id=user.github_id,
        signed_at=signoff.signed_at,
    )
