"""Claims' pages: a contract's claims and the form that opens one (its two sides), and the
administrators' page where one proposes a resolution and another confirms it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app import links
from app.access import ADMIN, SIGNED_IN, allow
from app.claims import labels, service
from app.claims.schemas import ClaimIn
from app.deps import CurrentUser, DbSession, FormBody, RowId, form_text, form_values
from app.errors import AppError, ValidationFailed
from app.forms import form_action, on_field_errors, read_form
from app.i18n import gettext as _
from app.models import Claim, Opportunity, OpportunityState, User
from app.opportunities import service as opportunities
from app.templating import render
from app.text import format_money, parse_money_to_cents

router = APIRouter(tags=["pages"], include_in_schema=False)


def _helpers() -> dict[str, object]:
    return {
        "state_label": labels.state_label,
        "side_label": labels.side_label,
        "resolution_label": labels.resolution_label,
        "format_money": format_money,
    }


def _claims_page(
    request: Request,
    db: Session,
    user: User,
    opportunity: Opportunity,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    claims = service.claims_for(db, opportunity, user)
    can_open = (
        service.side_of(db, opportunity, user) is not None
        and opportunity.state in service.CLAIMABLE
        and all(c.state == "resolved" for c in claims)
    )
    return render(
        request,
        "claims/opportunity.html",
        {
            "o": opportunity,
            "claims": claims,
            "can_open": can_open,
            "on_hold": opportunity.state == OpportunityState.ON_HOLD,
            "values": values or {},
            "errors": errors or {},
            "opened": request.query_params.get("opened") == "1" and not errors,
            **_helpers(),
        },
        status_code=422 if errors else 200,
    )


@router.get(
    "/opportunities/{opportunity_id}/claims",
    response_class=HTMLResponse,
    dependencies=[allow(SIGNED_IN)],
)
def claims_page(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser
) -> Response:
    return _claims_page(request, db, user, opportunities.get_opportunity(db, opportunity_id))


@router.post(
    "/opportunities/{opportunity_id}/claims",
    response_class=HTMLResponse,
    dependencies=[allow(SIGNED_IN)],
)
def open_claim(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    entered = read_form(ClaimIn, form)
    return form_action(
        db,
        lambda: service.open_claim(db, opportunity, user, entered.reason),
        then=f"{links.claims(opportunity_id)}?opened=1",
        again=on_field_errors(
            lambda errors: _claims_page(request, db, user, opportunity, form_values(form), errors)
        ),
    )


def _review_page(
    request: Request,
    db: Session,
    user: User,
    claim: Claim,
    values: dict[str, str] | None = None,
    error: AppError | None = None,
) -> Response:
    opportunity = db.get(Opportunity, claim.opportunity_id)
    payout = service.claim_payout(db, claim)
    errors = error.field_errors if isinstance(error, ValidationFailed) else {}
    return render(
        request,
        "claims/review.html",
        {
            "claim": claim,
            "o": opportunity,
            "payout": payout,
            "opener": db.get(User, claim.opened_by_user_id),
            "proposer": db.get(User, claim.proposed_by_user_id)
            if claim.proposed_by_user_id
            else None,
            "may_confirm": claim.state == "proposed" and claim.proposed_by_user_id != user.id,
            "values": values or {},
            "errors": errors,
            "error": None if errors else error,
            **_helpers(),
        },
        status_code=error.status_code if error else 200,
    )


@router.get("/admin/claims/{claim_id}", response_class=HTMLResponse, dependencies=[allow(ADMIN)])
def review_page(claim_id: RowId, request: Request, db: DbSession, user: CurrentUser) -> Response:
    return _review_page(request, db, user, service.get_claim(db, claim_id))


def _cents(raw: str) -> int | None:
    return parse_money_to_cents(raw) if raw.strip() else None


@router.post(
    "/admin/claims/{claim_id}/propose",
    response_class=HTMLResponse,
    dependencies=[allow(ADMIN)],
)
def propose(
    claim_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    claim = service.get_claim(db, claim_id)
    amount = form_text(form, "developer_amount")
    cents = _cents(amount)

    def step() -> object:
        if amount.strip() and cents is None and form_text(form, "resolution") == "partial":
            raise ValidationFailed(
                field_errors={"developer_amount": _("Write an amount, like 1200.50.")}
            )
        return service.propose(
            db, claim_id, user, form_text(form, "resolution"), cents, form_text(form, "note")
        )

    return form_action(
        db,
        step,
        then=links.claim_review(claim_id),
        again=lambda refusal: _review_page(
            request, db, user, service.get_claim(db, claim.id), form_values(form), refusal
        ),
    )


@router.post(
    "/admin/claims/{claim_id}/confirm",
    response_class=HTMLResponse,
    dependencies=[allow(ADMIN)],
)
def confirm(
    claim_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    raw = form_text(form, "developer_cents")
    cents = int(raw) if raw.isdigit() and len(raw) < 12 else None
    return form_action(
        db,
        lambda: service.confirm(db, claim_id, user, form_text(form, "resolution"), cents),
        then=links.claim_review(claim_id),
        again=lambda refusal: _review_page(
            request, db, user, service.get_claim(db, claim_id), None, refusal
        ),
    )
