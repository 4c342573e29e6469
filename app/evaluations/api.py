"""JSON routes for award notices (public) and the consensus (owners and evaluators)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from app.access import PUBLIC, allow, team
from app.deps import CurrentUser, DbSession, RowId
from app.errors import Conflict, NotFound
from app.evaluations import service
from app.evaluations.schemas import AwardNoticeOut, ConsensusRowOut
from app.i18n import gettext as _
from app.models import TeamRole
from app.opportunities import service as opportunities

router = APIRouter(prefix="/api/v1/opportunities", tags=["evaluation"])


@router.get(
    "/{opportunity_id}/award",
    response_model=AwardNoticeOut,
    dependencies=[allow(PUBLIC)],
    summary="The public award notice",
)
def award_notice(opportunity_id: RowId, db: DbSession) -> AwardNoticeOut:
    notice = service.public_notice(db, opportunities.get_public(db, opportunity_id))
    if notice is None:
        raise NotFound()
    return AwardNoticeOut.model_validate(asdict(notice))


@router.get(
    "/{opportunity_id}/consensus",
    response_model=list[ConsensusRowOut],
    dependencies=[allow(team(TeamRole.OWNER, TeamRole.EVALUATOR, via="opportunity_id"))],
    summary="Ranked proposals (owners; evaluators once they have scored every one)",
)
def consensus(opportunity_id: RowId, db: DbSession, user: CurrentUser) -> list[ConsensusRowOut]:
    opportunity = opportunities.get_public(db, opportunity_id)
    if not service.may_see_consensus(db, opportunity, user):
        raise Conflict(
            _(
                "You will see the consensus once you have submitted your evaluation of "
                "every proposal."
            )
        )
    return [
        ConsensusRowOut(
            proposal_id=row.proposal.id,
            developer_login=row.author.login,
            price_cents=row.proposal.price_cents,
            rank=row.ranked.rank if row.ranked else None,
            total=row.ranked.total if row.ranked else None,
            averages=row.ranked.averages if row.ranked else {},
            evaluations=row.evaluations,
            disqualified=row.ranked is None,
        )
        for row in service.consensus(db, opportunity)
    ]
