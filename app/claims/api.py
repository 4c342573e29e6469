"""Claims as JSON, with the pages' permissions: the contract's two sides open and read them,
administrators propose and confirm resolutions."""

from __future__ import annotations

from fastapi import APIRouter

from app.access import ADMIN, SIGNED_IN, allow
from app.claims import service
from app.claims.schemas import ClaimIn, ClaimOut, ResolutionIn
from app.deps import CurrentUser, DbSession, RowId
from app.openapi import problems
from app.opportunities import service as opportunities

router = APIRouter(prefix="/api/v1", tags=["claims"])


@router.get(
    "/opportunities/{opportunity_id}/claims",
    response_model=list[ClaimOut],
    dependencies=[allow(SIGNED_IN)],
    summary="Claims about a contract (its awardee, the team's owners and finance, admins)",
)
def list_claims(opportunity_id: RowId, db: DbSession, user: CurrentUser) -> list[ClaimOut]:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    return [ClaimOut.of(c) for c in service.claims_for(db, opportunity, user)]


@router.post(
    "/opportunities/{opportunity_id}/claims",
    response_model=ClaimOut,
    status_code=201,
    dependencies=[allow(SIGNED_IN)],
    responses=problems(409),  # not claimable now, or a claim is already open
    summary="Open a claim about delivery (the awardee, or the team's owner or finance)",
)
def open_claim(opportunity_id: RowId, db: DbSession, user: CurrentUser, body: ClaimIn) -> ClaimOut:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    claim = service.open_claim(db, opportunity, user, body.reason)
    db.commit()
    return ClaimOut.of(claim)


@router.post(
    "/claims/{claim_id}/propose",
    response_model=ClaimOut,
    dependencies=[allow(ADMIN)],
    summary="Propose a claim's resolution (a second administrator confirms it)",
    responses=problems(409),  # already resolved
)
def propose(claim_id: RowId, db: DbSession, user: CurrentUser, body: ResolutionIn) -> ClaimOut:
    claim = service.propose(db, claim_id, user, body.resolution, body.developer_cents, body.note)
    db.commit()
    return ClaimOut.of(claim)


@router.post(
    "/claims/{claim_id}/confirm",
    response_model=ClaimOut,
    dependencies=[allow(ADMIN)],
    summary="Confirm the proposed resolution (not its proposer); the money then moves",
    responses=problems(409),  # nothing proposed, its own proposer, or the proposal changed
)
def confirm(claim_id: RowId, db: DbSession, user: CurrentUser, body: ResolutionIn) -> ClaimOut:
    claim = service.confirm(db, claim_id, user, body.resolution, body.developer_cents)
    db.commit()
    return ClaimOut.of(claim)
