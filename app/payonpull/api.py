"""JSON routes whose one step crosses domains: accepting an award (the work may start) and
cancelling (funded work is refunded). Their paths and tags are those of the routes around them."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.access import allow, outside_team, team
from app.deps import CurrentUser, DbSession, RowId
from app.models import TeamRole
from app.opportunities import service as opportunities
from app.opportunities.api import to_out
from app.opportunities.schemas import CancelIn, OpportunityOut
from app.payonpull import service

router = APIRouter(prefix="/api/v1")
OWNERS = team(TeamRole.OWNER, via="opportunity_id")


@router.post(
    "/opportunities/{opportunity_id}/award/accept",
    status_code=204,
    tags=["evaluation"],
    dependencies=[allow(outside_team(via="opportunity_id"))],
    summary="The awarded developer accepts the contract",
)
def accept(opportunity_id: RowId, db: DbSession, user: CurrentUser) -> None:
    service.accept_award(db, opportunities.get_public(db, opportunity_id), user)
    db.commit()


@router.post(
    "/opportunities/{opportunity_id}/cancel",
    response_model=OpportunityOut,
    tags=["opportunities"],
    summary="Cancel an opportunity (team owners)",
    dependencies=[allow(OWNERS)],
)
def cancel_opportunity(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    body: CancelIn,
) -> OpportunityOut:
    opportunity = opportunities.get_visible(db, opportunity_id, user).opportunity
    service.cancel(db, opportunity, actor=user, reason=body.reason)
    db.commit()
    return to_out(opportunities.get_visible(db, opportunity_id, user), request)
