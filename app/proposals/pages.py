"""HTML pages for proposals: one form from the opportunity page to a submitted proposal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.access import SIGNED_IN, allow, outside_team
from app.deps import CurrentUser, DbSession, RowId, form_text, form_values
from app.errors import AppError
from app.evaluations import repository as evaluations
from app.evaluations.labels import criterion_label
from app.forms import PostedForm, form_action
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
    refused: bool = False,
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
            # A refused person (a peer reviewer of the draft) is told why, with no form.
            "open": opportunity.state == OpportunityState.PUBLISHED
            and utcnow() < opportunity.proposal_deadline
            and not refused,
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
    conflict = service.conflict_of_interest(db, opportunity, user)
    return _render(
        request,
        db,
        opportunity,
        proposal,
        _values(proposal, user),
        error=conflict,
        refused=conflict is not None,
    )


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
def save_proposal(opportunity_id: RowId, posted: PostedForm) -> Response:
    request, db, user, settings, form = posted
    opportunity = opportunities.get_public(db, opportunity_id)
    submit = form_text(form, "action") == "submit"
    return form_action(
        db,
        lambda: service.save(db, opportunity, user, _input(form), submit=submit, settings=settings),
        then=_page(opportunity_id, "submitted" if submit else "saved"),
        again=_shown_again(request, db, opportunity_id, user, typed=form_values(form)),
    )


@router.post("/opportunities/{opportunity_id}/proposal/withdraw", dependencies=[allow(DEVELOPERS)])
def withdraw_proposal(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser
) -> Response:
    opportunity = opportunities.get_public(db, opportunity_id)
    return form_action(
        db,
        lambda: service.withdraw(db, opportunity, user),
        then=_page(opportunity_id, "withdrawn"),
        again=_shown_again(request, db, opportunity_id, user, typed=None),
    )


def _page(opportunity_id: int, notice: str) -> str:
    return f"/opportunities/{opportunity_id}/proposal?notice={notice}"


def _shown_again(
    request: Request, db: Session, opportunity_id: int, user: User, typed: dict[str, str] | None
) -> Callable[[AppError], Response]:
    """The proposal form after a refusal, read afresh (nothing half-saved stays): with what was
    typed, or else with what is saved."""

    def again(refusal: AppError) -> Response:
        opportunity = opportunities.get_public(db, opportunity_id)
        proposal = repository.active_for(db, opportunity.id, user.id)
        values = _values(proposal, user) if typed is None else typed
        refused = service.conflict_of_interest(db, opportunity, user) is not None
        return _render(request, db, opportunity, proposal, values, error=refusal, refused=refused)

    return again


@router.get(
    "/proposals/{proposal_id}", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)]
)
def proposal_page(
    proposal_id: RowId, request: Request, db: DbSession, user: CurrentUser
) -> Response:
    proposal, opportunity = service.get_readable(db, proposal_id, user)
    anonymous = service.anonymous_to(db, opportunity, user)
    return render(
        request,
        "proposals/view.html",
        {
            "p": proposal,
            "o": opportunity,
            # Blind evaluation: no name, and no links (they name the bidder, a GitHub profile
            # first of all) until this evaluator has submitted their evaluations.
            "author": None if anonymous else db.get(User, proposal.author_user_id),
            "letter": service.letters(db, opportunity.id).get(proposal.id, "") if anonymous else "",
        },
    )
