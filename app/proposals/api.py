"""JSON routes for proposals, with the same rules as the pages."""

from __future__ import annotations

from fastapi import APIRouter

from app.access import SIGNED_IN, allow, outside_team
from app.deps import AppSettings, CurrentUser, DbSession, RowId
from app.errors import NotFound
from app.models import Proposal
from app.opportunities import service as opportunities
from app.proposals import repository, service
from app.proposals.schemas import ProposalIn, ProposalOut

DEVELOPERS = outside_team(via="opportunity_id")
router = APIRouter(prefix="/api/v1", tags=["proposals"])


def to_out(proposal: Proposal) -> ProposalOut:
    # What the team adds to a proposal it reads (its letter, blindness) is set by get_proposal.
    computed = {"links", "label", "anonymised"}
    fields = {name: getattr(proposal, name) for name in ProposalOut.model_fields.keys() - computed}
    return ProposalOut.model_validate({**fields, "links": proposal.links.splitlines()})


@router.get(
    "/opportunities/{opportunity_id}/proposal",
    response_model=ProposalOut,
    dependencies=[allow(DEVELOPERS)],
    summary="Your proposal for this opportunity",
)
def my_proposal(opportunity_id: RowId, db: DbSession, user: CurrentUser) -> ProposalOut:
    proposal = repository.active_for(db, opportunities.get_public(db, opportunity_id).id, user.id)
    if proposal is None:
        raise NotFound()
    return to_out(proposal)


@router.put(
    "/opportunities/{opportunity_id}/proposal",
    response_model=ProposalOut,
    dependencies=[allow(DEVELOPERS)],
    summary="Save your proposal as a draft, or submit it (before the deadline)",
)
def save_proposal(
    opportunity_id: RowId,
    body: ProposalIn,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
) -> ProposalOut:
    data = service.ProposalInput(
        approach=body.approach,
        experience=body.experience,
        links="\n".join(body.links),
        price_cents=body.price_cents,
        delivery_date=body.delivery_date,
        accept_terms=body.accept_terms,
        attest_eligibility=body.attest_eligibility,
    )
    proposal = service.save(
        db,
        opportunities.get_public(db, opportunity_id),
        user,
        data,
        submit=body.submit,
        settings=settings,
    )
    db.commit()
    return to_out(proposal)


@router.post(
    "/opportunities/{opportunity_id}/proposal/withdraw",
    response_model=ProposalOut,
    dependencies=[allow(DEVELOPERS)],
    summary="Withdraw your proposal (before the deadline)",
)
def withdraw_proposal(opportunity_id: RowId, db: DbSession, user: CurrentUser) -> ProposalOut:
    proposal = service.withdraw(db, opportunities.get_public(db, opportunity_id), user)
    db.commit()
    return to_out(proposal)


@router.get(
    "/proposals/{proposal_id}",
    response_model=ProposalOut,
    dependencies=[allow(SIGNED_IN)],
    summary="A proposal: its author's, or the team's conflict-free evaluators' after the deadline",
)
def get_proposal(proposal_id: RowId, db: DbSession, user: CurrentUser) -> ProposalOut:
    proposal, opportunity = service.get_readable(db, proposal_id, user)
    shown = to_out(proposal)
    if proposal.author_user_id == user.id:
        return shown
    anonymous = service.anonymous_to(db, opportunity, user)
    return shown.model_copy(
        update={
            "label": service.letters(db, opportunity.id).get(proposal.id),
            "anonymised": anonymous,
            "links": [] if anonymous else shown.links,
        }
    )
