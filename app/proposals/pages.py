"""HTML pages for proposals: one form from the opportunity page to a submitted proposal."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.access import SIGNED_IN, allow, outside_team
from app.deps import AppSettings, CurrentUser, DbSession, FormBody, RowId, form_text, form_values
from app.errors import AppError
from app.evaluations import repository as evaluations
from app.evaluations.service import criterion_label
from app.i18n import gettext as _
from app.models import Opportunity, OpportunityState, Proposal, ProposalState, User
from app.models.base import utcnow
from app.opportunities import service as opportunities
from app.proposals import repository, service
from app.templating import render
from app.text import parse_date, parse_money_to_cents

DEVELOPERS = outside_team(via="opportunity_id")
router = APIRouter(tags=["pages"], include_in_schema=False)

NOTICES = {
    "saved": lambda: _("Draft saved. It is not submitted yet."),
    "submitted": lambda: _(
        "Your proposal is submitted. You can change or withdraw it until the deadline."
    ),
    "withdrawn": lambda: _("Your proposal is withdrawn."),
}


def _values(proposal: Proposal | None, user: User) -> dict[str, str]:
    if proposal is None:
        return {"links": f"https://github.com/{user.login}"}  # the GitHub profile, pre-filled
    return {
        "approach": proposal.approach,
        "experience": proposal.experience,
        "links": proposal.links,
        "price": f"{proposal.price_cents / 100:.2f}",
        "delivery_date": proposal.delivery_date.isoformat() if proposal.delivery_date else "",
        "accept_terms": "on" if proposal.terms_accepted_at else "",
        "attest_eligibility": "on" if proposal.eligibility_attested_at else "",
    }


def _render(
    request: Request,
    db: Session,
    opportunity: Opportunity,
    proposal: Proposal | None,
    values: dict[str, Any],
    *,
    error: AppError | None = None,
) -> Response:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    decided = proposal is not None and proposal.state in service.DECIDED
    return render(
        request,
        "proposals/form.html",
        {
            "o": opportunity,
            "proposal": proposal,
            "values": values,
            "errors": error.field_errors if error else {},
            "error": error,
            "open": opportunity.state == OpportunityState.PUBLISHED
            and utcnow() < opportunity.proposal_deadline,
            "notice": notice() if notice else None,
            # After the award each bidder sees their own scores and the evaluators' comments.
            "feedback": evaluations.comments_for(db, proposal.id) if decided and proposal else [],
            "award": evaluations.award_for(db, opportunity.id)
            if proposal is not None and proposal.state == ProposalState.AWARDED
            else None,
            "label": criterion_label,
        },
        status_code=error.status_code if error else 200,
    )


@router.get(
    "/opportunities/{opportunity_id}/proposal",
    response_class=HTMLResponse,
    dependencies=[allow(DEVELOPERS)],
)
def proposal_form(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser
) -> Response:
    opportunity = opportunities.get_public(db, opportunity_id)
    proposal = repository.active_for(db, opportunity.id, user.id)
    return _render(request, db, opportunity, proposal, _values(proposal, user))


def _input(form: FormData) -> service.ProposalInput:
    return service.ProposalInput(
        approach=form_text(form, "approach"),
        experience=form_text(form, "experience"),
        links=form_text(form, "links"),
        price_cents=parse_money_to_cents(form_text(form, "price")),
        delivery_date=parse_date(form_text(form, "delivery_date")),
        accept_terms=form_text(form, "accept_terms") == "on",
        attest_eligibility=form_text(form, "attest_eligibility") == "on",
    )


@router.post(
    "/opportunities/{opportunity_id}/proposal",
    response_class=HTMLResponse,
    dependencies=[allow(DEVELOPERS)],
)
def save_proposal(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
    form: FormBody,
) -> Response:
    opportunity = opportunities.get_public(db, opportunity_id)
    submit = form_text(form, "action") == "submit"
    try:
        service.save(db, opportunity, user, _input(form), submit=submit, settings=settings)
    except AppError as exc:
        db.rollback()  # nothing half-saved
        opportunity = opportunities.get_public(db, opportunity_id)
        proposal = repository.active_for(db, opportunity.id, user.id)
        return _render(request, db, opportunity, proposal, form_values(form), error=exc)
    db.commit()
    notice = "submitted" if submit else "saved"
    return RedirectResponse(
        f"/opportunities/{opportunity_id}/proposal?notice={notice}", status_code=303
    )


@router.post("/opportunities/{opportunity_id}/proposal/withdraw", dependencies=[allow(DEVELOPERS)])
def withdraw_proposal(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser
) -> Response:
    opportunity = opportunities.get_public(db, opportunity_id)
    try:
        service.withdraw(db, opportunity, user)
    except AppError as exc:
        db.rollback()
        proposal = repository.active_for(db, opportunity_id, user.id)
        return _render(
            request,
            db,
            opportunities.get_public(db, opportunity_id),
            proposal,
            _values(proposal, user),
            error=exc,
        )
    db.commit()
    return RedirectResponse(
        f"/opportunities/{opportunity_id}/proposal?notice=withdrawn", status_code=303
    )


@router.get(
    "/proposals/{proposal_id}", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)]
)
def proposal_page(
    proposal_id: RowId, request: Request, db: DbSession, user: CurrentUser
) -> Response:
    proposal, opportunity = service.get_readable(db, proposal_id, user)
    author = db.get(User, proposal.author_user_id)
    return render(
        request,
        "proposals/view.html",
        {
            "p": proposal,
            "o": opportunity,
            "author": author,
        },
    )
