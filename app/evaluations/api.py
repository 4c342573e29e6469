"""JSON routes for award notices (public) and the consensus (owners and evaluators)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from app.access import PUBLIC, allow, team
from app.deps import AppSettings, CurrentUser, DbSession, RowId
from app.errors import NotFound
from app.evaluations import repository, service
from app.evaluations.schemas import (
    AwardIn,
    AwardNoticeOut,
    ConsensusRowOut,
    DeclarationIn,
    DeclarationOut,
    EvaluationOut,
    ProposalToScoreOut,
    ReasonIn,
    ScoresIn,
)
from app.models import ConflictDeclaration, TeamRole, User
from app.models.base import utcnow
from app.openapi import problems
from app.opportunities import service as opportunities
from app.proposals import service as proposals
from app.teams import repository as teams_repository

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
    summary="Ranked proposals, after the deadline (owners; evaluators once they have scored "
    "every one)",
    responses=problems(409),  # before the deadline, or before the evaluator has scored all
)
def consensus(opportunity_id: RowId, db: DbSession, user: CurrentUser) -> list[ConsensusRowOut]:
    opportunity = opportunities.get_public(db, opportunity_id)
    rows = service.visible_consensus(db, opportunity, user)
    letters = proposals.letters(db, opportunity.id)
    return [
        ConsensusRowOut(
            proposal_id=row.proposal.id,
            label=letters.get(row.proposal.id, ""),
            developer_login=row.author.login,
            price_cents=row.proposal.price_cents,
            rank=row.ranked.rank if row.ranked else None,
            total=row.ranked.total if row.ranked else None,
            averages=row.ranked.averages if row.ranked else {},
            evaluations=row.evaluations,
            disqualified=row.ranked is None,
        )
        for row in rows
    ]


def _declaration_out(declaration: ConflictDeclaration, evaluator: User) -> DeclarationOut:
    return DeclarationOut(
        evaluator_login=evaluator.login,
        evaluator_name=evaluator.shown_name,
        has_conflict=declaration.has_conflict,
        reviewed_draft=declaration.reviewed_draft,
        note=declaration.note,
        declared_at=declaration.declared_at,
    )


@router.get(
    "/{opportunity_id}/evaluation",
    response_model=EvaluationOut,
    dependencies=[allow(team(TeamRole.OWNER, TeamRole.EVALUATOR, via="opportunity_id"))],
    summary="Your declaration and the proposals to score, as Proposal A, B, ... (blind); the "
    "evaluators' declarations for owners",
)
def evaluation(opportunity_id: RowId, db: DbSession, user: CurrentUser) -> EvaluationOut:
    opportunity = opportunities.get_public(db, opportunity_id)
    mine = proposals.declaration_of(db, opportunity.id, user.id)
    roles = teams_repository.roles_of(db, user.id, opportunity.team_id)
    shown = TeamRole.OWNER in roles or proposals.may_evaluate(db, opportunity, user, utcnow())
    letters = proposals.letters(db, opportunity.id)
    return EvaluationOut(
        your_declaration=_declaration_out(mine, user) if mine else None,
        you_reviewed_the_draft=service.reviewed_the_draft(db, opportunity, user) is not None,
        proposals=[
            ProposalToScoreOut(
                proposal_id=p.id,
                label=letters[p.id],
                state=p.state,
                evaluated_by_you=repository.has_submitted(db, p.id, user.id),
            )
            for p, _author in service.received(db, opportunity)  # none while sealed
        ]
        if shown
        else [],
        declarations=[
            _declaration_out(d, e) for d, e in service.declarations(db, opportunity, user)
        ],
    )


EVALUATORS = team(TeamRole.EVALUATOR, via="opportunity_id")
PROPOSAL_EVALUATORS = team(TeamRole.EVALUATOR, via="proposal_id")
OWNERS = team(TeamRole.OWNER, via="opportunity_id")
proposals_router = APIRouter(prefix="/api/v1/proposals", tags=["evaluation"])


@router.post(
    "/{opportunity_id}/declaration",
    status_code=204,
    dependencies=[allow(EVALUATORS)],
    summary="Declare whether you have a conflict of interest (once)",
)
def declare(opportunity_id: RowId, body: DeclarationIn, db: DbSession, user: CurrentUser) -> None:
    service.declare(
        db,
        opportunities.get_public(db, opportunity_id),
        user,
        has_conflict=body.has_conflict,
        note=body.note,
        reviewed_draft=body.reviewed_draft,
    )
    db.commit()


@proposals_router.put(
    "/{proposal_id}/scores",
    status_code=204,
    dependencies=[allow(PROPOSAL_EVALUATORS)],
    summary="Your scores for a proposal; submit makes them final",
)
def put_scores(proposal_id: RowId, body: ScoresIn, db: DbSession, user: CurrentUser) -> None:
    service.score(
        db,
        proposal_id,
        user,
        {key: (s.score, s.comment) for key, s in body.scores.items()},
        submit=body.submit,
    )
    db.commit()


@proposals_router.post(
    "/{proposal_id}/disqualify", status_code=204, dependencies=[allow(PROPOSAL_EVALUATORS)]
)
def disqualify(proposal_id: RowId, body: ReasonIn, db: DbSession, user: CurrentUser) -> None:
    service.disqualify(db, proposal_id, user, body.reason)
    db.commit()


@router.post(
    "/{opportunity_id}/award",
    response_model=AwardNoticeOut,
    dependencies=[allow(OWNERS)],
    summary="Award (a reason is needed below rank 1)",
)
def award(
    opportunity_id: RowId, body: AwardIn, db: DbSession, user: CurrentUser, settings: AppSettings
) -> AwardNoticeOut:
    opportunity = opportunities.get_public(db, opportunity_id)
    service.award(db, opportunity, user, body.proposal_id, body.reason, settings)
    db.commit()
    return award_notice(opportunity_id, db)
