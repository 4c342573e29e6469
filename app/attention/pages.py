"""The needs-attention queue's page (administrators only) and its audited actions."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.access import ADMIN, allow
from app.attention import repository, service
from app.claims import labels as claim_labels
from app.claims import repository as claims_repository
from app.deps import CurrentUser, DbSession, FormBody, RowId, form_text
from app.errors import AppError
from app.forms import form_action
from app.opportunities import service as opportunities
from app.payments import labels as payment_labels
from app.payments import repository as payments_repository
from app.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)


def _attention_page(request: Request, db: DbSession, error: AppError | None = None) -> Response:
    held = []
    for opportunity in repository.held_opportunities(db):
        event = repository.latest_hold_event(db, opportunity.id)
        held.append(
            {
                "o": opportunity,
                "payout": payments_repository.payout_for(db, opportunity.id),
                "details": event.details if event else {},
                "reasons": [
                    service.translated_reason(str(reason))
                    for reason in (event.details or {}).get("reasons", [])
                ]
                if event
                else [],
                "held_at": event.occurred_at if event else None,
            }
        )
    # The template stays with the payment pages for now (it is being edited elsewhere).
    return render(
        request,
        "payments/attention.html",
        {
            "held": held,
            "payouts": repository.payouts_needing_attention(db),
            "undone": [
                (event, service.translated_reason(str((event.details or {}).get("reason", ""))))
                for event in repository.undone_after_release(db)
            ],
            "state_label": payment_labels.state_label,
            "claims": claims_repository.unresolved_claims(db),
            "claim_state_label": claim_labels.state_label,
            "claim_side_label": claim_labels.side_label,
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
    return form_action(
        db,
        action,
        then="/admin/attention",
        again=lambda refusal: _attention_page(request, db, refusal),
    )


@router.post("/admin/attention/{opportunity_id}/release", dependencies=[allow(ADMIN)])
def release(opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    return _attention_action(request, db, lambda: service.release_held(db, opportunity, user))


@router.post("/admin/attention/{opportunity_id}/refund", dependencies=[allow(ADMIN)])
def refund(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    reason = form_text(form, "reason") or "refunded from the needs-attention queue"
    return _attention_action(
        request, db, lambda: service.refund_held(db, opportunity, user, reason)
    )


@router.post("/admin/attention/{opportunity_id}/dismiss", dependencies=[allow(ADMIN)])
def dismiss(opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    return _attention_action(request, db, lambda: service.dismiss_hold(db, opportunity, user))


@router.post("/admin/attention/{opportunity_id}/retry-transfer", dependencies=[allow(ADMIN)])
def retry_transfer(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser
) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    return _attention_action(request, db, lambda: service.retry_transfer(db, opportunity, user))
